"""Decision use cases: decide for a prospect, record outcomes, validate offer codes."""

from __future__ import annotations

import random
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from kanaal.core.context import AppContext
from kanaal.core.errors import InvalidInput
from kanaal.core.money import quantize
from kanaal.decisions import store
from kanaal.decisions.caps import CapLimits, Caps
from kanaal.decisions.domain import (
    ALL_ACTIONS,
    DECISION_CHANNELS,
    ActionType,
    Choice,
    DecisionContext,
    Estimate,
    QueueView,
)
from kanaal.decisions.economics import EconomicParams
from kanaal.decisions.engine import EngineParams, decide
from kanaal.decisions.explain import action_message
from kanaal.decisions.features import Windows, build_context, history_features
from kanaal.decisions.holdout import Experiment
from kanaal.decisions.learning import DEFAULT_PRIORS, Priors
from kanaal.decisions.log import DecisionLog
from kanaal.decisions.model_state import ModelCache, add_counts_in
from kanaal.decisions.offers import (
    OfferCode,
    offer_code_row,
    redeem_offer_code_in,
    validate_offer_code,
)
from kanaal.decisions.pacing import Pacer
from kanaal.decisions.providers import readers
from kanaal.decisions.read_cache import (
    LazyReader,
    NoReader,
    ReadCache,
    is_missing,
)

__all__ = ["OfferCode", "make_decision", "redeem_offer_code_in", "runtime",
           "validate_offer_code"]

MODEL = "default"
STATE_KEY = "decisions"
HISTORY_DAYS = timedelta(days=30)


@dataclass
class Runtime:
    """This worker's engine parts, built once from configuration."""

    params: EngineParams
    experiment: Experiment
    caps: Caps
    pacer: Pacer
    models: ModelCache
    log: DecisionLog
    explore: bool
    margin_rate: float
    action_ttl: timedelta
    offer_ttl: timedelta
    windows: Windows
    rng: threading.local
    reads: ReadCache
    arms: dict[str, str]


def runtime(ctx: AppContext) -> Runtime:
    """The engine parts of this worker (built on first use)."""
    found = ctx.state.get(STATE_KEY)
    if found is not None:
        return found
    p = ctx.param
    priors = Priors({**DEFAULT_PRIORS, **(p("decisions.priors", {}) or {})})
    models = ModelCache(MODEL, priors, float(p("decisions.model_reload_seconds", 1.0)))
    built = Runtime(
        params=EngineParams(economics=EconomicParams.from_config(p("decisions.economics", {})),
                            queues=dict(p("decisions.queues", {}) or {})),
        experiment=Experiment.from_config(p("decisions.experiment", {})),
        caps=Caps(ctx.live, CapLimits.from_config(p("decisions.caps", {}))),
        pacer=Pacer(ctx.live, float(p("decisions.pacing_burst_seconds", 300.0))),
        models=models,
        log=DecisionLog(after_write=lambda session, rows: _after_log_write(ctx, session, rows)),
        explore=bool(p("decisions.explore", True)),
        margin_rate=float(p("decisions.default_margin_rate", 0.25)),
        action_ttl=timedelta(minutes=float(p("decisions.action_ttl_minutes", 15))),
        offer_ttl=timedelta(days=float(p("decisions.offer_code_days", 7))),
        windows=Windows(follow_up=timedelta(days=float(p("decisions.follow_up_days", 7)))),
        rng=threading.local(),
        reads=ReadCache(float(p("decisions.read_cache_seconds", 5.0))),
        arms={},
    )
    ctx.state[STATE_KEY] = built
    return built


def _after_log_write(ctx: AppContext, session: Session, rows: list[dict[str, Any]]) -> None:
    """With the logged decisions: their offer codes, and the trials of "nothing" (always
    shown, so counted when the decision is written)."""
    store.insert_offer_codes(session, [row["_offer"] for row in rows if row.get("_offer")])
    counts: dict[tuple[str, str], dict[str, float]] = {}
    for row in rows:
        if row["action"] == ActionType.NONE.value:
            cell = counts.setdefault((row["action"], row["bucket"]), {"buy_trials": 0.0})
            cell["buy_trials"] += 1.0
    if counts:
        add_counts_in(session, MODEL, counts, ctx.clock.now())


