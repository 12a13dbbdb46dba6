"""Queries of reservations and of allocations to orders (never commits)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kanaal.core.db import rowcount
from kanaal.inventory.domain import Reservation, ReservationLine, ReservationStatus
from kanaal.inventory.store import allocations, dialect_insert, reservation_lines, reservations

# ---------------------------------------------------------------- reservations


def insert_reservation(session: Session, reservation: Reservation) -> None:
    """Store a new reservation and its lines."""
    session.execute(reservations.insert(), {
        "id": reservation.id, "sku": reservation.sku, "channel_id": reservation.channel_id,
        "quantity": reservation.quantity, "status": reservation.status.value,
        "reference": reservation.reference, "order_id": reservation.order_id,
        "expires_at": reservation.expires_at, "created_at": reservation.created_at,
        "closed_at": None,
    })
    session.execute(reservation_lines.insert(), [
        {"reservation_id": reservation.id, "location_id": line.location_id,
         "quantity": line.quantity}
        for line in reservation.lines
    ])


def get_reservation(session: Session, reservation_id: str) -> Reservation | None:
    """One reservation with its lines, or None."""
    row = session.execute(select(reservations).where(reservations.c.id == reservation_id)).first()
    if row is None:
        return None
    lines = session.execute(
        select(reservation_lines.c.location_id, reservation_lines.c.quantity)
        .where(reservation_lines.c.reservation_id == reservation_id)
        .order_by(reservation_lines.c.location_id)
    )
    return Reservation(
        id=row.id, sku=row.sku, quantity=row.quantity, channel_id=row.channel_id,
        status=ReservationStatus(row.status),
        lines=tuple(ReservationLine(line.location_id, line.quantity) for line in lines),
        reference=row.reference, order_id=row.order_id, expires_at=row.expires_at,
        created_at=row.created_at, closed_at=row.closed_at,
    )


def close_reservation(
    session: Session, reservation_id: str, status: ReservationStatus, now: datetime,
    *, order_id: str | None = None,
) -> bool:
    """Move an active reservation to `status`; False if it was no longer active.

    The status condition makes confirm, release and expiry mutually exclusive: whichever
    UPDATE runs first wins, the others match no row.
    """
    values: dict[str, Any] = {"status": status.value, "closed_at": now}
    if order_id is not None:
        values["order_id"] = order_id
    result = session.execute(
        update(reservations)
        .where(reservations.c.id == reservation_id,
               reservations.c.status == ReservationStatus.ACTIVE.value)
        .values(**values)
    )
    return rowcount(result) == 1


def due_reservation_ids(session: Session, now: datetime, limit: int) -> list[str]:
    """Active reservations whose expiry time has passed, oldest first."""
    rows = session.execute(
        select(reservations.c.id)
        .where(reservations.c.status == ReservationStatus.ACTIVE.value,
               reservations.c.expires_at <= now)
        .order_by(reservations.c.expires_at, reservations.c.id)
        .limit(limit)
    )
    return [row.id for row in rows]


def active_reserved(session: Session, sku: str, location_id: str) -> int:
    """Units held by active reservations at one location (must equal the row's reserved)."""
    value = session.execute(
        select(func.coalesce(func.sum(reservation_lines.c.quantity), 0))
        .join(reservations, reservations.c.id == reservation_lines.c.reservation_id)
        .where(reservations.c.sku == sku, reservation_lines.c.location_id == location_id,
               reservations.c.status == ReservationStatus.ACTIVE.value)
    ).scalar_one()
    return int(value)


# ---------------------------------------------------------------- allocations to orders


def add_allocation(
    session: Session, order_id: str, sku: str, location_id: str, quantity: int, now: datetime
) -> None:
    """Record `quantity` more units allocated to an order at a location."""
    statement = dialect_insert(session, allocations).values(
        order_id=order_id, sku=sku, location_id=location_id, allocated=quantity, shipped=0,
        returned=0, updated_at=now,
    )
    statement = statement.on_conflict_do_update(
        index_elements=["order_id", "sku", "location_id"],
        set_={"allocated": allocations.c.allocated + quantity, "updated_at": now},
    )
    session.execute(statement)


def take_allocation(
    session: Session, order_id: str, sku: str, location_id: str, now: datetime,
    *, unallocate: int = 0, ship: int = 0,
) -> bool:
    """Release or ship an order's allocated units; False when the order has too few."""
    condition = [allocations.c.order_id == order_id, allocations.c.sku == sku,
                 allocations.c.location_id == location_id]
    if unallocate:
        condition.append(allocations.c.allocated >= unallocate)
    result = session.execute(
        update(allocations).where(*condition).values(
            allocated=allocations.c.allocated - unallocate,
            shipped=allocations.c.shipped + ship,
            updated_at=now,
        )
    )
    return rowcount(result) == 1


def take_return(
    session: Session, order_id: str, sku: str, quantity: int, now: datetime
) -> bool:
    """Count `quantity` shipped units of an order as returned; False if fewer were shipped."""
    rows = session.execute(
        select(allocations.c.location_id, allocations.c.shipped, allocations.c.returned)
        .where(allocations.c.order_id == order_id, allocations.c.sku == sku,
               allocations.c.shipped > allocations.c.returned)
        .order_by(allocations.c.location_id).with_for_update()
    ).all()
    if sum(row.shipped - row.returned for row in rows) < quantity:
        return False
    remaining = quantity
    for row in rows:
        take = min(remaining, row.shipped - row.returned)
        session.execute(
            update(allocations)
            .where(allocations.c.order_id == order_id, allocations.c.sku == sku,
                   allocations.c.location_id == row.location_id)
            .values(returned=allocations.c.returned + take, updated_at=now)
        )
        remaining -= take
        if remaining == 0:
            break
    return True


def order_allocations(session: Session, order_id: str) -> list[dict[str, Any]]:
    """An order's allocations per (sku, location)."""
    rows = session.execute(
        select(allocations).where(allocations.c.order_id == order_id)
        .order_by(allocations.c.sku, allocations.c.location_id)
    )
    return [dict(row._mapping) for row in rows]


def allocated_total(session: Session, sku: str, location_id: str) -> int:
    """Units allocated to orders at one location (must equal the row's allocated)."""
    value = session.execute(
        select(func.coalesce(func.sum(allocations.c.allocated), 0))
        .where(allocations.c.sku == sku, allocations.c.location_id == location_id)
    ).scalar_one()
    return int(value)
