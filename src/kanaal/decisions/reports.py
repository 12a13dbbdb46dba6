"""The decision log for analytics: per decision, its arm, what it proposed, the contact cost
it caused and the margin attributed to it (read-only; used by kanaal.analytics).

Contact cost follows the engine's economics (`economics.agent_minutes`, `cost_per_minute`):
a decision costs agent minutes only when its assisted action was taken up (an "accepted" or
"contacted" outcome). The log does not keep the queue's handle time of the moment, so the
minutes use the queue's handle time as the engine's capacity reader reports it now (the
engine's `default_handle_seconds` when the queue no longer exists). Margin is what the
engine attributed to the decision: a "converted" outcome or an "Order Completed" joined by
`outcomes.attribute_conversions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from kanaal.core.context import AppContext
from kanaal.core.money import quantize
from kanaal.decisions import store
from kanaal.decisions.domain import QUEUE_CHANNEL, ActionType, QueueView
from kanaal.decisions.economics import EconomicParams, agent_minutes, cost_channel
from kanaal.decisions.holdout import HOLDOUT_ARM
from kanaal.decisions.providers import readers
from kanaal.decisions.service import runtime

# Actions that put a prospect in touch with a contact-center agent (phone, callback, chat).
CONTACT_CENTER_ACTIONS = frozenset(action.value for action in QUEUE_CHANNEL)
PAGE = 5000


@dataclass(frozen=True, slots=True)
class DecisionOutcomeRow:
    """One logged decision and what followed it."""

    decision_id: str
    customer_id: str | None
    subject: str  # the unit the arm was drawn for (customer id, or user:/anon: identity)
    experiment: str
    arm: str
    policy: str
    holdout: bool
    action: str  # what the decision proposed ("none" in the holdout)
    queue: str | None
    # The action the `kanaal` policy ranks first on the decision's own scores, whatever the
    # arm's policy did ("none" when nothing pays): the same rule in every arm, so it tells
    # which holdout customers the engine would have sent to an agent.
    best_action: str
    accepted: bool
    agent_minutes: Decimal  # minutes one accepted contact of this action takes
    contact_cost: Decimal  # accepted x agent minutes x cost per minute, in cents
    margin: Decimal | None  # attributed margin, None until converted
    revenue: Decimal | None
    order_id: str | None
    decided_at: datetime
    converted_at: datetime | None
    currency: str


def current_experiment(ctx: AppContext) -> str:
    """The name of the experiment the engine assigns arms in now."""
    return runtime(ctx).experiment.name


def best_action(scores: Any) -> str:
    """Pure: the kanaal policy's first choice among logged scores (feasible, paying, best)."""
    best, value = ActionType.NONE.value, Decimal(0)
    for score in scores if isinstance(scores, list) else []:
        if not isinstance(score, dict) or score.get("type") in (None, ActionType.NONE.value):
            continue
        try:
            margin = Decimal(str(score.get("incremental_margin")))
        except InvalidOperation:
            continue
        if score.get("feasible", True) and margin > value:
            best, value = str(score["type"]), margin
    return best


def contact_minutes(action: str, queue: str | None, views: dict[str, QueueView],
                    params: EconomicParams) -> tuple[float, float]:
    """Pure: (agent minutes, cost per minute) of one accepted contact of an action."""
    try:
        kind = ActionType(action)
    except ValueError:
        return 0.0, 0.0
    view = views.get(queue) if queue else None
    if view is None and queue and kind in QUEUE_CHANNEL:
        view = QueueView(queue=queue, channel=QUEUE_CHANNEL[kind][0], available_agents=0,
                         queue_length=0, handle_time_seconds=0.0, predicted_wait_seconds=None,
                         target_answer_seconds=0.0, over_target=False,
                         spare_agent_minutes_15=0.0)
    minutes = agent_minutes(kind, view, params)
    if minutes == 0.0:
        return 0.0, 0.0
    return minutes, params.cost_per_minute.get(cost_channel(view), 0.0)


def _row(raw: Any, views: dict[str, QueueView], params: EconomicParams) -> DecisionOutcomeRow:
    minutes, rate = contact_minutes(raw.action, raw.queue, views, params)
    exact_minutes = Decimal(repr(minutes))
    cost = quantize(exact_minutes * Decimal(repr(rate))) if raw.accepted else Decimal("0.00")
    return DecisionOutcomeRow(
        decision_id=raw.id, customer_id=raw.customer_id, subject=raw.subject,
        experiment=raw.experiment, arm=raw.arm, policy=raw.policy,
        holdout=raw.arm == HOLDOUT_ARM, action=raw.action, queue=raw.queue,
        best_action=best_action(raw.scores), accepted=bool(raw.accepted),
        agent_minutes=exact_minutes, contact_cost=cost,
        margin=None if raw.margin is None else quantize(Decimal(str(raw.margin))),
        revenue=None if raw.revenue is None else quantize(Decimal(str(raw.revenue))),
        order_id=raw.order_id, decided_at=raw.decided_at, converted_at=raw.converted_at,
        currency=raw.currency)


def decision_outcomes(
    ctx: AppContext, *, since: datetime | None = None, until: datetime | None = None,
    experiment: str | None = None,
) -> list[DecisionOutcomeRow]:
    """Decisions made in [since, until) (of one experiment if given), oldest first."""
    rt = runtime(ctx)
    rt.log.flush(ctx.db)  # decisions still queued in memory belong in the report
    capacity, _, _ = readers(ctx)
    views = capacity.snapshot(ctx)
    params = rt.params.economics
    d = store.decisions
    columns = (d.c.id, d.c.customer_id, d.c.subject, d.c.experiment, d.c.arm, d.c.policy,
               d.c.action, d.c.queue, d.c.scores, d.c.accepted, d.c.margin, d.c.revenue,
               d.c.order_id, d.c.decided_at, d.c.converted_at, d.c.currency)
    rows: list[DecisionOutcomeRow] = []
    cursor: tuple[datetime, str] | None = None
    with ctx.db.reader() as session:
        while True:
            query = select(*columns).order_by(d.c.decided_at, d.c.id).limit(PAGE)
            if since is not None:
                query = query.where(d.c.decided_at >= since)
            if until is not None:
                query = query.where(d.c.decided_at < until)
            if experiment is not None:
                query = query.where(d.c.experiment == experiment)
            if cursor is not None:
                query = query.where((d.c.decided_at > cursor[0]) | (
                    (d.c.decided_at == cursor[0]) & (d.c.id > cursor[1])))
            page = list(session.execute(query))
            rows += [_row(raw, views, params) for raw in page]
            if len(page) < PAGE:
                return rows
            cursor = (page[-1].decided_at, page[-1].id)
