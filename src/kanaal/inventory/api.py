"""Inventory HTTP API: locations, the stock ledger, availability and reservations."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Query, Response, status
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope

from kanaal.core.context import AppContext
from kanaal.core.http import Ctx, IdempotencyKey, ReadKey, WriteKey
from kanaal.inventory import reservations, service
from kanaal.inventory.reservations import EXPIRY_BATCH
from kanaal.inventory.schemas import (
    AvailabilityOut,
    ConfirmIn,
    LocationIn,
    LocationOut,
    MovementIn,
    MovementOut,
    MovementsOut,
    ReservationIn,
    ReservationOut,
    StockIn,
    StockList,
    StockOut,
)

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["inventory"])


@router.post("/locations", status_code=status.HTTP_201_CREATED, response_model=LocationOut)
def create_location(body: LocationIn, ctx: Ctx, _key: WriteKey) -> LocationOut:
    """Add a warehouse, store or 3PL location with coordinates and address."""
    return LocationOut.of(service.create_location(
        ctx, name=body.name, kind=body.kind, latitude=body.latitude, longitude=body.longitude,
        address=body.address,
    ))


@router.get("/locations", response_model=list[LocationOut])
def list_locations(ctx: Ctx, _key: ReadKey) -> list[LocationOut]:
    """Every location."""
    return [LocationOut.of(location) for location in service.list_locations(ctx)]


@router.get("/locations/{location_id}", response_model=LocationOut)
def get_location(location_id: str, ctx: Ctx, _key: ReadKey) -> LocationOut:
    """One location."""
    return LocationOut.of(service.get_location(ctx, location_id))


@router.put("/inventory/{sku:path}/{location_id}", response_model=StockOut)
def set_stock(sku: str, location_id: str, body: StockIn, ctx: Ctx, _key: WriteKey) -> StockOut:
    """Set counted on hand (a `count` movement), safety stock or incoming."""
    return StockOut.of(service.set_stock(
        ctx, sku=sku, location_id=location_id, on_hand=body.on_hand,
        safety_stock=body.safety_stock, incoming=body.incoming,
    ))


@router.post("/inventory/{sku:path}/{location_id}/movements", status_code=status.HTTP_201_CREATED,
             response_model=MovementsOut)
def record_movement(
    sku: str, location_id: str, body: MovementIn, ctx: Ctx, _key: WriteKey
) -> MovementsOut:
    """A receipt, an adjustment (+/-) or a transfer to `to_location_id`."""
    rows = service.record_movement(
        ctx, sku=sku, location_id=location_id, reason=body.reason, quantity=body.quantity,
        to_location_id=body.to_location_id, note=body.note,
    )
    return MovementsOut(locations=[StockOut.of(row) for row in rows])


class _SlashBeforeSuffixRoute(APIRoute):
    """A route ending in a literal `/movements` that an encoded slash there does not match.

    Skus may hold "/" (BOX/12), and routing sees the decoded path, so GET
    /inventory/A%2Fmovements (the sku `A/movements`) would read as the movements of `A`. The
    raw path still tells them apart: with `%2F` before the suffix the request is left to the
    next route (the sku's rows).
    """

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        raw = scope.get("raw_path") or b""
        if match is not Match.NONE and raw.lower().endswith(b"%2fmovements"):
            return Match.NONE, {}
        return match, child


def list_movements(
    sku: str, ctx: Ctx, _key: ReadKey, location_id: str | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[MovementOut]:
    """The newest movements of a sku (optionally at one location)."""
    rows = service.movements(ctx, sku, location_id=location_id, limit=limit)
    return [MovementOut.model_validate(row) for row in rows]


# Skus may hold "/" (BOX/12): the `path` converter takes them whole. The movements route is
# declared first, so GET /inventory/BOX/12/movements lists movements of BOX/12, and GET
# /inventory/A%2Fmovements reads the rows of the sku `A/movements`.
router.add_api_route("/inventory/{sku:path}/movements", list_movements, methods=["GET"],
                     response_model=list[MovementOut],
                     route_class_override=_SlashBeforeSuffixRoute)


@router.get("/inventory/{sku:path}", response_model=StockList)
def get_stock(sku: str, ctx: Ctx, _key: ReadKey) -> StockList:
    """A sku's ledger rows per location."""
    return StockList(sku=sku, locations=[StockOut.of(r) for r in service.stock_levels(ctx, sku)])


@router.get("/availability/{sku:path}", response_model=AvailabilityOut)
def get_availability(
    sku: str, ctx: Ctx, _key: ReadKey, channel: str = Query(min_length=1, max_length=64)
) -> AvailabilityOut:
    """Units of a sku the channel may promise now."""
    return AvailabilityOut.model_validate(service.availability(ctx, sku=sku, channel=channel))


@router.post("/reservations", status_code=status.HTTP_201_CREATED,
             response_model=ReservationOut)
def create_reservation(
    body: ReservationIn, ctx: Ctx, _key: WriteKey, idempotency_key: IdempotencyKey,
    response: Response,
) -> ReservationOut:
    """Hold stock for a cart or checkout; 409 insufficient_stock when the channel lacks it."""
    result, replayed = reservations.create_reservation(
        ctx, sku=body.sku, quantity=body.quantity, channel=body.channel,
        ttl_seconds=body.ttl_seconds, reference=body.reference, idempotency_key=idempotency_key,
    )
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return ReservationOut.of(result)


@router.get("/reservations/{reservation_id}", response_model=ReservationOut)
def get_reservation(reservation_id: str, ctx: Ctx, _key: ReadKey) -> ReservationOut:
    """One reservation."""
    return ReservationOut.of(reservations.get_reservation(ctx, reservation_id))


@router.post("/reservations/{reservation_id}/confirm", response_model=ReservationOut)
def confirm_reservation(
    reservation_id: str, ctx: Ctx, _key: WriteKey, body: ConfirmIn | None = None
) -> ReservationOut:
    """Turn a reservation into an allocation to an order (generated when not given)."""
    order_id = body.order_id if body else None
    return ReservationOut.of(reservations.confirm_reservation(ctx, reservation_id,
                                                              order_id=order_id))


@router.delete("/reservations/{reservation_id}", response_model=ReservationOut)
def release_reservation(reservation_id: str, ctx: Ctx, _key: WriteKey) -> ReservationOut:
    """Give a reservation's units back (a no-op when already released or expired)."""
    return ReservationOut.of(reservations.release_reservation(ctx, reservation_id))


async def expire_reservations_worker(ctx: AppContext, stop: asyncio.Event) -> None:
    """Background sweeper: expires reservations whose TTL passed."""
    interval = float(ctx.param("inventory.sweep_seconds", 5.0))
    while not stop.is_set():
        try:
            expired = await asyncio.to_thread(service.expire_reservations, ctx)
        except Exception:  # noqa: BLE001 - keep sweeping; the next pass retries
            log.exception("reservation sweep failed")
            expired = 0
        if expired >= EXPIRY_BATCH:
            continue  # a full batch: more may be due, sweep again at once
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            pass


workers = [expire_reservations_worker]
