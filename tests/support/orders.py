"""Order fixtures: a small retailer (skus, locations, channels, stock) and state snapshots."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from kanaal.catalog.listing_service import create_price_list
from kanaal.channels.domain import Channel
from kanaal.core.context import AppContext
from kanaal.core.outbox import outbox_messages
from kanaal.customers.store import customer_events
from kanaal.inventory import service as inventory
from kanaal.inventory import store as inventory_store
from kanaal.inventory.domain import Location
from kanaal.orders.store import order_allocations, order_lines, order_returns, orders, shipments
from tests.support.catalog import list_variant, make_channel, make_variant
from tests.support.inventory import make_location

AMSTERDAM_CUSTOMER = {"latitude": 52.3702, "longitude": 4.8952, "city": "Amsterdam",
                      "line1": "Dam 1", "postal_code": "1012 JS", "country": "NL"}


@dataclass(frozen=True)
class Retailer:
    """Three skus; a warehouse, two stores and a 3PL; a channel per kind under test."""

    warehouse: Location  # Tilburg, priority 1 on the webshops
    amsterdam: Location  # store
    utrecht: Location  # store
    threepl: Location  # Rotterdam 3PL
    channels: dict[str, Channel]

    def channel(self, name: str) -> Channel:
        """A channel by short name (web, near, fewest, market, pos, phone, b2b, sis, tpl)."""
        return self.channels[name]


def build_retailer(
    ctx: AppContext, *, stock: dict[tuple[str, str], int] | None = None
) -> Retailer:
    """Create the retailer; `stock` maps (sku, location name) → on hand (default plenty)."""
    make_variant(ctx, "TEE", cost_price="4.00", brand="Acme")
    make_variant(ctx, "CAP", cost_price="2.50", brand="Acme")
    make_variant(ctx, "MUG", cost_price="1.00", brand="Other")
    warehouse = make_location(ctx, "Warehouse Tilburg", latitude=51.5555, longitude=5.0913)
    amsterdam = make_location(ctx, "Store Amsterdam", kind="store", latitude=52.3731,
                              longitude=4.8922, address="Kalverstraat 1, Amsterdam")
    utrecht = make_location(ctx, "Store Utrecht", kind="store", latitude=52.0907,
                            longitude=5.1214, address="Oudegracht 10, Utrecht")
    threepl = make_location(ctx, "3PL Rotterdam", kind="3pl", latitude=51.9244,
                            longitude=4.4777, address="Waalhaven 1, Rotterdam")
    places = {"warehouse": warehouse, "amsterdam": amsterdam, "utrecht": utrecht,
              "threepl": threepl}
    levels = stock if stock is not None else {
        (sku, place): 20 for sku in ("TEE", "CAP", "MUG") for place in places
    }
    for (sku, place), units in levels.items():
        inventory.set_stock(ctx, sku=sku, location_id=places[place].id, on_hand=units)
    shops = [warehouse.id, amsterdam.id, utrecht.id]
    price_list = create_price_list(ctx, {"name": "Wholesale", "currency": "EUR", "tiers": [
        {"sku": "TEE", "customer_group": "dealers", "min_quantity": 1,
         "unit_price": Decimal("8.00")},
        {"sku": "TEE", "customer_group": "dealers", "min_quantity": 10,
         "unit_price": Decimal("7.00")},
    ]})
    specs: dict[str, dict[str, Any]] = {
        "web": {"handle": "webshop-nl", "kind": "web", "location_ids": shops},
        "near": {"handle": "webshop-near", "kind": "web", "location_ids": shops,
                 "allocation_strategy": "nearest"},
        "fewest": {"handle": "webshop-fewest", "kind": "web", "location_ids": shops,
                   "allocation_strategy": "fewest_splits"},
        "market": {"handle": "bol-com", "kind": "marketplace", "location_ids": [warehouse.id]},
        "pos": {"handle": "store-amsterdam", "kind": "store", "location_ids": [amsterdam.id]},
        "phone": {"handle": "sales-phone", "kind": "phone", "location_ids": shops},
        "b2b": {"handle": "wholesale", "kind": "b2b", "location_ids": [warehouse.id],
                "price_list_id": price_list.id},
        "sis": {"handle": "acme-at-retailer", "kind": "shop_in_shop",
                "location_ids": [warehouse.id]},
        "tpl": {"handle": "webshop-3pl", "kind": "web", "location_ids": [threepl.id]},
    }
    channels: dict[str, Channel] = {}
    for name, spec in specs.items():
        handle = spec.pop("handle")
        channels[name] = make_channel(ctx, handle, **spec)
        for sku, price in (("TEE", "12.50"), ("CAP", "7.25"), ("MUG", "9.99")):
            list_variant(ctx, channels[name], sku, price)
    return Retailer(warehouse, amsterdam, utrecht, threepl, channels)


def order_body(channel: Channel, *lines: tuple[str, int], **extra: Any) -> dict[str, Any]:
    """A POST /v1/orders body."""
    return {"channel": channel.handle, "currency": channel.currency,
            "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in lines], **extra}


def snapshot(ctx: AppContext) -> dict[str, Any]:
    """Everything an order touches: order rows, ledger counts, movements, outbox, timeline."""
    with ctx.db.reader() as session:
        counts = {
            table.name: int(session.execute(select(func.count()).select_from(table)).scalar_one())
            for table in (orders, order_lines, order_allocations, shipments, order_returns,
                          outbox_messages, customer_events, inventory_store.movements,
                          inventory_store.allocations, inventory_store.reservations)
        }
        levels = sorted(
            (r.sku, r.location_id, r.on_hand, r.reserved, r.allocated)
            for r in session.execute(select(inventory_store.stock)).all()
        )
    return {"counts": counts, "levels": levels}


def level(ctx: AppContext, sku: str, location: Location) -> tuple[int, int, int]:
    """(on_hand, reserved, allocated) of a sku at a location."""
    with ctx.db.reader() as session:
        rows = inventory_store.levels(session, sku, [location.id])
    if not rows:
        return (0, 0, 0)
    return (rows[0].on_hand, rows[0].reserved, rows[0].allocated)
