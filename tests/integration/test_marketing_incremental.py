"""Incremental segment membership equals a bulk recomputation after any sequence of events."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kanaal.config import Settings
from kanaal.core.clock import ManualClock
from kanaal.core.context import build_context
from kanaal.core.live import open_live_store
from kanaal.marketing.segments import create_segment, refresh_all
from tests.support.marketing import consume, track

SEGMENTS = {
    "tv browsers": {"all": [
        {"event": "Product Viewed", "where": {"category": "tv"}, "count": {"gte": 2},
         "within_days": 5},
        {"not": {"event": "Order Completed", "within_days": 5}},
    ]},
    "recent store visitors": {"channel_used": "store", "within_days": 3},
    "never ordered": {"event": "Order Completed", "count": {"eq": 0}},
}

step = st.tuples(
    st.integers(0, 3),  # customer
    st.sampled_from(["tv", "laptop", "order", "store"]),
    st.sampled_from([0, 0, 1, 2, 4, 6]),  # days to wait first
    st.booleans(),  # run the consumer after this step
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.lists(step, min_size=1, max_size=14))
def test_incremental_membership_equals_bulk_refresh(
    sqlite_template: Path, steps: list[tuple[int, str, int, bool]]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copyfile(sqlite_template, Path(tmp) / "kanaal.db")
        clock = ManualClock()
        ctx = build_context(
            Settings(database_url=f"sqlite:///{tmp}/kanaal.db", data_dir=Path(tmp),
                     auto_migrate=False),
            clock=clock, live=open_live_store(None),
        )
        for name, rule in SEGMENTS.items():
            create_segment(ctx, name=name, description="", rule=rule)
        for customer, kind, wait, run_consumer in steps:
            clock.advance(days=wait)
            email = f"c{customer}@example.com"
            if kind in {"tv", "laptop"}:
                track(ctx, email, "Product Viewed", category=kind)
            elif kind == "order":
                track(ctx, email, "Order Completed", revenue=10)
            else:
                track(ctx, email, "Store Entered", channel="store")
            if run_consumer:
                consume(ctx)
        clock.advance(hours=1)
        consume(ctx)
        changes = refresh_all(ctx)
        assert changes.entered == []
        assert changes.exited == []
        ctx.db.dispose()
