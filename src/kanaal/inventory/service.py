"""Inventory use cases: locations, stock counts and movements, order allocations, availability.

`*_in` functions work in the caller's transaction (other features call them inside theirs);
the others open their own. Reservations live in kanaal.inventory.reservations and are
re-exported here so callers need one module.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.orm import Session

from kanaal.core.context import AppContext
from kanaal.core.errors import Conflict, InvalidInput
from kanaal.inventory import store, store_reservations
from kanaal.inventory.domain import (
    MAX_QUANTITY,
    Location,
    MovementReason,
    StockChannel,
    StockLevel,
    channel_availability,
    check_count,
    check_location,
    check_quantity,
    check_sku,
)
from kanaal.inventory.ledger import apply_change, get_location_in, require_sku
from kanaal.inventory.reservations import (
    channel_in,
    confirm_in,
    expire_reservations,
    get_reservation_in,
    release_in,
    reserve_in,
)

__all__ = [
    "allocate_in", "available_by_location_in", "available_in", "confirm_in", "deallocate_in",
    "expire_reservations", "get_location_in", "get_reservation_in", "receive_return_in",
    "release_in", "reserve_in", "ship_in",
]

MANUAL_REASONS = (MovementReason.RECEIPT, MovementReason.ADJUSTMENT, MovementReason.TRANSFER)


# ---------------------------------------------------------------- locations


def create_location(
    ctx: AppContext, *, name: str, kind: str, latitude: float | None, longitude: float | None,
    address: str,
) -> Location:
    """Add a warehouse, store or 3PL location."""
    parsed = check_location(name, kind, latitude, longitude)
    location = Location(ctx.ids.new("loc"), name.strip(), parsed, latitude, longitude, address)
    with ctx.db.transaction() as session:
        store.insert_location(session, location, ctx.clock.now())
    return location


def list_locations(ctx: AppContext) -> list[Location]:
    """Every location."""
    with ctx.db.reader() as session:
        return store.list_locations(session)


def get_location(ctx: AppContext, location_id: str) -> Location:
    """One location (NotFound code unknown_location)."""
    with ctx.db.reader() as session:
        return get_location_in(session, location_id)


# ---------------------------------------------------------------- stock counts and movements


def _locked_row(session: Session, ctx: AppContext, sku: str, location_id: str) -> StockLevel:
    """The (sku, location) row, created empty if new, locked for this transaction."""
    check_sku(sku)
    get_location_in(session, location_id)
    store.ensure_level(session, sku, location_id, ctx.clock.now())
    return store.levels(session, sku, [location_id], lock=True)[0]


def set_stock(
    ctx: AppContext, *, sku: str, location_id: str, on_hand: int | None = None,
    safety_stock: int | None = None, incoming: int | None = None,
) -> StockLevel:
    """Set counted on-hand (a `count` movement), safety stock or incoming for one row."""
    wanted = {"on_hand": on_hand, "safety_stock": safety_stock, "incoming": incoming}
    given = {name: check_count(value, name) for name, value in wanted.items() if value is not None}
    if not given:
        raise InvalidInput("give on_hand, safety_stock or incoming", code="nothing_to_change")

    def work(session: Session) -> StockLevel:
        require_sku(session, sku)
        current = _locked_row(session, ctx, sku, location_id)
        if "on_hand" in given and given["on_hand"] < current.reserved + current.allocated:
            raise Conflict(
                f"{current.reserved + current.allocated} units are reserved or allocated",
                code="on_hand_below_committed",
                details=[{"reserved": current.reserved, "allocated": current.allocated}],
            )
        deltas = {name: value - getattr(current, name) for name, value in given.items()}
        deltas = {name: delta for name, delta in deltas.items() if delta}
        if not deltas:
            return current
        reason = MovementReason.COUNT if "on_hand" in deltas else MovementReason.SETTING
        return apply_change(session, ctx, sku=sku, location_id=location_id, reason=reason,
                            deltas=deltas)

    return ctx.db.run(work)


def record_movement(
    ctx: AppContext, *, sku: str, location_id: str, reason: str, quantity: int,
    to_location_id: str | None = None, note: str | None = None,
) -> list[StockLevel]:
    """A receipt, adjustment (+/-) or transfer to another location; returns the rows after."""
    try:
        parsed = MovementReason(reason)
    except ValueError:
        parsed = None
    if parsed not in MANUAL_REASONS:
        raise InvalidInput("reason must be receipt, adjustment or transfer",
                           code="invalid_reason", details=[{"loc": ["reason"]}])
    if parsed is MovementReason.ADJUSTMENT:
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity == 0 \
                or abs(quantity) > MAX_QUANTITY:
            raise InvalidInput("an adjustment is a non-zero whole number",
                               code="invalid_quantity", details=[{"loc": ["quantity"]}])
    else:
        check_quantity(quantity)
    if parsed is MovementReason.TRANSFER and (to_location_id is None
                                              or to_location_id == location_id):
        raise InvalidInput("a transfer needs a different to_location_id",
                           code="invalid_transfer", details=[{"loc": ["to_location_id"]}])

    def work(session: Session) -> list[StockLevel]:
        require_sku(session, sku)
        if parsed is MovementReason.TRANSFER:
            return _transfer(session, ctx, sku, location_id, str(to_location_id), quantity, note)
        current = _locked_row(session, ctx, sku, location_id)
        if parsed is MovementReason.RECEIPT:
            deltas = {"on_hand": quantity, "incoming": -min(current.incoming, quantity)}
        else:
            current.changed(on_hand=quantity)  # Conflict insufficient_stock if it breaks a rule
            deltas = {"on_hand": quantity}
        return [apply_change(session, ctx, sku=sku, location_id=location_id, reason=parsed,
                             deltas={k: v for k, v in deltas.items() if v}, note=note)]

    return ctx.db.run(work)


def _transfer(
    session: Session, ctx: AppContext, sku: str, source: str, target: str, quantity: int,
    note: str | None,
) -> list[StockLevel]:
    """Move free units between two locations, touching the rows in location-id order."""
    get_location_in(session, source)
    get_location_in(session, target)
    store.ensure_level(session, sku, target, ctx.clock.now())
    store.levels(session, sku, [source, target], lock=True)
    after: dict[str, StockLevel] = {}
    for location_id in sorted((source, target)):
        outgoing = location_id == source
        after[location_id] = apply_change(
            session, ctx, sku=sku, location_id=location_id, reason=MovementReason.TRANSFER,
            deltas={"on_hand": -quantity if outgoing else quantity},
            reference=target if outgoing else source, note=note,
            require_free=quantity if outgoing else None,
        )
    return [after[source], after[target]]


def stock_levels(ctx: AppContext, sku: str) -> list[StockLevel]:
    """Every ledger row of `sku` (NotFound unknown_sku when neither ledger nor catalog knows it)."""
    check_sku(sku)
    with ctx.db.reader() as session:
        rows = store.levels(session, sku)
        if not rows:
            require_sku(session, sku)
        return rows


def movements(
    ctx: AppContext, sku: str, *, location_id: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Newest movements of a sku (NotFound unknown_sku when neither ledger nor catalog knows it)."""
    check_sku(sku)
    with ctx.db.reader() as session:
        found = store.list_movements(session, sku, location_id=location_id, limit=limit)
        if not found and not store.levels(session, sku):
            require_sku(session, sku)
        return found


