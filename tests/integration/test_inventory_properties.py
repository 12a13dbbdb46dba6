"""Hypothesis drives random sequences of receipts, counts, reservations, confirms, releases,
expiries, cancellations and shipments through the real services and database; after every
step the ledger must equal a simple model, keep its invariants and add up."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy.orm import Session

from kanaal.channels.domain import Channel
from kanaal.core.clock import ManualClock
from kanaal.core.context import AppContext
from kanaal.core.errors import Conflict
from kanaal.inventory import service
from kanaal.inventory.domain import Location, StockLevel
from tests.support.catalog import make_channel, make_variant
from tests.support.inventory import ledger_problems, ledger_rows, make_location

_runs = itertools.count(1)


@dataclass
class Held:
    """The model of one active reservation."""

    id: str
    lines: dict[str, int]
    expires_at: datetime


@dataclass
class Model:
    """What the ledger should say, per location."""

    on_hand: dict[str, int]
    reserved: dict[str, int] = field(default_factory=dict)
    allocated: dict[str, int] = field(default_factory=dict)
    safety: dict[str, int] = field(default_factory=dict)

    def free(self, loc: str) -> int:
        return max(0, self.on_hand[loc] - self.reserved.get(loc, 0)
                   - self.allocated.get(loc, 0) - self.safety.get(loc, 0))


def machine_for(ctx: AppContext, clock: ManualClock, places: list[Location]) -> type:
    """A state machine class bound to one database and clock."""

    class LedgerMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            run = next(_runs)
            self.sku = f"PROP-{run}"
            self.buffer = 0
            self.model = Model(on_hand={p.id: 0 for p in places})
            self.held: list[Held] = []
            self.orders: dict[str, dict[str, int]] = {}
            self.channel: Channel | None = None
            make_variant(ctx, self.sku)

        @initialize(buffer=st.integers(0, 3), safety=st.integers(0, 2))
        def open_channel(self, buffer: int, safety: int) -> None:
            self.buffer = buffer
            handle = f"prop-{self.sku.lower()}"
            self.channel = make_channel(ctx, handle, location_ids=[p.id for p in places],
                                        stock_buffer=buffer)
            service.set_stock(ctx, sku=self.sku, location_id=places[1].id, safety_stock=safety)
            self.model.safety[places[1].id] = safety

        @rule(where=st.integers(0, 1), quantity=st.integers(1, 6))
        def receive(self, where: int, quantity: int) -> None:
            loc = places[where].id
            service.record_movement(ctx, sku=self.sku, location_id=loc, reason="receipt",
                                    quantity=quantity)
            self.model.on_hand[loc] += quantity

        @rule(where=st.integers(0, 1), counted=st.integers(0, 12))
        def count(self, where: int, counted: int) -> None:
            loc = places[where].id
            committed = self.model.reserved.get(loc, 0) + self.model.allocated.get(loc, 0)
            try:
                service.set_stock(ctx, sku=self.sku, location_id=loc, on_hand=counted)
            except Conflict:
                assert counted < committed
                return
            assert counted >= committed
            self.model.on_hand[loc] = counted

        @rule(quantity=st.integers(1, 5), ttl=st.integers(10, 120))
        def reserve(self, quantity: int, ttl: int) -> None:
            available = max(0, sum(self.model.free(p.id) for p in places) - self.buffer)
            channel = self.channel
            assert channel is not None
            try:
                made = ctx.db.run(lambda s: service.reserve_in(
                    s, ctx, sku=self.sku, quantity=quantity,
                    channel=channel, ttl_seconds=ttl))
            except Conflict:
                assert quantity > available
                return
            assert quantity <= available
            lines = {line.location_id: line.quantity for line in made.lines}
            for loc, units in lines.items():
                self.model.reserved[loc] = self.model.reserved.get(loc, 0) + units
            self.held.append(Held(made.id, lines, clock.now() + timedelta(seconds=ttl)))

        def _drop(self, held: Held, into: dict[str, int] | None) -> None:
            self.held.remove(held)
            for loc, units in held.lines.items():
                self.model.reserved[loc] -= units
                if into is not None:
                    self.model.allocated[loc] = self.model.allocated.get(loc, 0) + units
                    into[loc] = into.get(loc, 0) + units

        @precondition(lambda self: bool(self.held))
        @rule(pick=st.integers(0, 100))
        def confirm(self, pick: int) -> None:
            held = self.held[pick % len(self.held)]
            order_id = f"ord_{held.id}"
            ctx.db.run(lambda s: service.confirm_in(s, ctx, held.id, order_id=order_id))
            self.orders[order_id] = {}
            self._drop(held, self.orders[order_id])

        @precondition(lambda self: bool(self.held))
        @rule(pick=st.integers(0, 100))
        def release(self, pick: int) -> None:
            held = self.held[pick % len(self.held)]
            ctx.db.run(lambda s: service.release_in(s, ctx, held.id))
            self._drop(held, None)

        @rule(seconds=st.integers(1, 90))
        def time_passes(self, seconds: int) -> None:
            clock.advance(seconds=seconds)
            due = [h for h in self.held if h.expires_at <= clock.now()]
            assert service.expire_reservations(ctx) == len(due)
            for held in due:
                self._drop(held, None)

        @precondition(lambda self: any(self.orders.values()))
        @rule(pick=st.integers(0, 100), ship=st.booleans())
        def cancel_or_ship(self, pick: int, ship: bool) -> None:
            order_id = sorted(o for o, lines in self.orders.items() if lines)[
                pick % sum(1 for lines in self.orders.values() if lines)]
            loc, units = sorted(self.orders[order_id].items())[0]
            act = service.ship_in if ship else service.deallocate_in
            ctx.db.run(lambda s: act(s, ctx, sku=self.sku, quantity=units, location_id=loc,
                                     order_id=order_id))
            del self.orders[order_id][loc]
            self.model.allocated[loc] -= units
            if ship:
                self.model.on_hand[loc] -= units

        def teardown(self) -> None:
            # Leave no active reservation behind for the next example's expiry counts.
            for held in list(self.held):

                def release(session: Session, reservation_id: str = held.id) -> object:
                    return service.release_in(session, ctx, reservation_id)

                ctx.db.run(release)

        @invariant()
        def ledger_equals_the_model_and_adds_up(self) -> None:
            channel = self.channel
            if channel is None:
                return
            rows = ledger_rows(ctx, self.sku)
            for place in places:
                level = rows.get(place.id, StockLevel(self.sku, place.id))
                assert (level.on_hand, level.reserved, level.allocated) == (
                    self.model.on_hand[place.id], self.model.reserved.get(place.id, 0),
                    self.model.allocated.get(place.id, 0))
                assert level.problems() == []
            with ctx.db.reader() as session:
                available = service.available_in(session, sku=self.sku, channel=channel)
            assert available == max(0, sum(self.model.free(p.id) for p in places) - self.buffer)
            assert ledger_problems(ctx, self.sku) == []

    return LedgerMachine


@pytest.mark.slow
def test_any_sequence_of_ledger_operations_keeps_the_ledger_consistent(
    ctx: AppContext, clock: ManualClock
) -> None:
    places = [make_location(ctx, "Warehouse"), make_location(ctx, "Store", kind="store")]
    run_state_machine_as_test(
        machine_for(ctx, clock, places),
        settings=settings(max_examples=20, stateful_step_count=20, deadline=None,
                          suppress_health_check=list(HealthCheck)),
    )