def _rng(rt: Runtime) -> random.Random | None:
    if not rt.explore:
        return None
    rng: random.Random | None = getattr(rt.rng, "value", None)
    if rng is None:
        rng = random.Random(secrets.randbits(64))
        rt.rng.value = rng
    return rng


def _check(request: dict[str, Any]) -> None:
    """Refuse requests the schema cannot: no identity, unknown channel, negative amounts."""
    if not request.get("anonymousId") and not request.get("userId"):
        raise InvalidInput("give anonymousId or userId", code="missing_identity")
    if request.get("channel") not in DECISION_CHANNELS:
        raise InvalidInput(f"channel must be one of {', '.join(DECISION_CHANNELS)}",
                           code="unknown_channel", details=[{"loc": ["body", "channel"]}])
    cart = (request.get("context") or {}).get("cart") or {}
    amounts = [("value", cart.get("value"))] + [
        (f"items.{n}.price", item.get("price")) for n, item in enumerate(cart.get("items") or [])]
    for where, value in amounts:
        if value is not None and Decimal(str(value)) < 0:
            raise InvalidInput(f"cart {where} must not be negative", code="negative_amount",
                               details=[{"loc": ["body", "context", "cart", *where.split(".")]}])


def _margin(reader: LazyReader | NoReader, ctx: AppContext, request: dict[str, Any], rt: Runtime,
            now: float) -> float:
    """Cart margin from the catalog, falling back to request prices x the default margin rate."""
    context = request.get("context") or {}
    cart = context.get("cart") or {}
    items = cart.get("items") or []
    channel = request["channel"]
    if not items:
        sku = (context.get("product") or {}).get("sku")
        known = _unit_margin(reader, ctx, rt, channel, str(sku), 1, now) if sku else None
        if known is not None:
            return float(known[0])
        return float(Decimal(str(cart.get("value") or 0))) * rt.margin_rate
    total = 0.0
    for item in items:
        quantity = int(item.get("quantity") or 1)
        known = _unit_margin(reader, ctx, rt, channel, str(item["sku"]), quantity, now)
        if known is not None:
            total += float(known[0]) * quantity
        else:
            total += float(Decimal(str(item.get("price") or 0))) * quantity * rt.margin_rate
    return total


def _unit_margin(reader: LazyReader | NoReader, ctx: AppContext, rt: Runtime, channel: str,
                 sku: str, quantity: int, now: float) -> tuple[Decimal, str] | None:
    """A unit margin through the worker's read cache."""
    key = (channel, sku, quantity)
    found = rt.reads.margins.get(key, now)
    if is_missing(found):
        _, margins, _ = readers(ctx)
        found = margins.unit_margin(reader.session, ctx, channel=channel, sku=sku,
                                    quantity=quantity)
        rt.reads.margins.put(key, found, now)
    return found


def _subject(customer_id: str | None, request: dict[str, Any]) -> str:
    if customer_id:
        return customer_id
    if request.get("userId"):
        return f"user:{request['userId']}"
    return f"anon:{request['anonymousId']}"


_ALL_ACTIONS = frozenset(ALL_ACTIONS)