# ---------------------------------------------------------------- availability


def available_in(session: Session, *, sku: str, channel: StockChannel) -> int:
    """Units of `sku` the channel may promise now (its locations, less buffer, capped)."""
    return channel_availability(store.levels(session, sku, channel.location_ids), channel)


def available_many_in(session: Session, *, skus: Sequence[str], channel: StockChannel
                      ) -> dict[str, int]:
    """`available_in` for many skus at once (feeds): the same figures, read in bulk."""
    rows = store.levels_of(session, skus, channel.location_ids)
    return {sku: channel_availability(rows.get(sku, []), channel) for sku in skus}


def available_by_location_in(
    session: Session, *, sku: str, location_ids: Iterable[str]
) -> dict[str, int]:
    """Available units of `sku` per location (0 where the ledger has no row)."""
    wanted = list(location_ids)
    found = {level.location_id: level.available for level in store.levels(session, sku, wanted)}
    return {location_id: found.get(location_id, 0) for location_id in wanted}


def availability(ctx: AppContext, *, sku: str, channel: str) -> dict[str, Any]:
    """Availability of `sku` for a channel (id or handle), with the per-location figures."""
    check_sku(sku)
    with ctx.db.reader() as session:
        target = channel_in(session, channel)
        rows = store.levels(session, sku, target.location_ids)
        if not rows:
            require_sku(session, sku)
        by_location = {level.location_id: level.available for level in rows}
        return {
            "sku": sku, "channel_id": target.id,
            "available": channel_availability(rows, target),
            "locations": [{"location_id": lid, "available": by_location.get(lid, 0)}
                          for lid in target.location_ids],
        }


