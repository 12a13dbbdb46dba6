"""Reading the decision log: one decision with its outcomes, and the per-arm comparison that
measures the engine's incrementality against the holdout."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select

from kanaal.core.context import AppContext
from kanaal.core.errors import NotFound
from kanaal.core.money import quantize
from kanaal.decisions import store
from kanaal.decisions.service import runtime

_COLUMNS = ("id", "customer_id", "channel", "action", "queue", "policy", "experiment", "arm",
            "bucket", "features", "scores", "reasons", "currency", "offer_code", "task_id",
            "decided_at", "expires_at", "converted_at", "order_id")


def get_decision(ctx: AppContext, decision_id: str) -> dict[str, Any]:
    """A logged decision with its features, scores, reasons and outcome events."""
    rt = runtime(ctx)
    if rt.log.is_pending(decision_id):
        rt.log.flush(ctx.db)
    with ctx.db.reader() as session:
        row = store.find_decision(session, decision_id)
        if row is None:
            raise NotFound(f"no decision {decision_id!r}", code="unknown_decision")
        events = store.outcome_events(session, decision_id)
    result = {name: getattr(row, name) for name in _COLUMNS}
    result.update(incremental_margin=row.incremental_margin, revenue=row.revenue,
                  margin=row.margin, outcomes=events)
    return result


def arm_summary(ctx: AppContext, experiment: str) -> dict[str, Any]:
    """Per arm: customers, decisions, proposals, converted customers, attributed margin."""
    runtime(ctx).log.flush(ctx.db)
    d = store.decisions
    query = select(
        d.c.arm,
        func.count(func.distinct(d.c.subject)).label("customers"),
        func.count().label("decisions"),
        func.sum(case((d.c.action != "none", 1), else_=0)).label("proposals"),
        func.count(func.distinct(case((d.c.converted_at.is_not(None), d.c.subject)))).label(
            "converted"),
        func.coalesce(func.sum(d.c.margin), 0).label("margin"),
    ).where(d.c.experiment == experiment).group_by(d.c.arm).order_by(d.c.arm)
    with ctx.db.reader() as session:
        rows = list(session.execute(query))
    arms = []
    for row in rows:
        customers = int(row.customers)
        margin = quantize(Decimal(str(row.margin)))
        arms.append({"arm": row.arm, "customers": customers, "decisions": int(row.decisions),
                     "proposals": int(row.proposals or 0), "converted": int(row.converted),
                     "conversion_rate": round(int(row.converted) / customers, 6),
                     "margin": margin,
                     "margin_per_customer": quantize(margin / customers)})
    holdout = next((a for a in arms if a["arm"] == "holdout"), None)
    for arm in arms:
        arm["incremental_margin_per_customer"] = None if holdout is None else (
            arm["margin_per_customer"] - holdout["margin_per_customer"])
    return {"experiment": experiment, "arms": arms}
