"""The live overview: contact-center load, decisions, conversions, margin and waits."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from kanaal.core.context import AppContext

WINDOW_MINUTES = 30
# Actual waits are those of contacts answered in the last quarter of an hour.
WAIT_WINDOW_MINUTES = 15


def _minute(moment: datetime) -> str:
    return moment.strftime("%H:%M")


def overview(ctx: AppContext, *, minutes: int = WINDOW_MINUTES) -> dict[str, Any]:
    """Everything the dashboard draws, for the last `minutes` minutes (and today's totals)."""
    from kanaal.contact_center.service import answered_wait, capacity_snapshot
    from kanaal.decisions.store import decisions

    now = ctx.clock.now()
    since = now - timedelta(minutes=minutes)
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    actual = answered_wait(ctx, window_seconds=WAIT_WINDOW_MINUTES * 60)
    no_answers: dict[str, Any] = {"answered": 0, "mean_seconds": None, "p90_seconds": None}
    queues = [{
        "queue": name, "channel": cap.channel, "available_agents": cap.available_agents,
        "busy_agents": cap.busy_agents, "queue_length": cap.queue_length,
        "occupancy": round(cap.occupancy, 4), "service_level": round(cap.service_level, 4),
        "predicted_wait_seconds": None if cap.predicted_wait_seconds is None
        else round(cap.predicted_wait_seconds, 1),
        "target_answer_seconds": cap.target_answer_seconds, "over_target": cap.over_target,
        "answered_recently": actual.get(name, no_answers)["answered"],
        "actual_wait_mean_seconds": actual.get(name, no_answers)["mean_seconds"],
        "actual_wait_p90_seconds": actual.get(name, no_answers)["p90_seconds"],
    } for name, cap in sorted(capacity_snapshot(ctx).items())]
    columns = (decisions.c.decided_at, decisions.c.action, decisions.c.channel,
               decisions.c.incremental_margin, decisions.c.converted_at, decisions.c.margin)
    with ctx.db.reader() as session:
        recent = session.execute(select(*columns).where(decisions.c.decided_at >= min(
            since, day_start)).order_by(decisions.c.decided_at).limit(200_000)).all()
    per_minute: dict[str, Counter[str]] = defaultdict(Counter)
    conversions: Counter[str] = Counter()
    expected = Decimal(0)
    realized = Decimal(0)
    for row in recent:
        if row.decided_at >= since:
            per_minute[_minute(row.decided_at)][row.action] += 1
        if row.action != "none":
            expected += row.incremental_margin
            if row.converted_at is not None:
                realized += row.margin or Decimal(0)
        if row.converted_at is not None:
            conversions[row.channel] += 1
    labels = [_minute(since + timedelta(minutes=i + 1)) for i in range(minutes)]
    actions = sorted({a for counts in per_minute.values() for a in counts})
    return {
        "at": now.isoformat(),
        "queues": queues,
        "actual_wait_window_minutes": WAIT_WINDOW_MINUTES,
        "decisions_per_minute": {"minutes": labels, "actions": {
            a: [per_minute[m][a] for m in labels] for a in actions}},
        "conversions_by_channel": dict(sorted(conversions.items())),
        "incremental_margin": {"expected_today": str(expected.quantize(Decimal("0.01"))),
                               "assisted_margin_today": str(realized.quantize(Decimal("0.01")))},
        "decisions_today": len(recent),
    }
