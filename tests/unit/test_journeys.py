"""Journeys on DuckDB over a fixed event set with hand-computed paths, funnels and links."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path as FilePath

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kanaal.analytics.attribution import markov
from kanaal.analytics.journeys import JourneyEngine, PathCount

DAY1 = datetime(2026, 1, 5, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A time on day `day` (1-based) of the fixed week."""
    return DAY1 + timedelta(days=day - 1, hours=hour, minutes=minute)


EVENTS = [
    # c1: web (2 events) | phone call | next day web purchase | refund later → web > phone > web
    ("c1", "Page Viewed", "web", at(1, 9), None),
    ("c1", "Product Viewed", "web", at(1, 9, 10), None),
    ("c1", "Call Completed", "phone", at(1, 11), None),
    ("c1", "Product Added", "web", at(2, 10), None),
    ("c1", "Order Completed", "web", at(2, 10, 5), 100.0),
    ("c1", "Order Refunded", "web", at(5, 9), None),
    # c2: web | web an hour later | phone call and order in the same session → web > phone
    ("c2", "Page Viewed", "web", at(1, 9), None),
    ("c2", "Product Viewed", "web", at(1, 10), None),
    ("c2", "Call Completed", "phone", at(1, 13), None),
    ("c2", "Order Completed", "phone", at(1, 13, 10), 200.0),
    # c3: one web session with a purchase → web
    ("c3", "Page Viewed", "web", at(1, 9), None),
    ("c3", "Order Completed", "web", at(1, 9, 20), 50.0),
    # c4: web | phone | web purchase the next morning → web > phone > web
    ("c4", "Page Viewed", "web", at(1, 9), None),
    ("c4", "Call Completed", "phone", at(1, 12), None),
    ("c4", "Order Completed", "web", at(2, 8), 80.0),
    # drop-outs: web, web > store, web, store > web
    ("c5", "Page Viewed", "web", at(1, 9), None),
    ("c5", "Product Viewed", "web", at(1, 9, 5), None),
    ("c6", "Page Viewed", "web", at(1, 9), None),
    ("c6", "Product Viewed", "store", at(2, 15), None),
    ("c7", "Page Viewed", "web", at(1, 9), None),
    ("c8", "Product Viewed", "store", at(1, 9), None),
    ("c8", "Product Added", "web", at(1, 20), None),
]


def frame() -> pd.DataFrame:
    """The fixed events as the engine reads them."""
    data = pd.DataFrame(EVENTS, columns=["customer_id", "event", "channel", "ts", "revenue"])
    data["ts"] = pd.to_datetime(data["ts"], utc=True)
    return data


@pytest.fixture
def engine() -> Iterator[JourneyEngine]:
    """A journey engine over the fixed events."""
    instance = JourneyEngine(frame())
    yield instance
    instance.close()


def test_top_paths_to_purchase_and_to_drop_out(engine: JourneyEngine) -> None:
    assert engine.top_paths(converted=True) == [
        PathCount("web > phone > web", 2), PathCount("web", 1), PathCount("web > phone", 1)]
    assert engine.top_paths(converted=False) == [
        PathCount("web", 2), PathCount("store > web", 1), PathCount("web > store", 1)]


def test_time_and_touches_to_purchase(engine: JourneyEngine) -> None:
    summary = engine.summary()
    assert (summary.customers, summary.converted) == (8, 4)
    hours = [25 + 5 / 60, 4 + 10 / 60, 20 / 60, 23.0]
    assert summary.mean_hours_to_purchase == pytest.approx(sum(hours) / 4, abs=1e-9)
    assert summary.median_hours_to_purchase == pytest.approx((4 + 10 / 60 + 23) / 2, abs=1e-9)
    assert summary.mean_touches_to_purchase == 2.5
    assert summary.median_touches_to_purchase == 3.0


def test_sessions_split_after_thirty_minutes(engine: JourneyEngine) -> None:
    sessions = engine.rows(
        "SELECT customer_id, count(*) FROM sessions GROUP BY customer_id ORDER BY customer_id")
    assert sessions == [("c1", 4), ("c2", 3), ("c3", 1), ("c4", 3), ("c5", 1), ("c6", 2),
                        ("c7", 1), ("c8", 2)]


