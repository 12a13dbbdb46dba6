"""The stock ledger through its services on SQLite and PostgreSQL: counts, movements,
reservations, expiry with a manual clock, allocations to orders and stock-change events."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kanaal.channels.domain import Channel
from kanaal.core.clock import ManualClock
from kanaal.core.context import AppContext
from kanaal.core.errors import Conflict, InvalidInput, NotFound
from kanaal.core.outbox import add_webhook_endpoint, outbox_messages
from kanaal.inventory import api as inventory_api
from kanaal.inventory import service, store, store_reservations
from kanaal.inventory.api import expire_reservations_worker
from kanaal.inventory.domain import MovementReason, Reservation, ReservationStatus
from kanaal.inventory.ledger import apply_change
from kanaal.inventory.reservations import get_reservation_in
from tests.support.catalog import make_channel, make_variant
from tests.support.inventory import (
    count_rows,
    ledger_problems,
    ledger_rows,
    make_location,
    stocked_world,
)


def _reserve(
    ctx: AppContext, channel: Channel, sku: str, quantity: int, ttl: int = 600
) -> Reservation:
    return ctx.db.run(lambda s: service.reserve_in(
        s, ctx, sku=sku, quantity=quantity, channel=channel, ttl_seconds=ttl,
        reference="cart-1"))


def test_reservation_draws_from_locations_in_channel_order(ctx: AppContext) -> None:
    world = stocked_world(ctx, first=6, second=4)
    reservation = _reserve(ctx, world.channel, world.sku, 8)
    lines = {line.location_id: line.quantity for line in reservation.lines}
    assert lines == {world.first.id: 6, world.second.id: 2}
    rows = ledger_rows(ctx, world.sku)
    assert (rows[world.first.id].reserved, rows[world.first.id].available) == (6, 0)
    assert (rows[world.second.id].reserved, rows[world.second.id].available) == (2, 2)
    with ctx.db.reader() as session:
        assert service.available_in(session, sku=world.sku, channel=world.channel) == 2
    assert ledger_problems(ctx, world.sku) == []


def test_more_than_available_is_refused_and_nothing_changes(ctx: AppContext) -> None:
    world = stocked_world(ctx, first=6, second=4)
    before_rows, before_moves = ledger_rows(ctx, world.sku), count_rows(ctx, store.movements)
    with pytest.raises(Conflict) as refused:
        _reserve(ctx, world.channel, world.sku, 11)
    assert refused.value.code == "insufficient_stock"
    assert ledger_rows(ctx, world.sku) == before_rows
    assert count_rows(ctx, store.movements) == before_moves
    assert count_rows(ctx, store.reservations) == 0


def test_safety_stock_and_channel_buffer_are_withheld(ctx: AppContext) -> None:
    world = stocked_world(ctx, first=6, second=4, stock_buffer=3)
    service.set_stock(ctx, sku=world.sku, location_id=world.second.id, safety_stock=5)
    with ctx.db.reader() as session:
        # second: 4 - 5 floors at 0, so only 6 count; the buffer withholds 3 of them.
        assert service.available_in(session, sku=world.sku, channel=world.channel) == 3
        assert service.available_by_location_in(
            session, sku=world.sku, location_ids=[world.second.id, world.first.id, "loc_x"]
        ) == {world.second.id: 0, world.first.id: 6, "loc_x": 0}
    with pytest.raises(Conflict):
        _reserve(ctx, world.channel, world.sku, 4)
    assert [line.quantity for line in _reserve(ctx, world.channel, world.sku, 3).lines] == [3]


def test_expiry_with_a_manual_clock_returns_the_units(ctx: AppContext, clock: ManualClock) -> None:
    world = stocked_world(ctx, first=5, second=0)
    short = _reserve(ctx, world.channel, world.sku, 2, ttl=60)
    long = _reserve(ctx, world.channel, world.sku, 1, ttl=600)
    clock.advance(seconds=59)
    assert service.expire_reservations(ctx) == 0
    clock.advance(seconds=1)
    assert service.expire_reservations(ctx) == 1
    assert service.expire_reservations(ctx) == 0
    with ctx.db.reader() as session:
        assert get_reservation_in(session, short.id).status is ReservationStatus.EXPIRED
        assert get_reservation_in(session, long.id).status is ReservationStatus.ACTIVE
    assert ledger_rows(ctx, world.sku)[world.first.id].reserved == 1
    with ctx.db.reader() as session:
        reasons = [m["reason"] for m in store.list_movements(session, world.sku)]
    assert reasons[0] == "expiry"
    assert ledger_problems(ctx, world.sku) == []


def test_an_expired_reservation_cannot_be_confirmed(ctx: AppContext, clock: ManualClock) -> None:
    world = stocked_world(ctx, first=5, second=0)
    reservation = _reserve(ctx, world.channel, world.sku, 2, ttl=30)
    clock.advance(seconds=31)
    with pytest.raises(Conflict) as refused:
        ctx.db.run(lambda s: service.confirm_in(s, ctx, reservation.id, order_id="ord_1"))
    assert refused.value.code == "reservation_expired"
    assert ledger_rows(ctx, world.sku)[world.first.id].allocated == 0


def test_confirm_allocates_then_ship_and_return_move_on_hand(ctx: AppContext) -> None:
    world = stocked_world(ctx, first=3, second=4)
    reservation = _reserve(ctx, world.channel, world.sku, 5)
    confirmed = ctx.db.run(lambda s: service.confirm_in(s, ctx, reservation.id, order_id="ord_1"))
    assert confirmed == [(world.first.id, 3), (world.second.id, 2)] or confirmed == [
        (world.second.id, 2), (world.first.id, 3)]
    again = ctx.db.run(lambda s: service.confirm_in(s, ctx, reservation.id, order_id="ord_1"))
    assert sorted(again) == sorted(confirmed)
    with pytest.raises(Conflict) as other:
        ctx.db.run(lambda s: service.confirm_in(s, ctx, reservation.id, order_id="ord_2"))
    assert other.value.code == "reservation_confirmed"
    ctx.db.run(lambda s: service.ship_in(s, ctx, sku=world.sku, quantity=2,
                                         location_id=world.second.id, order_id="ord_1"))
    rows = ledger_rows(ctx, world.sku)
    assert (rows[world.second.id].on_hand, rows[world.second.id].allocated) == (2, 0)
    ctx.db.run(lambda s: service.receive_return_in(s, ctx, sku=world.sku, quantity=1,
                                                   location_id=world.first.id, order_id="ord_1"))
    assert ledger_rows(ctx, world.sku)[world.first.id].on_hand == 4
    with pytest.raises(Conflict) as too_many:
        ctx.db.run(lambda s: service.receive_return_in(
            s, ctx, sku=world.sku, quantity=2, location_id=world.first.id, order_id="ord_1"))
    assert too_many.value.code == "not_shipped"
    assert ledger_problems(ctx, world.sku) == []


def test_an_order_with_two_lines_on_the_same_sku(ctx: AppContext) -> None:
    world = stocked_world(ctx, first=3, second=0)

    def two_lines(session: Session) -> None:
        for _ in range(2):
            service.allocate_in(session, ctx, sku=world.sku, quantity=2,
                                location_id=world.first.id, order_id="ord_9")

    with pytest.raises(Conflict) as refused:
        ctx.db.run(two_lines)
    assert refused.value.code == "insufficient_stock"
    assert ledger_rows(ctx, world.sku)[world.first.id].allocated == 0  # all or nothing
    service.set_stock(ctx, sku=world.sku, location_id=world.first.id, on_hand=4)
    ctx.db.run(two_lines)
    with ctx.db.reader() as session:
        held = store_reservations.order_allocations(session, "ord_9")
        assert [a["allocated"] for a in held] == [4]
    ctx.db.run(lambda s: service.deallocate_in(s, ctx, sku=world.sku, quantity=1,
                                               location_id=world.first.id, order_id="ord_9"))
    with pytest.raises(Conflict) as over:
        ctx.db.run(lambda s: service.deallocate_in(s, ctx, sku=world.sku, quantity=4,
                                                   location_id=world.first.id, order_id="ord_9"))
    assert over.value.code == "not_allocated"
    assert ledger_rows(ctx, world.sku)[world.first.id].allocated == 3
    assert ledger_problems(ctx, world.sku) == []


def test_release_is_idempotent_but_a_confirmed_one_stays(ctx: AppContext) -> None:
    world = stocked_world(ctx, first=5, second=0)
    held = _reserve(ctx, world.channel, world.sku, 2)
    for _ in range(2):
        released = ctx.db.run(lambda s: service.release_in(s, ctx, held.id))
        assert released.status is ReservationStatus.RELEASED
    assert ledger_rows(ctx, world.sku)[world.first.id].reserved == 0
    kept = _reserve(ctx, world.channel, world.sku, 1)
    ctx.db.run(lambda s: service.confirm_in(s, ctx, kept.id, order_id="ord_1"))
    with pytest.raises(Conflict) as refused:
        ctx.db.run(lambda s: service.release_in(s, ctx, kept.id))
    assert refused.value.code == "reservation_confirmed"


def test_counts_receipts_adjustments_and_transfers(ctx: AppContext) -> None:
    world = stocked_world(ctx, first=5, second=1)
    service.set_stock(ctx, sku=world.sku, location_id=world.first.id, incoming=10)
    service.record_movement(ctx, sku=world.sku, location_id=world.first.id, reason="receipt",
                            quantity=4)
    service.record_movement(ctx, sku=world.sku, location_id=world.first.id,
                            reason="adjustment", quantity=-2, note="damaged")
    moved = service.record_movement(ctx, sku=world.sku, location_id=world.first.id,
                                    reason="transfer", quantity=3, to_location_id=world.second.id)
    assert [(r.location_id, r.on_hand) for r in moved] == [(world.first.id, 4),
                                                            (world.second.id, 4)]
    assert ledger_rows(ctx, world.sku)[world.first.id].incoming == 6
    _reserve(ctx, world.channel, world.sku, 4)
    with pytest.raises(Conflict) as below:
        service.set_stock(ctx, sku=world.sku, location_id=world.first.id, on_hand=3)
    assert below.value.code == "on_hand_below_committed"
    with pytest.raises(Conflict):
        service.record_movement(ctx, sku=world.sku, location_id=world.first.id,
                                reason="adjustment", quantity=-1)
    assert ledger_rows(ctx, world.sku)[world.first.id].on_hand == 4
    assert ledger_problems(ctx, world.sku) == []


def test_bad_input_is_refused_with_its_code(ctx: AppContext) -> None:
    world = stocked_world(ctx, first=5, second=0)
    before = ledger_rows(ctx, world.sku)
    cases = [
        (lambda: _reserve(ctx, world.channel, "NOPE-1", 1), NotFound, "unknown_sku"),
        (lambda: _reserve(ctx, world.channel, world.sku, -1), InvalidInput, "invalid_quantity"),
        (lambda: _reserve(ctx, world.channel, world.sku, 1, ttl=0), InvalidInput, "invalid_ttl"),
        (lambda: service.set_stock(ctx, sku="NOPE-1", location_id=world.first.id, on_hand=1),
         NotFound, "unknown_sku"),
        (lambda: service.set_stock(ctx, sku=world.sku, location_id="loc_none", on_hand=1),
         NotFound, "unknown_location"),
        (lambda: service.set_stock(ctx, sku=world.sku, location_id=world.first.id, on_hand=-3),
         InvalidInput, "invalid_quantity"),
        (lambda: service.record_movement(ctx, sku=world.sku, location_id=world.first.id,
                                         reason="sale", quantity=1), InvalidInput,
         "invalid_reason"),
        (lambda: make_location(ctx, "Bad", latitude=95.0), InvalidInput, "invalid_location"),
    ]
    for call, error, code in cases:
        with pytest.raises(error) as raised:
            call()
        assert raised.value.code == code
    assert ledger_rows(ctx, world.sku) == before
    assert count_rows(ctx, store.reservations) == 0
    assert count_rows(ctx, store.locations) == 2


def test_a_known_sku_without_stock_is_insufficient_not_unknown(ctx: AppContext) -> None:
    make_variant(ctx, "NEW-1")
    location = make_location(ctx)
    channel = make_channel(ctx, "store-ams", kind="store", location_ids=[location.id])
    with pytest.raises(Conflict) as refused:
        _reserve(ctx, channel, "NEW-1", 1)
    assert refused.value.code == "insufficient_stock"


def test_every_stock_change_is_published_in_the_same_transaction(ctx: AppContext) -> None:
    add_webhook_endpoint(ctx.db, ids=ctx.ids, clock=ctx.clock, url="http://127.0.0.1:9/hook",
                         topics=["stock.changed"], secret="s")
    world = stocked_world(ctx, first=5, second=0)
    held = _reserve(ctx, world.channel, world.sku, 2)
    ctx.db.run(lambda s: service.release_in(s, ctx, held.id))
    with pytest.raises(Conflict):
        _reserve(ctx, world.channel, world.sku, 6)
    with ctx.db.reader() as session:
        payloads = [row.payload["data"] for row in session.execute(
            select(outbox_messages.c.payload).order_by(outbox_messages.c.created_at,
                                                       outbox_messages.c.id))]
    assert [(p["reason"], p["on_hand"], p["reserved"], p["available"]) for p in payloads] == [
        ("count", 5, 0, 5), ("reservation", 5, 2, 3), ("release", 5, 0, 5)]
    assert {p["sku"] for p in payloads} == {world.sku}
    assert payloads[1]["reference"] == held.id


def test_the_background_sweeper_expires_due_reservations(
    ctx: AppContext, clock: ManualClock
) -> None:
    world = stocked_world(ctx, first=2, second=0)
    held = _reserve(ctx, world.channel, world.sku, 2, ttl=10)
    clock.advance(seconds=10)

    def status() -> ReservationStatus:
        with ctx.db.reader() as session:
            return get_reservation_in(session, held.id).status

    async def sweep_until_expired() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(expire_reservations_worker(ctx, stop))
        for _ in range(600):  # wait for the first pass; the assertion below is on state
            if status() is ReservationStatus.EXPIRED:
                break
            await asyncio.sleep(0.05)
        stop.set()
        await task

    assert expire_reservations_worker in inventory_api.workers
    asyncio.run(sweep_until_expired())
    assert status() is ReservationStatus.EXPIRED
    assert ledger_rows(ctx, world.sku)[world.first.id].reserved == 0


def test_every_cause_of_a_stock_change_sends_one_webhook_per_movement(
    ctx: AppContext, clock: ManualClock
) -> None:
    add_webhook_endpoint(ctx.db, ids=ctx.ids, clock=ctx.clock, url="http://127.0.0.1:9/hook",
                         topics=["stock.changed"], secret="s")
    world = stocked_world(ctx, first=10, second=2)
    a, b = world.first.id, world.second.id
    service.record_movement(ctx, sku=world.sku, location_id=a, reason="receipt", quantity=3)
    service.record_movement(ctx, sku=world.sku, location_id=a, reason="adjustment",
                            quantity=-1)
    service.record_movement(ctx, sku=world.sku, location_id=a, reason="transfer", quantity=2,
                            to_location_id=b)
    service.set_stock(ctx, sku=world.sku, location_id=b, safety_stock=1)
    released = _reserve(ctx, world.channel, world.sku, 1)
    ctx.db.run(lambda s: service.release_in(s, ctx, released.id))
    _reserve(ctx, world.channel, world.sku, 1, ttl=5)
    clock.advance(seconds=5)
    assert service.expire_reservations(ctx) == 1
    confirmed = _reserve(ctx, world.channel, world.sku, 2)
    ctx.db.run(lambda s: service.confirm_in(s, ctx, confirmed.id, order_id="ord_1"))

    def order_flow(session: Session) -> None:
        service.allocate_in(session, ctx, sku=world.sku, quantity=1, location_id=a,
                            order_id="ord_2")
        service.deallocate_in(session, ctx, sku=world.sku, quantity=1, location_id=a,
                              order_id="ord_2")
        service.ship_in(session, ctx, sku=world.sku, quantity=2, location_id=a,
                        order_id="ord_1")
        service.receive_return_in(session, ctx, sku=world.sku, quantity=1, location_id=b,
                                  order_id="ord_1")

    ctx.db.run(order_flow)
    with ctx.db.reader() as session:
        events = [row.payload["data"] for row in session.execute(
            select(outbox_messages.c.payload).where(outbox_messages.c.topic == "stock.changed"))]
        logged = store.list_movements(session, world.sku, limit=1000)
    assert sorted(e["movement_id"] for e in events) == sorted(m["id"] for m in logged)
    assert {e["reason"] for e in events} == {
        "count", "receipt", "adjustment", "transfer", "setting", "reservation", "release",
        "expiry", "allocation", "deallocation", "sale", "return"}
    last = next(e for e in events if e["reason"] == "return")
    assert (last["location_id"], last["on_hand"], last["available"]) == (b, 5, 4)
    assert ledger_problems(ctx, world.sku) == []


def test_the_check_constraint_is_the_last_guard(ctx: AppContext) -> None:
    world = stocked_world(ctx, first=3, second=0)
    before = ledger_rows(ctx, world.sku)
    moves = count_rows(ctx, store.movements)
    # Bypass every check in code: only the database's CHECK stands between this and overselling.
    with pytest.raises(Conflict) as refused:
        ctx.db.run(lambda s: apply_change(
            s, ctx, sku=world.sku, location_id=world.first.id,
            reason=MovementReason.RESERVATION, deltas={"reserved": 4}))
    assert refused.value.code == "insufficient_stock"
    assert ledger_rows(ctx, world.sku) == before
    assert count_rows(ctx, store.movements) == moves


def test_a_transfer_moves_only_free_units(ctx: AppContext) -> None:
    world = stocked_world(ctx, first=3, second=1)
    _reserve(ctx, world.channel, world.sku, 2)
    before = ledger_rows(ctx, world.sku)
    with pytest.raises(Conflict) as refused:
        service.record_movement(ctx, sku=world.sku, location_id=world.first.id,
                                reason="transfer", quantity=2, to_location_id=world.second.id)
    assert refused.value.code == "insufficient_stock"
    assert ledger_rows(ctx, world.sku) == before
    with pytest.raises(InvalidInput) as same:
        service.record_movement(ctx, sku=world.sku, location_id=world.first.id,
                                reason="transfer", quantity=1, to_location_id=world.first.id)
    assert same.value.code == "invalid_transfer"
