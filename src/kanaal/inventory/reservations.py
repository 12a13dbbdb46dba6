"""Reservations: hold stock for a cart or checkout, confirm it into an allocation, release it,
or let it expire.

Check-and-reserve is atomic: the channel's ledger rows of the sku are locked FOR UPDATE in
location-id order (SQLite: the write lock taken at BEGIN IMMEDIATE), the plan is made from
those locked counts, and each row moves by a conditional UPDATE that only matches while
enough is free. The CHECK constraint on the table is the last guard.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from kanaal.channels.service import get_channel_in
from kanaal.core.context import AppContext
from kanaal.core.errors import Conflict, NotFound
from kanaal.core.idempotency import run_idempotent
from kanaal.inventory import store, store_reservations
from kanaal.inventory.domain import (
    MovementReason,
    Reservation,
    ReservationStatus,
    StockChannel,
    check_quantity,
    check_sku,
    check_ttl,
    plan_reservation,
)
from kanaal.inventory.ledger import apply_change, require_sku

EXPIRY_BATCH = 200


def channel_in(session: Session, id_or_handle: str) -> StockChannel:
    """A channel by id or handle through kanaal.channels (NotFound code unknown_channel)."""
    return get_channel_in(session, id_or_handle)


def reserve_in(
    session: Session, ctx: AppContext, *, sku: str, quantity: int, channel: StockChannel,
    ttl_seconds: int, reference: str | None = None,
) -> Reservation:
    """Hold `quantity` of `sku` for `channel` for `ttl_seconds` (Conflict insufficient_stock)."""
    check_sku(sku)
    check_quantity(quantity)
    check_ttl(ttl_seconds)
    levels = store.levels(session, sku, channel.location_ids, lock=True)
    if not levels:
        require_sku(session, sku)
    lines = plan_reservation(levels, channel, quantity)
    now = ctx.clock.now()
    # Rows are touched in location-id order, the same order every writer locks them in.
    ordered = tuple(sorted(lines, key=lambda line: line.location_id))
    reservation = Reservation(
        id=ctx.ids.new("res"), sku=sku, quantity=quantity, channel_id=channel.id,
        status=ReservationStatus.ACTIVE, lines=ordered,
        reference=reference, order_id=None, expires_at=now + timedelta(seconds=ttl_seconds),
        created_at=now, closed_at=None,
    )
    store_reservations.insert_reservation(session, reservation)
    for line in reservation.lines:
        apply_change(
            session, ctx, sku=sku, location_id=line.location_id,
            reason=MovementReason.RESERVATION, deltas={"reserved": line.quantity},
            reference=reservation.id, require_free=line.quantity,
        )
    return reservation


def get_reservation_in(session: Session, reservation_id: str) -> Reservation:
    """A reservation by id (NotFound code unknown_reservation)."""
    reservation = store_reservations.get_reservation(session, reservation_id)
    if reservation is None:
        raise NotFound(f"no reservation {reservation_id!r}", code="unknown_reservation")
    return reservation


def _not_active(reservation: Reservation) -> Conflict:
    return Conflict(
        f"reservation {reservation.id} is {reservation.status.value}",
        code=f"reservation_{reservation.status.value}",
        details=[{"reservation_id": reservation.id, "status": reservation.status.value}],
    )


def confirm_in(
    session: Session, ctx: AppContext, reservation_id: str, *, order_id: str
) -> list[tuple[str, int]]:
    """Turn an active reservation into an allocation to `order_id`; returns (location, units).

    Confirming again for the same order answers the same allocation without changing stock.
    """
    reservation = get_reservation_in(session, reservation_id)
    done = [(line.location_id, line.quantity) for line in reservation.lines]
    if reservation.status is ReservationStatus.CONFIRMED and reservation.order_id == order_id:
        return done
    now = ctx.clock.now()
    if reservation.status is ReservationStatus.ACTIVE and reservation.expires_at <= now:
        raise Conflict(f"reservation {reservation.id} has expired", code="reservation_expired")
    if reservation.status is not ReservationStatus.ACTIVE or not (
        store_reservations.close_reservation(
            session, reservation.id, ReservationStatus.CONFIRMED, now, order_id=order_id)
    ):
        raise _not_active(get_reservation_in(session, reservation_id))
    for line in reservation.lines:
        apply_change(
            session, ctx, sku=reservation.sku, location_id=line.location_id,
            reason=MovementReason.ALLOCATION,
            deltas={"reserved": -line.quantity, "allocated": line.quantity}, reference=order_id,
        )
        store_reservations.add_allocation(
            session, order_id, reservation.sku, line.location_id, line.quantity, now)
    return done


def _give_back(
    session: Session, ctx: AppContext, reservation: Reservation, status: ReservationStatus
) -> bool:
    """Close an active reservation as released or expired and return its units."""
    if not store_reservations.close_reservation(session, reservation.id, status, ctx.clock.now()):
        return False
    reason = MovementReason.RELEASE if status is ReservationStatus.RELEASED \
        else MovementReason.EXPIRY
    for line in reservation.lines:
        apply_change(
            session, ctx, sku=reservation.sku, location_id=line.location_id, reason=reason,
            deltas={"reserved": -line.quantity}, reference=reservation.id,
        )
    return True


def release_in(session: Session, ctx: AppContext, reservation_id: str) -> Reservation:
    """Give a reservation's units back; releasing a released or expired one changes nothing."""
    reservation = get_reservation_in(session, reservation_id)
    if reservation.status is ReservationStatus.CONFIRMED:
        raise _not_active(reservation)
    if reservation.status is ReservationStatus.ACTIVE and not _give_back(
        session, ctx, reservation, ReservationStatus.RELEASED
    ):
        raise _not_active(get_reservation_in(session, reservation_id))
    return get_reservation_in(session, reservation_id)


