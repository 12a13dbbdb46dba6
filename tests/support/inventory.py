"""Inventory fixtures for tests of any feature: locations, stocked skus, ledger checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from kanaal.channels.domain import Channel
from kanaal.core.context import AppContext
from kanaal.inventory import service, store, store_reservations
from kanaal.inventory.domain import Location, StockLevel
from tests.support.catalog import make_channel, make_variant


def make_location(
    ctx: AppContext, name: str = "Main warehouse", *, kind: str = "warehouse",
    latitude: float | None = 52.37, longitude: float | None = 4.89,
    address: str = "Damrak 1, 1012 LG Amsterdam",
) -> Location:
    """Create a location."""
    return service.create_location(ctx, name=name, kind=kind, latitude=latitude,
                                   longitude=longitude, address=address)


@dataclass(frozen=True)
class StockedWorld:
    """A sku stocked at two locations and a channel drawing on both (first has priority)."""

    sku: str
    first: Location
    second: Location
    channel: Channel


def stocked_world(
    ctx: AppContext, *, sku: str = "TEE-RED-M", first: int = 6, second: int = 4,
    handle: str = "webshop-nl", **channel_fields: Any,
) -> StockedWorld:
    """A variant, two locations with `first` and `second` units on hand, and a web channel."""
    make_variant(ctx, sku)
    warehouse = make_location(ctx, "Warehouse Tilburg", latitude=51.56, longitude=5.09)
    shop = make_location(ctx, "Store Utrecht", kind="store", latitude=52.09, longitude=5.12,
                         address="Oudegracht 10, Utrecht")
    for location, units in ((warehouse, first), (shop, second)):
        service.set_stock(ctx, sku=sku, location_id=location.id, on_hand=units)
    channel = make_channel(ctx, handle, location_ids=[warehouse.id, shop.id], **channel_fields)
    return StockedWorld(sku, warehouse, shop, channel)


def ledger_rows(ctx: AppContext, sku: str) -> dict[str, StockLevel]:
    """The ledger rows of `sku` keyed by location id."""
    with ctx.db.reader() as session:
        return {level.location_id: level for level in store.levels(session, sku)}


def ledger_problems(ctx: AppContext, sku: str) -> list[str]:
    """Everything that does not add up for `sku` (empty when the ledger is consistent).

    Per row: the invariants hold, replaying the movement log gives the row's counts,
    reserved equals the active reservations' lines and allocated the orders' allocations.
    """
    problems: list[str] = []
    with ctx.db.reader() as session:
        for level in store.levels(session, sku):
            where = f"{sku}@{level.location_id}"
            problems += [f"{where}: {p}" for p in level.problems()]
            replayed = store.movement_totals(session, sku, level.location_id)
            counts = {name: getattr(level, name) for name in store.COUNTS}
            if replayed != counts:
                problems.append(f"{where}: movements give {replayed}, row has {counts}")
            held = store_reservations.active_reserved(session, sku, level.location_id)
            if held != level.reserved:
                problems.append(f"{where}: reservations hold {held}, row has {level.reserved}")
            owed = store_reservations.allocated_total(session, sku, level.location_id)
            if owed != level.allocated:
                problems.append(f"{where}: orders hold {owed}, row has {level.allocated}")
    return problems


def count_rows(ctx: AppContext, table: Any) -> int:
    """Rows in a table (to prove that nothing was written)."""
    with ctx.db.reader() as session:
        return int(session.execute(select(func.count()).select_from(table)).scalar_one())
