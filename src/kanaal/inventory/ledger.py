"""The one write path of the stock ledger, shared by the inventory services (never commits).

Every change moves one (sku, location) row by deltas in a single UPDATE, appends a movement
with its reason and publishes `stock.changed` through the outbox, all in the caller's
transaction: either all three happen or none.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kanaal.catalog.service import variant_in
from kanaal.core.context import AppContext
from kanaal.core.errors import Conflict, NotFound
from kanaal.core.outbox import publish_event
from kanaal.inventory import store
from kanaal.inventory.domain import Location, MovementReason, StockLevel

STOCK_TOPIC = "stock.changed"


def get_location_in(session: Session, location_id: str) -> Location:
    """A location by id (NotFound code unknown_location)."""
    location = store.get_location(session, location_id)
    if location is None:
        raise NotFound(f"no location {location_id!r}", code="unknown_location",
                       details=[{"location_id": location_id}])
    return location


def require_sku(session: Session, sku: str) -> None:
    """Refuse a sku the catalog does not know (NotFound code unknown_sku)."""
    variant_in(session, sku)


def insufficient(sku: str, location_id: str, available: int | None = None) -> Conflict:
    """The 409 every refused draw on stock answers."""
    detail: dict[str, Any] = {"sku": sku, "location_id": location_id}
    if available is not None:
        detail["available"] = available
    return Conflict(f"not enough stock of {sku!r} at {location_id!r}",
                    code="insufficient_stock", details=[detail])


def apply_change(
    session: Session, ctx: AppContext, *, sku: str, location_id: str, reason: MovementReason,
    deltas: dict[str, int], reference: str | None = None, note: str | None = None,
    require_free: int | None = None,
) -> StockLevel:
    """Move one ledger row, log the movement and publish the change; Conflict if refused."""
    now = ctx.clock.now()
    try:
        after = store.move(session, sku, location_id, deltas, now, require_free=require_free)
    except IntegrityError as exc:  # the CHECK constraint: the last guard against overselling
        raise insufficient(sku, location_id) from exc
    if after is None:
        raise insufficient(sku, location_id)
    movement_id = ctx.ids.new("mov")
    store.insert_movement(
        session, movement_id=movement_id, level=after, reason=reason, deltas=deltas,
        reference=reference, note=note, now=now,
    )
    publish_event(session, ids=ctx.ids, clock=ctx.clock, topic=STOCK_TOPIC, data={
        "sku": sku, "location_id": location_id, "on_hand": after.on_hand,
        "reserved": after.reserved, "allocated": after.allocated, "available": after.available,
        "reason": reason.value, "movement_id": movement_id, "reference": reference,
    })
    return after