def expire_reservations(ctx: AppContext, *, limit: int = EXPIRY_BATCH) -> int:
    """Expire up to `limit` reservations whose TTL passed by ctx.clock; returns how many."""
    with ctx.db.reader() as session:
        due = store_reservations.due_reservation_ids(session, ctx.clock.now(), limit)
    expired = 0
    for reservation_id in due:

        def expire(session: Session, reservation_id: str = reservation_id) -> bool:
            reservation = get_reservation_in(session, reservation_id)
            if reservation.status is not ReservationStatus.ACTIVE:
                return False  # confirmed or released meanwhile
            return _give_back(session, ctx, reservation, ReservationStatus.EXPIRED)

        expired += int(ctx.db.run(expire))
    return expired


# ---------------------------------------------------------------- use cases for the API


def reservation_json(reservation: Reservation) -> dict[str, Any]:
    """A reservation as the API shows it (also what an Idempotency-Key replays)."""
    return {
        "id": reservation.id, "sku": reservation.sku, "quantity": reservation.quantity,
        "channel_id": reservation.channel_id, "status": reservation.status.value,
        "lines": [{"location_id": line.location_id, "quantity": line.quantity}
                  for line in reservation.lines],
        "reference": reservation.reference, "order_id": reservation.order_id,
        "expires_at": reservation.expires_at.isoformat(),
        "created_at": reservation.created_at.isoformat(),
        "closed_at": reservation.closed_at.isoformat() if reservation.closed_at else None,
    }


def create_reservation(
    ctx: AppContext, *, sku: str, quantity: int, channel: str, ttl_seconds: int,
    reference: str | None, idempotency_key: str | None,
) -> tuple[dict[str, Any], bool]:
    """Reserve through the API: resolves the channel, honours Idempotency-Key."""
    request = {"sku": sku, "quantity": quantity, "channel": channel,
               "ttl_seconds": ttl_seconds, "reference": reference}

    def work(session: Session) -> dict[str, Any]:
        target = channel_in(session, channel)
        return reservation_json(reserve_in(
            session, ctx, sku=sku, quantity=quantity, channel=target, ttl_seconds=ttl_seconds,
            reference=reference,
        ))

    return run_idempotent(ctx.db, ctx.clock, scope="inventory.reservations",
                          key=idempotency_key, request=request, work=work)


def confirm_reservation(
    ctx: AppContext, reservation_id: str, *, order_id: str | None
) -> dict[str, Any]:
    """Confirm through the API; without an order id one is generated."""
    target_order = order_id or ctx.ids.new("ord")

    def work(session: Session) -> dict[str, Any]:
        confirm_in(session, ctx, reservation_id, order_id=target_order)
        return reservation_json(get_reservation_in(session, reservation_id))

    return ctx.db.run(work)


def release_reservation(ctx: AppContext, reservation_id: str) -> dict[str, Any]:
    """Release through the API."""
    return ctx.db.run(lambda session: reservation_json(release_in(session, ctx, reservation_id)))


def get_reservation(ctx: AppContext, reservation_id: str) -> dict[str, Any]:
    """Read one reservation."""
    with ctx.db.reader() as session:
        return reservation_json(get_reservation_in(session, reservation_id))