def _resolve(ctx: AppContext, request: dict[str, Any], rt: Runtime, now: datetime,
             database: bool) -> tuple[str | None, DecisionContext]:
    """Customer, history features and margin; other features' tables are read only when the
    worker's read cache has nothing fresh (bounded staleness, see read_cache)."""
    _, _, history = readers(ctx)
    at = now.timestamp()
    reads = rt.reads
    reader: LazyReader | NoReader = LazyReader(ctx.db) if database else NoReader()
    try:
        customer_id = None
        for kind, key in (("user_id", "userId"), ("anonymous_id", "anonymousId")):
            if request.get(key) and customer_id is None:
                identity = (kind, str(request[key]))
                found = reads.identities.get(identity, at)
                if is_missing(found):
                    found = history.customer_id(reader.session(), *identity)
                    reads.identities.put(identity, found, at)
                customer_id = found
        events: list[dict[str, Any]] = []
        if customer_id:
            events = reads.timelines.get(customer_id, at)
            if is_missing(events):
                events = history.events(reader.session(), customer_id, now - HISTORY_DAYS)
                reads.timelines.put(customer_id, events, at)
        margin = _margin(reader, ctx, request, rt, at)
    finally:
        reader.close()
    product = ((request.get("context") or {}).get("product") or {}).get("sku")
    feats = history_features(events, now=now, product_sku=product, windows=rt.windows)
    return customer_id, build_context(request, history=feats, margin=margin,
                                      default_allowed=_ALL_ACTIONS)


def _arm(rt: Runtime, subject: str) -> str:
    """The subject's experiment arm (a pure hash, memoised per worker: exact)."""
    arm = rt.arms.get(subject)
    if arm is None:
        if len(rt.arms) >= 100_000:
            rt.arms.clear()
        arm = rt.arms[subject] = rt.experiment.arm_for(subject)
    return arm


def make_decision(ctx: AppContext, request: dict[str, Any], *, database: bool = True
                  ) -> dict[str, Any]:
    """Decide the next best channel for one prospect; the decision is logged in the background.

    With `database=False` the request must be answerable from the worker's read caches (the
    event loop may run it): a read that misses raises NeedsDatabase before anything changed,
    and the caller runs it again where blocking is allowed."""
    _check(request)
    rt = runtime(ctx)
    now = ctx.clock.now()
    customer_id, dctx = _resolve(ctx, request, rt, now, database)
    capacity, _, _ = readers(ctx)
    queues = capacity.snapshot(ctx)
    subject = _subject(customer_id, request)
    arm = _arm(rt, subject)
    policy = "never" if arm == "holdout" else arm
    choice = decide(dctx, model=rt.models.get(ctx.db), queues=queues, params=rt.params,
                    policy=policy, arm=arm, blocked=rt.caps.blocked(subject, now),
                    pace=rt.pacer.allow, rng=_rng(rt))
    decision_id = ctx.ids.new("dec")
    offer, task_id = _side_effects(ctx, rt, decision_id, customer_id, dctx, choice, request)
    offer_code = None if offer is None else str(offer["code"])
    if choice.action is not ActionType.NONE:
        rt.caps.count_proposal(subject, now)
    expires = None if choice.action is ActionType.NONE else now + (
        rt.offer_ttl if offer_code else rt.action_ttl)
    scores = [_score(x) for x in (choice.estimate, *choice.alternatives)]
    row = _row(decision_id, customer_id, subject, dctx, choice, rt, now, offer_code, task_id,
               expires, scores)
    row["_offer"] = offer
    rt.log.append(row)
    return _answer(decision_id, dctx, choice, queues, offer_code, expires, rt, scores)


def _side_effects(ctx: AppContext, rt: Runtime, decision_id: str, customer_id: str | None,
                  dctx: DecisionContext, choice: Choice, request: dict[str, Any]
                  ) -> tuple[dict[str, Any] | None, str | None]:
    """An offer code (written with the decision log) or a hot-prospect task (written now:
    staff act on it at once)."""
    if choice.action is ActionType.OFFER:
        return offer_code_row(ctx, decision_id=decision_id, customer_id=customer_id, dctx=dctx,
                              share=rt.params.economics.offer_discount_share,
                              ttl=rt.offer_ttl), None
    if choice.action is ActionType.HOT_PROSPECT_ALERT:
        from kanaal.contact_center.service import create_task_in

        task_context = {
            "decision_id": decision_id, "channel": dctx.channel, "product_sku": dctx.product_sku,
            "cart_value": str(quantize(Decimal(str(dctx.cart_value)))),
            "currency": dctx.currency, "browsed_product_online": dctx.browsed_product_online,
            "prior_contacts": dctx.prior_contacts, "reasons": list(choice.reasons),
            "anonymous_id": request.get("anonymousId"), "user_id": request.get("userId"),
        }
        queue = ctx.param("decisions.hot_prospect_queue", None) or None
        task_id = ctx.db.run(lambda session: create_task_in(
            session, ctx, kind="hot_prospect_alert", customer_id=customer_id, queue=queue,
            store_id=dctx.store_id, context=task_context))
        return None, task_id
    return None, None


