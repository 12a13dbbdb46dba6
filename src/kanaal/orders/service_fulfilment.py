"""After placement: shipments and carrier updates, cancellations and returns."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session

from kanaal.core.context import AppContext
from kanaal.core.errors import Conflict, InvalidInput, NotFound
from kanaal.core.idempotency import run_idempotent
from kanaal.inventory.service import deallocate_in, get_location_in, receive_return_in, ship_in
from kanaal.orders import store
from kanaal.orders.domain import (
    CANCELLABLE,
    Order,
    OrderStatus,
    ShipmentStatus,
    ensure_shipment_transition,
    ensure_transition,
    fully_returned,
    plan_return,
    plan_shipment,
    segment_products,
    status_after_shipping,
)
from kanaal.orders.service_common import (
    FULFILMENT_CANCELLED,
    load_order_in,
    order_json,
    record_order_event,
    request_3pl_fulfilment,
    shipment_json,
    three_pl_locations,
)

SHIPPABLE = frozenset({OrderStatus.ALLOCATED, OrderStatus.PARTIALLY_FULFILLED})


def _requested(lines: list[dict[str, Any]] | None) -> dict[str, int] | None:
    """Line id → units, refusing a line named twice."""
    if lines is None:
        return None
    wanted: dict[str, int] = {}
    for i, raw in enumerate(lines):
        if raw["line_id"] in wanted:
            raise InvalidInput(f"line {raw['line_id']} appears twice", code="duplicate_line",
                               details=[{"loc": ["body", "lines", i, "line_id"]}])
        wanted[raw["line_id"]] = raw["quantity"]
    return wanted


def _ship(session: Session, ctx: AppContext, order_id: str, body: dict[str, Any]) -> dict[str, Any]:
    order, _row = load_order_in(session, order_id, lock=True)
    if order.status not in SHIPPABLE:
        raise Conflict(f"an order that is {order.status.value} cannot ship",
                       code="order_not_shippable")
    requested = _requested(body.get("lines"))
    if requested is not None:
        for line_id in requested:
            order.line(line_id)
    location_id, taken = plan_shipment(order.allocations, requested, body.get("location_id"))
    units: dict[str, int] = {}
    for alloc, n in taken:
        units[alloc.line_id] = units.get(alloc.line_id, 0) + n
    per_sku: dict[str, int] = {}
    for alloc, n in taken:
        per_sku[alloc.sku] = per_sku.get(alloc.sku, 0) + n
    for sku, n in sorted(per_sku.items()):
        ship_in(session, ctx, sku=sku, quantity=n, location_id=location_id, order_id=order.id)
    for line_id, n in units.items():
        store.add_shipped(session, order.id, line_id, location_id, n)
    lines = tuple(replace(line, shipped=line.shipped + units.get(line.id, 0))
                  for line in order.lines)
    status = status_after_shipping(lines)
    ensure_transition(order.status, status)
    now = ctx.clock.now()
    store.set_status(session, order.id, status, now)
    shipment_id = ctx.ids.new("shp")
    sku_of = {line.id: line.sku for line in order.lines}
    store.insert_shipment(session, {
        "id": shipment_id, "order_id": order.id, "location_id": location_id,
        "carrier": body["carrier"], "tracking_number": body.get("tracking_number"),
        "status": ShipmentStatus.SHIPPED.value,
        "lines": [{"line_id": k, "sku": sku_of[k], "quantity": v} for k, v in units.items()],
        "created_at": now, "updated_at": now,
    })
    record_order_event(session, ctx, order, event="Order Shipped", message_id=f"{shipment_id}",
                       properties={
                           "order_id": order.id, "shipment_id": shipment_id,
                           "carrier": body["carrier"],
                           "tracking_number": body.get("tracking_number"),
                           "currency": order.currency,
                           "products": segment_products(order.lines, units),
                       })
    row = store.get_shipment(session, shipment_id)
    return shipment_json(row)


def create_shipment(
    ctx: AppContext, order_id: str, body: dict[str, Any], *, idempotency_key: str | None = None
) -> dict[str, Any]:
    """Ship open units from one location: stock leaves the ledger, "Order Shipped" is recorded."""
    result, _ = run_idempotent(
        ctx.db, ctx.clock, scope=f"shipments:{order_id}", key=idempotency_key, request=body,
        work=lambda session: _ship(session, ctx, order_id, body),
    )
    return result


def update_shipment_status(ctx: AppContext, shipment_id: str, status: str) -> dict[str, Any]:
    """A carrier update; when every parcel of a fulfilled order arrived, it is delivered."""
    target = ShipmentStatus(status)

    def work(session: Session) -> dict[str, Any]:
        row = store.get_shipment(session, shipment_id, lock=True)
        if row is None:
            raise NotFound(f"no shipment {shipment_id!r}", code="unknown_shipment")
        order, _ = load_order_in(session, row.order_id, lock=True)
        ensure_shipment_transition(ShipmentStatus(row.status), target)
        now = ctx.clock.now()
        store.set_shipment_status(session, shipment_id, target.value, now)
        if target is ShipmentStatus.DELIVERED and order.status is OrderStatus.FULFILLED:
            parcels = store.order_shipments(session, order.id)
            if all(p.status == ShipmentStatus.DELIVERED.value for p in parcels):
                store.set_status(session, order.id, OrderStatus.DELIVERED, now)
        return shipment_json(store.get_shipment(session, shipment_id))

    return ctx.db.run(work)


def cancel_order(ctx: AppContext, order_id: str, *, reason: str | None) -> dict[str, Any]:
    """Cancel an order nothing of which has shipped: its stock goes back, the 3PL is told."""

    def work(session: Session) -> dict[str, Any]:
        order, _ = load_order_in(session, order_id, lock=True)
        if order.status not in CANCELLABLE:
            raise Conflict(f"an order that is {order.status.value} cannot be cancelled",
                           code="order_not_cancellable",
                           details=[{"status": order.status.value}])
        ensure_transition(order.status, OrderStatus.CANCELLED)
        per_place: dict[tuple[str, str], int] = {}
        for a in order.allocations:
            per_place[(a.sku, a.location_id)] = per_place.get((a.sku, a.location_id), 0) + a.open
        for (sku, location_id), n in sorted(per_place.items()):
            if n:
                deallocate_in(session, ctx, sku=sku, quantity=n, location_id=location_id,
                              order_id=order.id)
        request_3pl_fulfilment(session, ctx, order, three_pl_locations(session, order),
                               topic=FULFILMENT_CANCELLED)
        store.set_status(session, order.id, OrderStatus.CANCELLED, ctx.clock.now(),
                         cancel_reason=reason)
        record_order_event(session, ctx, order, event="Order Cancelled",
                           message_id=f"{order.id}:cancelled", properties={
                               "order_id": order.id, "total": float(order.totals.total),
                               "currency": order.currency, "reason": reason,
                               "products": segment_products(order.lines),
                           })
        return order_json(session, order.id)

    return ctx.db.run(work)


def _return_location(session: Session, order: Order, line_id: str, given: str | None) -> str:
    if given is not None:
        try:
            get_location_in(session, given)
        except NotFound as exc:
            raise InvalidInput(f"no location {given!r}", code="unknown_location",
                               details=[{"loc": ["body", "location_id"]}]) from exc
        return given
    return next(a.location_id for a in order.allocations if a.line_id == line_id and a.shipped)


def create_return(ctx: AppContext, order_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Shipped units come back on hand; the refund is recorded and "Order Refunded" emitted."""

    def work(session: Session) -> dict[str, Any]:
        order, _ = load_order_in(session, order_id, lock=True)
        requested = _requested(body["lines"]) or {}
        refund = plan_return(order, requested)
        given = body.get("location_id")
        places = {line_id: _return_location(session, order, line_id, given)
                  for line_id in requested}
        for line_id, n in sorted(requested.items()):
            line = order.line(line_id)
            receive_return_in(session, ctx, sku=line.sku, quantity=n,
                              location_id=places[line_id], order_id=order.id)
            store.add_returned(session, line_id, n)
        now = ctx.clock.now()
        store.add_refund(session, order.id, refund, now)
        lines = tuple(replace(line, returned=line.returned + requested.get(line.id, 0))
                      for line in order.lines)
        status = order.status
        if fully_returned(lines):
            ensure_transition(order.status, OrderStatus.RETURNED)
            status = OrderStatus.RETURNED
            store.set_status(session, order.id, status, now)
        return_id = ctx.ids.new("ret")
        returned = [{"line_id": k, "sku": order.line(k).sku, "quantity": v,
                     "location_id": places[k]} for k, v in requested.items()]
        store.insert_return(session, {
            "id": return_id, "order_id": order.id, "location_id": given or places[
                next(iter(requested))], "reason": body.get("reason"), "refund": refund,
            "currency": order.currency, "lines": returned, "created_at": now,
        })
        record_order_event(session, ctx, order, event="Order Refunded",
                           message_id=f"{return_id}", properties={
                               "order_id": order.id, "total": float(refund),
                               "currency": order.currency,
                               "products": segment_products(order.lines, requested),
                           })
        return {"id": return_id, "order_id": order.id, "location_id": given or places[
            next(iter(requested))], "refund": str(refund), "currency": order.currency,
                "lines": returned, "order_status": status.value}

    return ctx.db.run(work)