# ---------------------------------------------------------------- allocations to orders


def allocate_in(
    session: Session, ctx: AppContext, *, sku: str, quantity: int, location_id: str,
    order_id: str,
) -> StockLevel:
    """Allocate free units at one location to an order (Conflict insufficient_stock)."""
    check_quantity(quantity)
    get_location_in(session, location_id)
    after = apply_change(
        session, ctx, sku=sku, location_id=location_id, reason=MovementReason.ALLOCATION,
        deltas={"allocated": quantity}, reference=order_id, require_free=quantity,
    )
    store_reservations.add_allocation(session, order_id, sku, location_id, quantity,
                                      ctx.clock.now())
    return after


def _order_has(
    session: Session, ctx: AppContext, order_id: str, sku: str, location_id: str, code: str,
    **change: int,
) -> None:
    now = ctx.clock.now()
    if not store_reservations.take_allocation(session, order_id, sku, location_id, now, **change):
        raise Conflict(f"order {order_id} has too few units of {sku!r} at {location_id!r}",
                       code=code, details=[{"order_id": order_id, "sku": sku,
                                            "location_id": location_id}])


def deallocate_in(
    session: Session, ctx: AppContext, *, sku: str, quantity: int, location_id: str,
    order_id: str,
) -> StockLevel:
    """Give units allocated to an order back to availability (Conflict not_allocated)."""
    check_quantity(quantity)
    _order_has(session, ctx, order_id, sku, location_id, "not_allocated", unallocate=quantity)
    return apply_change(
        session, ctx, sku=sku, location_id=location_id, reason=MovementReason.DEALLOCATION,
        deltas={"allocated": -quantity}, reference=order_id,
    )


def ship_in(
    session: Session, ctx: AppContext, *, sku: str, quantity: int, location_id: str,
    order_id: str,
) -> StockLevel:
    """Units allocated to an order leave the location: allocated and on hand drop (a sale)."""
    check_quantity(quantity)
    _order_has(session, ctx, order_id, sku, location_id, "not_allocated",
               unallocate=quantity, ship=quantity)
    return apply_change(
        session, ctx, sku=sku, location_id=location_id, reason=MovementReason.SALE,
        deltas={"allocated": -quantity, "on_hand": -quantity}, reference=order_id,
    )


def receive_return_in(
    session: Session, ctx: AppContext, *, sku: str, quantity: int, location_id: str,
    order_id: str,
) -> StockLevel:
    """Shipped units of an order come back on hand at any location (Conflict not_shipped)."""
    check_quantity(quantity)
    get_location_in(session, location_id)
    if not store_reservations.take_return(session, order_id, sku, quantity, ctx.clock.now()):
        raise Conflict(f"order {order_id} has fewer than {quantity} shipped units of {sku!r}",
                       code="not_shipped", details=[{"order_id": order_id, "sku": sku}])
    store.ensure_level(session, sku, location_id, ctx.clock.now())
    return apply_change(
        session, ctx, sku=sku, location_id=location_id, reason=MovementReason.RETURN,
        deltas={"on_hand": quantity}, reference=order_id,
    )