_FLOOR = -999_999_999_999.99


def _cents(value: float) -> str:
    """An expected amount as a decimal string in cents (-inf, a hard stop, as the floor)."""
    return f"{max(value, _FLOOR):.2f}"


def _score(e: Estimate) -> dict[str, Any]:
    return {"type": str(e.action), "queue": e.queue, "feasible": e.feasible,
            "incremental_margin": _cents(e.incremental_margin),
            "contact_cost": _cents(e.contact_cost),
            "p_buy_nothing": round(e.p_buy_nothing, 6), "p_buy_action": round(e.p_buy_action, 6),
            "p_accept": round(e.p_accept, 6)}


def _row(decision_id: str, customer_id: str | None, subject: str, dctx: DecisionContext,
         choice: Choice, rt: Runtime, now: datetime, offer_code: str | None,
         task_id: str | None, expires: datetime | None, scores: list[dict[str, Any]]
         ) -> dict[str, Any]:
    e = choice.estimate
    features = {
        "page_type": dctx.page_type, "pageviews": dctx.pageviews,
        "seconds_on_site": dctx.seconds_on_site, "is_returning": dctx.is_returning,
        "cart_value": dctx.cart_value, "cart_items": dctx.cart_items, "margin": dctx.margin,
        "checkout_errors": dctx.checkout_errors, "segment": dctx.segment,
        "prior_contacts": dctx.prior_contacts, "store_id": dctx.store_id,
        "browsed_product_online": dctx.browsed_product_online,
        "follow_up": dctx.follow_up.interaction if dctx.follow_up else None,
        "product_sku": dctx.product_sku, "explored": choice.explored,
        "model_version": rt.models.get_version(),
    }
    return {
        "id": decision_id, "customer_id": customer_id, "subject": subject,
        "channel": dctx.channel, "action": choice.action.value, "queue": e.queue,
        "policy": choice.policy, "experiment": rt.experiment.name, "arm": choice.arm,
        "bucket": choice.bucket, "features": features,
        "scores": scores,
        "reasons": list(choice.reasons),
        "incremental_margin": Decimal(scores[0]["incremental_margin"]),
        "contact_cost": Decimal(scores[0]["contact_cost"]), "p_buy_nothing": e.p_buy_nothing,
        "p_buy_action": e.p_buy_action, "currency": dctx.currency, "offer_code": offer_code,
        "task_id": task_id, "decided_at": now, "expires_at": expires,
        "trial_counted": choice.action is ActionType.NONE, "accepted": False,
        "converted_at": None, "revenue": None, "margin": None, "order_id": None,
    }


def _answer(decision_id: str, dctx: DecisionContext, choice: Choice,
            queues: dict[str, QueueView], offer_code: str | None, expires: datetime | None,
            rt: Runtime, scores: list[dict[str, Any]]) -> dict[str, Any]:
    e = choice.estimate
    view = queues.get(e.queue) if e.queue else None
    wait = view.predicted_wait_seconds if view is not None else None
    return {
        "decision_id": decision_id,
        "action": {"type": choice.action.value, "queue": e.queue,
                   "predicted_wait_seconds": wait,
                   "message": action_message(choice.action, dctx, wait) or None,
                   "offer_code": offer_code, "expires_at": expires},
        "expected": {"incremental_margin": scores[0]["incremental_margin"],
                     "contact_cost": scores[0]["contact_cost"],
                     "p_buy_nothing": round(e.p_buy_nothing, 6),
                     "p_buy_action": round(e.p_buy_action, 6)},
        "alternatives": scores[1:],
        "reasons": list(choice.reasons),
        "experiment": {"name": rt.experiment.name, "arm": choice.arm},
    }
