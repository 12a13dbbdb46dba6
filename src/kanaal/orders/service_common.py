"""Helpers shared by the order use cases: loading, JSON views, timeline events, 3PL handoff."""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from kanaal.core.context import AppContext
from kanaal.core.errors import NotFound
from kanaal.core.money import quantize
from kanaal.core.outbox import publish_event
from kanaal.orders import store
from kanaal.orders.domain import Order

FULFILMENT_REQUESTED = "fulfilment.requested"
FULFILMENT_CANCELLED = "fulfilment.cancelled"
EVENT_SOURCE = "orders"


def load_order_in(session: Session, order_id: str, *, lock: bool = False) -> tuple[Order, Any]:
    """The order and its row, or NotFound `unknown_order`."""
    found = store.load_order(session, order_id, lock=lock)
    if found is None:
        raise NotFound(f"no order {order_id!r}", code="unknown_order")
    return found


def price_text(amount: Decimal) -> str:
    """A unit price as text: cents when that is exact ("12.50"), else every digit ("0.1235")."""
    cents = quantize(amount)
    return str(cents) if cents == amount else str(amount.normalize())


def shipment_json(row: Any) -> dict[str, Any]:
    """A shipment row as the API shows it."""
    return {
        "id": row.id, "order_id": row.order_id, "location_id": row.location_id,
        "carrier": row.carrier, "tracking_number": row.tracking_number, "status": row.status,
        "lines": list(row.lines), "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
    }


def order_json(session: Session, order_id: str) -> dict[str, Any]:
    """The order with lines, allocations and shipments, as the API shows it."""
    order, row = load_order_in(session, order_id)
    return {
        "id": order.id, "channel_id": order.channel_id, "channel_kind": order.channel_kind,
        "status": order.status.value, "currency": order.currency,
        "subtotal": str(order.totals.subtotal), "shipping": str(order.totals.shipping),
        "total": str(order.totals.total), "refunded": str(row.refunded_total),
        "fulfilment": order.fulfilment.value, "pickup_location_id": order.pickup_location_id,
        "shipping_address": order.shipping_address, "customer_id": order.customer_id,
        "external_id": order.external_id, "agent_id": order.agent_id,
        "credited_to": order.credited_to, "attributed_brand": order.attributed_brand,
        "customer_group": order.customer_group, "cancel_reason": row.cancel_reason,
        "created_at": order.created_at.isoformat(),
        "lines": [
            {"id": line.id, "sku": line.sku, "title": line.title, "brand": line.brand,
             "quantity": line.quantity, "unit_price": price_text(line.unit_price),
             "line_total": str(line.line_total), "shipped": line.shipped,
             "returned": line.returned, "reservation_id": line.reservation_id}
            for line in order.lines
        ],
        "allocations": [
            {"line_id": a.line_id, "sku": a.sku, "location_id": a.location_id,
             "quantity": a.quantity, "shipped": a.shipped}
            for a in order.allocations
        ],
        "shipments": [shipment_json(s) for s in store.order_shipments(session, order.id)],
    }


def record_order_event(
    session: Session, ctx: AppContext, order: Order, *, event: str,
    properties: dict[str, Any], message_id: str,
    identities: Mapping[str, str] | None = None,
) -> str | None:
    """Put an order event on the customer's timeline (same transaction); returns customer id.

    Anonymous orders (no identity and no customer id) have no timeline and record nothing.
    """
    ids = {k: v for k, v in (identities or {}).items() if v}
    if not ids and order.customer_id is None:
        return None
    collect: Any = importlib.import_module("kanaal.collect.service")
    customer_id: str = collect.record_event(
        session, ctx, type="track", event=event, identities=ids,
        customer_id=order.customer_id, properties=properties, channel=order.channel_kind,
        source=EVENT_SOURCE, message_id=message_id, timestamp=ctx.clock.now(),
    )
    return customer_id


def three_pl_locations(session: Session, order: Order) -> list[str]:
    """The order's allocation locations that are third-party logistics sites."""
    inventory: Any = importlib.import_module("kanaal.inventory.service")
    places = sorted({a.location_id for a in order.allocations})
    return [p for p in places if inventory.get_location_in(session, p).kind == "3pl"]


def request_3pl_fulfilment(
    session: Session, ctx: AppContext, order: Order, location_ids: Iterable[str],
    *, topic: str = FULFILMENT_REQUESTED,
) -> None:
    """Hand the parts of an order held at 3PL locations to the 3PL as signed webhooks."""
    for location_id in location_ids:
        lines = [
            {"line_id": a.line_id, "sku": a.sku, "quantity": a.quantity - a.shipped}
            for a in order.allocations if a.location_id == location_id and a.quantity > a.shipped
        ]
        if not lines:
            continue
        publish_event(session, ids=ctx.ids, clock=ctx.clock, topic=topic, data={
            "order_id": order.id, "location_id": location_id, "channel_id": order.channel_id,
            "shipping_address": dict(order.shipping_address) if order.shipping_address else None,
            "lines": lines,
        })
