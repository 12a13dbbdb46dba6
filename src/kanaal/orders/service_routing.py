"""Routing an order's lines to locations and allocating the stock, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from kanaal.channels.domain import Channel
from kanaal.core.context import AppContext
from kanaal.core.errors import InvalidInput, NotFound
from kanaal.inventory.domain import Location
from kanaal.inventory.service import allocate_in, available_by_location_in, get_location_in
from kanaal.orders.domain import AllocationState, Fulfilment
from kanaal.orders.routing import Candidate, Point, RouteLine, Strategy, route_order


def _location(session: Session, location_id: str, field: str) -> Location:
    try:
        return get_location_in(session, location_id)
    except NotFound as exc:
        raise InvalidInput(f"no location {location_id!r}", code="unknown_location",
                           details=[{"loc": ["body", "fulfilment", field]}]) from exc


def destination_of(address: Mapping[str, Any] | None) -> Point | None:
    """The shipping address's coordinates, when it has both (InvalidInput otherwise)."""
    if not address:
        return None
    latitude, longitude = address.get("latitude"), address.get("longitude")
    if latitude is None and longitude is None:
        return None
    if latitude is None or longitude is None:
        raise InvalidInput("give both latitude and longitude, or neither",
                           code="invalid_coordinates",
                           details=[{"loc": ["body", "fulfilment", "address"]}])
    return Point(float(latitude), float(longitude))


def _candidate_ids(
    session: Session, channel: Channel, method: Fulfilment, location_id: str | None
) -> list[str]:
    if method is Fulfilment.SHIP:
        return list(channel.location_ids)
    if location_id is None:
        raise InvalidInput(f"{method.value} needs the store's location_id",
                           code="location_required",
                           details=[{"loc": ["body", "fulfilment", "location_id"]}])
    if _location(session, location_id, "location_id").kind != "store":
        raise InvalidInput(f"location {location_id} is not a store",
                           code="invalid_pickup_location",
                           details=[{"loc": ["body", "fulfilment", "location_id"]}])
    return [location_id]


def route_lines(
    session: Session, ctx: AppContext, channel: Channel, order_id: str,
    lines: Sequence[RouteLine], fulfilment: Mapping[str, Any],
) -> list[AllocationState]:
    """Route `lines` by the channel's strategy (or to the chosen store) and allocate them."""
    method = Fulfilment(fulfilment.get("method", Fulfilment.SHIP))
    destination = destination_of(fulfilment.get("address"))
    if not lines:
        return []
    ids = _candidate_ids(session, channel, method, fulfilment.get("location_id"))
    skus = sorted({line.sku for line in lines})
    stock = {sku: available_by_location_in(session, sku=sku, location_ids=ids) for sku in skus}
    candidates = []
    for priority, location_id in enumerate(ids):
        location = _location(session, location_id, "location_id")
        point = None
        if location.latitude is not None and location.longitude is not None:
            point = Point(location.latitude, location.longitude)
        candidates.append(Candidate(
            location_id, priority, point, {sku: stock[sku][location_id] for sku in skus},
            kind=str(location.kind),
        ))
    plan = route_order(
        lines, candidates, strategy=Strategy(channel.allocation_strategy),
        destination=destination,
        pickup_location_id=None if method is Fulfilment.SHIP else ids[0],
        allow_split=bool(fulfilment.get("allow_split", True)),
    )
    # Draw on the ledger per (sku, location) in one fixed order, so concurrent orders lock
    # rows in the same sequence and cannot deadlock.
    totals: dict[tuple[str, str], int] = {}
    for a in plan.allocations:
        totals[(a.sku, a.location_id)] = totals.get((a.sku, a.location_id), 0) + a.quantity
    for (sku, location_id), units in sorted(totals.items()):
        allocate_in(session, ctx, sku=sku, quantity=units, location_id=location_id,
                    order_id=order_id)
    return [AllocationState(a.line_id, a.sku, a.location_id, a.quantity)
            for a in plan.allocations]
