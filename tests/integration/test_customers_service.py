"""record_event, find_customer_id and recent_events (the interfaces other features use)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from kanaal.collect.service import record_event
from kanaal.core.context import AppContext
from kanaal.core.errors import InvalidInput, NotFound
from kanaal.customers.service import erase_customer, find_customer_id, recent_events
from kanaal.customers.store import customer_events, customer_merges, customer_traits


def _count(ctx: AppContext, table: object) -> int:
    with ctx.db.reader() as session:
        return int(session.execute(select(func.count()).select_from(table)).scalar_one())


def test_record_event_stitches_identities_and_finds_the_customer(ctx: AppContext) -> None:
    with ctx.db.transaction() as session:
        first = record_event(session, ctx, event="Call Completed",
                             identities={"phone": "06 1234 5678"}, channel="phone",
                             source="contact_center", properties={"seconds": 240})
        # The order comes later (with one manual-clock instant for both, "newest first"
        # would fall to the ids' random digits).
        ctx.clock.advance(seconds=1)  # type: ignore[attr-defined]
        second = record_event(session, ctx, event="Order Completed",
                              identities={"email": " Ann@Example.COM ", "phone": "+31612345678"},
                              channel="web", source="orders", traits={"first_name": "Ann"})
    assert first == second
    with ctx.db.reader() as session:
        assert find_customer_id(session, "email", "ann@example.com") == first
        assert find_customer_id(session, "phone", "+31612345678") == first
        assert find_customer_id(session, "email", "other@example.com") is None
        events = recent_events(session, first)
    assert [(e["event"], e["channel"], e["properties"]) for e in events] == [
        ("Order Completed", "web", {}), ("Call Completed", "phone", {"seconds": 240}),
    ]
    assert set(events[0]) == {"id", "type", "event", "channel", "properties", "timestamp"}
    assert _count(ctx, customer_traits) == 1


def test_recent_events_filters_by_channel_and_since(ctx: AppContext) -> None:
    start = ctx.clock.now()
    with ctx.db.transaction() as session:
        customer = record_event(session, ctx, event="A", identities={"user_id": "u1"},
                                channel="web", source="s", timestamp=start)
        record_event(session, ctx, event="B", identities={"user_id": "u1"}, channel="store",
                     source="s", timestamp=start + timedelta(minutes=1))
        record_event(session, ctx, event="C", identities={"user_id": "u1"}, channel="web",
                     source="s", timestamp=start + timedelta(minutes=2))
    with ctx.db.reader() as session:
        assert [e["event"] for e in recent_events(session, customer, channel="web")] == ["C", "A"]
        since = start + timedelta(seconds=30)
        assert [e["event"] for e in recent_events(session, customer, since=since)] == ["C", "B"]
        assert [e["event"] for e in recent_events(session, customer, limit=1)] == ["C"]
        assert recent_events(session, "cus_missing") == []


def test_record_event_merges_two_customers_and_logs_it(ctx: AppContext) -> None:
    with ctx.db.transaction() as session:
        web = record_event(session, ctx, event="Product Viewed", identities={"anonymous_id": "a1"},
                           channel="web", source="web")
        phone = record_event(session, ctx, event="Call Completed",
                             identities={"phone": "+31612345678"}, channel="phone", source="cc")
        joined = record_event(session, ctx, event="Signed Up", message_id="m-join",
                              identities={"anonymous_id": "a1", "phone": "+31612345678"},
                              channel="web", source="web")
    assert web != phone and joined in {web, phone}
    with ctx.db.reader() as session:
        assert find_customer_id(session, "anonymous_id", "a1") == joined
        assert find_customer_id(session, "phone", "+31612345678") == joined
        merged = [e["event"] for e in recent_events(session, web if joined == phone else phone)]
        merge = session.execute(select(customer_merges)).one()
    assert sorted(merged) == ["Call Completed", "Product Viewed", "Signed Up"]
    assert (merge.customer_id, merge.message_id) == (joined, "m-join")
    assert merge.merged_id == ({web, phone} - {joined}).pop()


def test_record_event_with_customer_id_and_duplicate_message_id(ctx: AppContext) -> None:
    with ctx.db.transaction() as session:
        customer = record_event(session, ctx, event="A", identities={"user_id": "u1"},
                                channel="web", source="s")
        again = record_event(session, ctx, event="B", identities={}, customer_id=customer,
                             channel="phone", source="s", message_id="m1")
        duplicate = record_event(session, ctx, event="B", identities={}, customer_id=customer,
                                 channel="phone", source="s", message_id="m1")
    assert again == duplicate == customer
    assert _count(ctx, customer_events) == 2


def test_record_event_refuses_bad_input_and_stores_nothing(ctx: AppContext) -> None:
    cases = [
        ({"event": "A", "identities": {}, "channel": "web"}, "missing_identity"),
        ({"event": "A", "identities": {"email": "null"}, "channel": "web"}, "missing_identity"),
        ({"event": "A", "identities": {"user_id": "u"}, "channel": "fax"}, "invalid_channel"),
        ({"event": None, "identities": {"user_id": "u"}, "channel": "web"}, "missing_event"),
    ]
    for kwargs, code in cases:
        with pytest.raises(InvalidInput) as caught, ctx.db.transaction() as session:
            record_event(session, ctx, source="s", **kwargs)  # type: ignore[arg-type]
        assert caught.value.code == code
    with pytest.raises(NotFound), ctx.db.transaction() as session:
        record_event(session, ctx, event="A", identities={}, customer_id="cus_nope",
                     channel="web", source="s")
    assert _count(ctx, customer_events) == 0


def test_erased_identities_are_stripped_from_internal_events(ctx: AppContext) -> None:
    with ctx.db.transaction() as session:
        customer = record_event(session, ctx, event="A", identities={"email": "a@b.nl"},
                                channel="web", source="s")
    assert erase_customer(ctx, customer) == 1
    with ctx.db.transaction() as session:
        later = record_event(session, ctx, event="Order Completed",
                             identities={"email": "a@b.nl"}, channel="web", source="orders")
    with ctx.db.reader() as session:
        assert find_customer_id(session, "email", "a@b.nl") is None
        assert [e["event"] for e in recent_events(session, later)] == ["Order Completed"]
    assert later != customer


def test_record_event_stores_decimal_money_and_dates_as_json(ctx: AppContext) -> None:
    placed = datetime(2026, 1, 5, 8, 30, tzinfo=UTC)
    with ctx.db.transaction() as session:
        customer = record_event(session, ctx, event="Order Completed",
                                identities={"email": "a@b.nl"}, channel="store", source="orders",
                                properties={"total": Decimal("99.50"), "placed_at": placed,
                                            "skus": ("A", "B")})
    with ctx.db.reader() as session:
        [event] = recent_events(session, customer)
    assert event["properties"] == {"total": 99.5, "placed_at": "2026-01-05T08:30:00+00:00",
                                   "skus": ["A", "B"]}