def test_funnel_per_channel_mix(engine: JourneyEngine) -> None:
    assert engine.funnel_by_channel_mix() == [
        {"mix": "phone+web", "customers": 3, "orientation": 3, "comparison": 3, "decision": 3,
         "purchase": 3, "after_sales": 1},
        {"mix": "web", "customers": 3, "orientation": 3, "comparison": 2, "decision": 1,
         "purchase": 1, "after_sales": 0},
        {"mix": "store+web", "customers": 2, "orientation": 2, "comparison": 2, "decision": 1,
         "purchase": 0, "after_sales": 0},
    ]


def test_sankey_links_follow_the_paths(engine: JourneyEngine) -> None:
    assert engine.sankey_links() == [
        ("1. web", "2. phone", 3), ("1. web", "drop-out", 2), ("2. phone", "3. web", 2),
        ("3. web", "purchase", 2), ("1. store", "2. web", 1), ("1. web", "2. store", 1),
        ("1. web", "purchase", 1), ("2. phone", "purchase", 1), ("2. store", "drop-out", 1),
        ("2. web", "drop-out", 1),
    ]


def test_markov_in_sql_equals_markov_over_the_paths(engine: JourneyEngine) -> None:
    paths = engine.attribution_paths()
    assert [len(p.touches) for p in paths] == [3, 3, 1, 3, 1, 2, 1, 2]
    assert [p.value for p in paths if p.converted] == [100.0, 200.0, 50.0, 80.0]
    in_sql = engine.markov(on="revenue")
    in_python = markov(paths, on="revenue")
    assert in_sql.removal_effects == pytest.approx(in_python.removal_effects, abs=1e-12)
    assert in_sql.credit == pytest.approx(in_python.credit, abs=1e-9)
    assert sum(in_sql.credit.values()) == pytest.approx(430.0, abs=1e-9)


def test_parquet_input_gives_the_same_paths(tmp_path: FilePath) -> None:
    target = tmp_path / "events.parquet"
    frame().to_parquet(target)
    from_file = JourneyEngine(target)
    try:
        assert from_file.top_paths(converted=True)[0] == PathCount("web > phone > web", 2)
    finally:
        from_file.close()


def reference_paths(events: list[tuple[str, str, str, datetime, float | None]]
                    ) -> dict[str, tuple[bool, str, int]]:
    """Plain-Python journeys: customer → (converted, collapsed path, touches)."""
    result = {}
    for customer in sorted({e[0] for e in events}):
        mine = sorted((e for e in events if e[0] == customer), key=lambda e: (e[3], e[1], e[2]))
        purchase = min((e[3] for e in mine if e[1] == "Order Completed"), default=None)
        sessions: list[tuple[str, datetime]] = []
        last: datetime | None = None
        for _, _, channel, ts, _ in mine:
            if last is None or ts - last > timedelta(minutes=30):
                sessions.append((channel, ts))
            last = ts
        touches = [c for c, start in sessions if purchase is None or start <= purchase]
        collapsed = [c for i, c in enumerate(touches) if i == 0 or touches[i - 1] != c]
        result[customer] = (purchase is not None, " > ".join(collapsed), len(touches))
    return result


event_strategy = st.tuples(
    st.sampled_from(["a", "b", "c", "d"]),
    st.sampled_from(["Page Viewed", "Product Viewed", "Product Added", "Order Completed"]),
    st.sampled_from(["web", "phone", "store"]),
    st.integers(min_value=0, max_value=3 * 24 * 60).map(lambda m: DAY1 + timedelta(minutes=m)),
    st.just(None),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(event_strategy, min_size=1, max_size=40))
def test_duckdb_journeys_equal_a_plain_python_reference(
    events: list[tuple[str, str, str, datetime, float | None]],
) -> None:
    data = pd.DataFrame(events, columns=["customer_id", "event", "channel", "ts", "revenue"])
    data["ts"] = pd.to_datetime(data["ts"], utc=True)
    data["revenue"] = data["revenue"].astype("float64")
    engine = JourneyEngine(data)
    try:
        found = {c: (bool(conv), path, int(n)) for c, conv, path, n in engine.rows(
            "SELECT customer_id, converted, path, touches FROM customer_paths")}
    finally:
        engine.close()
    assert found == reference_paths(events)
