"""Outcomes joined to decisions: what happened after each one, and what the models learn."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from kanaal.core.context import AppContext
from kanaal.core.errors import NotFound
from kanaal.core.idempotency import run_idempotent
from kanaal.core.money import quantize
from kanaal.decisions import store
from kanaal.decisions.features import ORDER_EVENT
from kanaal.decisions.learning import assisted_key
from kanaal.decisions.model_state import add_counts_in
from kanaal.decisions.service import MODEL, runtime

OUTCOME_EVENTS = ("shown", "accepted", "dismissed", "contacted", "converted")


def model_counts(event: str, row: Any) -> tuple[dict[str, float], dict[str, Any]]:
    """Pure: the model counts and decision changes one outcome event causes (first time only).

    Any outcome means the action was shown, so it counts the trial if nothing did before;
    accepted/contacted count an acceptance, converted counts a purchase.
    """
    counts: dict[str, float] = {}
    changes: dict[str, Any] = {}
    if not row.trial_counted:
        counts.update(buy_trials=1.0, accept_trials=1.0)
        changes["trial_counted"] = True
    if event in {"accepted", "contacted"} and not row.accepted and row.action != "none":
        counts["accept_wins"] = 1.0
        changes["accepted"] = True
    return counts, changes


def _apply(session: Session, ctx: AppContext, row: Any, event: str, *, revenue: Decimal | None,
           margin: Decimal | None, source: str, at: datetime, order_id: str | None = None
           ) -> bool:
    if not store.insert_outcome(session, id=ctx.ids.new("dco"), decision_id=row.id, event=event,
                                revenue=revenue, margin=margin, source=source, at=at):
        return False
    counts, changes = model_counts(event, row)
    converts = event == "converted" and row.converted_at is None
    if converts:
        counts["buy_wins"] = 1.0
        changes.update(converted_at=at, revenue=revenue, margin=margin, order_id=order_id)
    if changes:
        store.update_decision(session, row.id, **changes)
    cells = {(row.action, row.bucket): counts} if counts else {}
    assisted = assisted_counts(row, accepts="accepted" in changes, converts=converts)
    if assisted:
        cells[(assisted_key(row.action), row.bucket)] = assisted
    if cells:
        add_counts_in(session, MODEL, cells, at)
    return True


def assisted_counts(row: Any, *, accepts: bool, converts: bool) -> dict[str, float]:
    """Pure: counts of the acceptors' cell (purchases among prospects who accepted), whichever
    of the acceptance and the purchase is reported first."""
    counts: dict[str, float] = {}
    if accepts:
        counts["buy_trials"] = 1.0
        if row.converted_at is not None:
            counts["buy_wins"] = 1.0
    elif converts and row.accepted:
        counts["buy_wins"] = 1.0
    return counts


def _money(value: Any) -> Decimal | None:
    return None if value is None else quantize(Decimal(str(value)))


def record_outcome(ctx: AppContext, decision_id: str, body: dict[str, Any],
                   idempotency_key: str | None) -> tuple[dict[str, Any], bool]:
    """Join an outcome event to a decision; each event counts once per decision."""
    rt = runtime(ctx)
    if rt.log.is_pending(decision_id):
        rt.log.flush(ctx.db)
    event = body["event"]

    def work(session: Session) -> dict[str, Any]:
        row = store.find_decision(session, decision_id, lock=True)
        if row is None:
            raise NotFound(f"no decision {decision_id!r}", code="unknown_decision")
        recorded = _apply(session, ctx, row, event, revenue=_money(body.get("revenue")),
                          margin=_money(body.get("margin")), source="api", at=ctx.clock.now())
        return {"decision_id": decision_id, "event": event, "recorded": recorded,
                "events": store.outcome_events(session, decision_id),
                "subject": row.subject, "action": row.action}

    result, replayed = run_idempotent(ctx.db, ctx.clock, scope=f"decisions.outcome:{decision_id}",
                                      key=idempotency_key, request=body, work=work)
    rt.models.invalidate()
    if event == "dismissed" and result["recorded"] and not replayed:
        rt.caps.dismiss(result["subject"], result["action"], ctx.clock.now())
    return {k: result[k] for k in ("decision_id", "event", "recorded", "events")}, replayed


def attribute_conversions(ctx: AppContext, *, limit: int = 500) -> int:
    """Mark decisions converted by an "Order Completed" of the same customer within the window.

    Each call checks the next `limit` customers with open decisions (a cursor over customer
    ids that wraps around), so every customer is checked in turn however many there are.
    """
    from kanaal.decisions.providers import readers

    rt = runtime(ctx)
    rt.log.flush(ctx.db)
    _, _, history = readers(ctx)
    window = timedelta(days=float(ctx.param("decisions.attribution_days", 7)))
    now = ctx.clock.now()
    converted = 0
    after = str(ctx.state.get("decisions.attribution_cursor", ""))
    with ctx.db.reader() as session:
        customers = store.customers_with_open_decisions(session, now - window, limit, after)
    ctx.state["decisions.attribution_cursor"] = customers[-1] if len(customers) == limit else ""
    for customer_id in customers:
        def work(session: Session, customer_id: str = customer_id) -> int:
            open_rows = store.open_decisions_of(session, [customer_id], now - window)
            if not open_rows:
                return 0
            events = history.events(session, customer_id, open_rows[0].decided_at)
            orders = sorted((e for e in events if e.get("event") == ORDER_EVENT),
                            key=lambda e: e["timestamp"])
            done = 0
            for decision in open_rows:
                order = next((o for o in orders if decision.decided_at <= o["timestamp"]
                              <= decision.decided_at + window), None)
                if order is None:
                    continue
                props = order.get("properties") or {}
                row = store.find_decision(session, decision.id, lock=True)
                if row is None or row.converted_at is not None:
                    continue
                done += int(_apply(session, ctx, row, "converted",
                                   revenue=_money(props.get("revenue") or props.get("total")),
                                   margin=_money(props.get("margin")), source="attribution",
                                   at=order["timestamp"],
                                   order_id=str(props.get("order_id") or order.get("id"))))
            return done

        converted += ctx.db.run(work)
    if converted:
        rt.models.invalidate()
    return converted
