"""Orders API: place orders from any channel, read them, ship, cancel and return."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from kanaal.core.http import Ctx, IdempotencyKey, ReadKey, WriteKey
from kanaal.orders import service, service_fulfilment
from kanaal.orders.schemas import (
    CancelIn,
    OrderIn,
    OrderListOut,
    OrderOut,
    ReturnIn,
    ReturnOut,
    ShipmentIn,
    ShipmentOut,
    ShipmentStatusIn,
)

router = APIRouter(prefix="/v1", tags=["orders"])


@router.post("/orders", status_code=status.HTTP_201_CREATED, response_model=OrderOut,
             responses={200: {"model": OrderOut, "description": "a re-imported external order"}})
def create_order(
    body: OrderIn, response: Response, ctx: Ctx, _key: WriteKey, idempotency_key: IdempotencyKey
) -> OrderOut:
    """Place an order (201); re-importing an external order with the same content answers 200."""
    order, created = service.create_order(
        ctx, body.model_dump(mode="json"), idempotency_key=idempotency_key
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return OrderOut.model_validate(order)


@router.get("/orders", response_model=OrderListOut)
def list_orders(
    ctx: Ctx, _key: ReadKey,
    customer_id: Annotated[str | None, Query(max_length=40)] = None,
    channel: Annotated[str | None, Query(max_length=64)] = None,
    order_status: Annotated[str | None, Query(alias="status", max_length=24)] = None,
    limit: int = 50,
) -> OrderListOut:
    """Orders, newest first, filtered by customer, channel and status."""
    orders = service.list_orders(ctx, customer_id=customer_id, channel=channel,
                                 status=order_status, limit=limit)
    return OrderListOut(orders=[OrderOut.model_validate(o) for o in orders])


@router.get("/orders/{order_id}", response_model=OrderOut)
def get_order(order_id: str, ctx: Ctx, _key: ReadKey) -> OrderOut:
    """One order with its lines, allocations and shipments."""
    return OrderOut.model_validate(service.get_order(ctx, order_id))


@router.post("/orders/{order_id}/cancel", response_model=OrderOut)
def cancel_order(order_id: str, ctx: Ctx, _key: WriteKey, body: CancelIn | None = None) -> OrderOut:
    """Cancel an order before anything shipped; allocated stock is released."""
    reason = body.reason if body else None
    return OrderOut.model_validate(service_fulfilment.cancel_order(ctx, order_id, reason=reason))


@router.post("/orders/{order_id}/returns", status_code=status.HTTP_201_CREATED,
             response_model=ReturnOut)
def create_return(order_id: str, body: ReturnIn, ctx: Ctx, _key: WriteKey) -> ReturnOut:
    """Take shipped units back into stock and record the refund."""
    result = service_fulfilment.create_return(ctx, order_id, body.model_dump(mode="json"))
    return ReturnOut.model_validate(result)


@router.post("/orders/{order_id}/shipments", status_code=status.HTTP_201_CREATED,
             response_model=ShipmentOut)
def create_shipment(
    order_id: str, body: ShipmentIn, ctx: Ctx, _key: WriteKey, idempotency_key: IdempotencyKey
) -> ShipmentOut:
    """Ship open units from one location with a carrier and tracking number."""
    result = service_fulfilment.create_shipment(
        ctx, order_id, body.model_dump(mode="json"), idempotency_key=idempotency_key
    )
    return ShipmentOut.model_validate(result)


@router.post("/shipments/{shipment_id}/status", response_model=ShipmentOut)
def update_shipment_status(
    shipment_id: str, body: ShipmentStatusIn, ctx: Ctx, _key: WriteKey
) -> ShipmentOut:
    """Record a carrier update (in_transit, out_for_delivery, delivered, failed)."""
    return ShipmentOut.model_validate(
        service_fulfilment.update_shipment_status(ctx, shipment_id, body.status)
    )
