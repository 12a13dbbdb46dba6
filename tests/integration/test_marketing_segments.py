"""Segments on SQLite and PostgreSQL: incremental memberships, windows, timeline, channel mix."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from kanaal.core.clock import ManualClock
from kanaal.core.context import AppContext
from kanaal.customers.service import recent_events
from kanaal.marketing import store
from kanaal.marketing.segments import create_segment, get_segment, segment_member_ids
from tests.conftest import Keys, bearer
from tests.support.marketing import consume, track

TV_NO_ORDER = {
    "all": [
        {"event": "Product Viewed", "where": {"category": "tv"}, "count": {"gte": 3},
         "within_days": 14},
        {"not": {"event": "Order Completed", "within_days": 14}},
    ]
}


def _names(ctx: AppContext, customer_id: str) -> list[str]:
    with ctx.db.reader() as session:
        return [e["event"] for e in recent_events(session, customer_id, limit=100)]


def test_membership_follows_events_and_time_windows(ctx: AppContext, clock: ManualClock) -> None:
    segment = create_segment(ctx, name="tv browsers", description="", rule=TV_NO_ORDER)
    ann = track(ctx, "ann@example.com", "Product Viewed", category="tv")
    track(ctx, "ann@example.com", "Product Viewed", category="tv")
    bob = track(ctx, "bob@example.com", "Product Viewed", category="laptop")
    consume(ctx)
    assert segment_member_ids(ctx, segment.id) == []
    clock.advance(days=1)
    track(ctx, "ann@example.com", "Product Viewed", category="tv")
    consume(ctx)
    assert segment_member_ids(ctx, segment.id) == [ann]
    assert "Segment Entered" in _names(ctx, ann)
    assert "Segment Entered" not in _names(ctx, bob)
    # Thirteen days later the first two views leave the 14-day window: Ann drops out
    # without any new event of hers.
    clock.advance(days=13, seconds=1)
    consume(ctx)
    assert segment_member_ids(ctx, segment.id) == []
    assert _names(ctx, ann)[0] == "Segment Exited"


def test_an_order_takes_a_customer_out(ctx: AppContext) -> None:
    segment = create_segment(ctx, name="tv browsers", description="", rule=TV_NO_ORDER)
    for _ in range(3):
        ann = track(ctx, "ann@example.com", "Product Viewed", category="tv")
    consume(ctx)
    assert get_segment(ctx, segment.id).members == 1
    track(ctx, "ann@example.com", "Order Completed", revenue=499, channel="store")
    consume(ctx)
    assert get_segment(ctx, segment.id).members == 0
    assert _names(ctx, ann)[:2] == ["Segment Exited", "Order Completed"]


def test_a_new_segment_is_filled_from_existing_customers(ctx: AppContext) -> None:
    ann = track(ctx, "ann@example.com", "Store Entered", channel="store",
                traits={"birth_year": 1990})
    track(ctx, "bob@example.com", "Page Viewed", traits={"birth_year": 1970})
    segment = create_segment(ctx, name="millennials in store", description="",
                             rule={"all": [{"generation": "millennial"},
                                           {"channel_used": "store"}]})
    assert segment_member_ids(ctx, segment.id) == [ann]


def test_channel_mix_of_a_segment(ctx: AppContext) -> None:
    track(ctx, "ann@example.com", "Page Viewed")
    track(ctx, "ann@example.com", "Call Completed", channel="phone")
    track(ctx, "ann@example.com", "Order Completed", channel="phone", revenue=300, margin=90)
    track(ctx, "bob@example.com", "Store Entered", channel="store")
    track(ctx, "bob@example.com", "Order Completed", channel="web", revenue=100, margin=30)
    segment = create_segment(ctx, name="everyone with email", description="",
                             rule={"identity": "email"})
    client_rows = {row["channel"]: row for row in _mix(ctx, segment.id)}
    assert client_rows["phone"]["orders"] == 1
    assert client_rows["phone"]["contacts"] == 1
    assert client_rows["phone"]["revenue_share"] == pytest.approx(0.75)
    assert client_rows["web"]["new_customers"] == 1
    assert client_rows["store"]["new_customers"] == 1
    assert client_rows["web"]["margin"] == 30


def _mix(ctx: AppContext, segment_id: str) -> list[dict[str, Any]]:
    from kanaal.marketing.segments import segment_channels

    return segment_channels(ctx, segment_id)


@pytest.mark.parametrize(
    ("body", "code", "loc"),
    [
        ({"name": "x", "rule": {"all": [{"event": "A", "count": {"gte": -1}}]}},
         "invalid_rule", "all[0].count.gte"),
        ({"name": "x", "rule": {"trait": "a", "value": 1, "colour": "red"}},
         "invalid_rule", "colour"),
        ({"name": "x", "rule": {"rfm": {"loyalty": {"gte": 1}}}}, "invalid_rule", "rfm.loyalty"),
    ],
)
def test_invalid_segments_are_refused_and_nothing_is_saved(
    client: TestClient, keys: Keys, ctx: AppContext, body: dict[str, Any], code: str, loc: str
) -> None:
    response = client.post("/v1/segments", json=body, headers=bearer(keys.admin))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == code
    assert error["details"][0]["loc"] == loc
    with ctx.db.reader() as session:
        assert session.execute(select(func.count()).select_from(store.segments)).scalar() == 0


def test_segment_api_lists_members_and_exports_an_audience(
    client: TestClient, keys: Keys, ctx: AppContext
) -> None:
    track(ctx, "Ann.Smith@Gmail.com", "Page Viewed", traits={"consent": {"ads": True}})
    made = client.post("/v1/segments", json={"name": "ads ok", "rule": {"consent": "ads"}},
                       headers=bearer(keys.admin))
    assert made.status_code == 201
    assert made.json()["members"] == 1
    segment_id = made.json()["id"]
    page = client.get(f"/v1/segments/{segment_id}/members", headers=bearer(keys.read))
    assert len(page.json()["customer_ids"]) == 1
    csv_text = client.get(f"/v1/audiences/{segment_id}.csv?platform=google",
                          headers=bearer(keys.read)).text
    import hashlib

    assert csv_text.splitlines()[1].split(",")[0] == hashlib.sha256(
        b"annsmith@gmail.com").hexdigest()
    assert client.get(f"/v1/audiences/{segment_id}.csv", headers=bearer(keys.write)
                      ).status_code == 403


def test_bulk_refresh_is_idempotent(ctx: AppContext, clock: ManualClock) -> None:
    from kanaal.marketing.segments import refresh_all

    create_segment(ctx, name="tv", description="", rule=TV_NO_ORDER)
    for _ in range(3):
        track(ctx, "ann@example.com", "Product Viewed", category="tv")
    first = refresh_all(ctx)
    clock.advance(timedelta(minutes=1))
    second = refresh_all(ctx)
    assert (len(first.entered), len(second.entered), len(second.exited)) == (1, 0, 0)
