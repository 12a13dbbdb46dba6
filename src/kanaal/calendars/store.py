"""Tables and queries of calendars and their appointments (never commits)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from kanaal.calendars.domain import AppointmentStatus, Calendar, OpeningPeriod
from kanaal.core.db import UtcDateTime, metadata, rowcount

calendars = Table(
    "calendars",
    metadata,
    Column("resource_kind", String(10), nullable=False),
    Column("resource_id", String(40), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("slot_minutes", Integer, nullable=False),
    Column("hours", JSON, nullable=False),
    Column("closed_dates", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("resource_kind", "resource_id"),
)

calendar_appointments = Table(
    "calendar_appointments",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("resource_kind", String(10), nullable=False),
    Column("resource_id", String(40), nullable=False),
    Column("slot_start", UtcDateTime, nullable=False),
    Column("slot_end", UtcDateTime, nullable=False),
    # slot_start while booked, NULL once cancelled: the unique constraint below then holds
    # each slot for exactly one live appointment and frees it on cancellation.
    Column("held_start", UtcDateTime, nullable=True),
    Column("status", String(20), nullable=False),
    Column("customer_id", String(40), nullable=False),
    Column("name", String(200), nullable=True),
    Column("email", String(320), nullable=True),
    Column("phone", String(40), nullable=True),
    Column("title", String(200), nullable=False),
    Column("source", String(20), nullable=False),
    Column("source_ref", String(60), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("resource_kind", "resource_id", "held_start",
                     name="uq_calendar_appointment_slot"),
    Index("ix_calendar_appointments_resource", "resource_kind", "resource_id", "slot_start"),
    Index("ix_calendar_appointments_customer", "customer_id"),
    Index("ix_calendar_appointments_source", "source", "source_ref"),
)


def _hours_json(hours: tuple[OpeningPeriod, ...]) -> list[dict[str, Any]]:
    return [{"weekday": p.weekday, "opens": p.opens.isoformat("minutes"),
             "closes": p.closes.isoformat("minutes")} for p in hours]


def _calendar(row: Any) -> Calendar:
    return Calendar(
        resource_kind=row.resource_kind, resource_id=row.resource_id, timezone=row.timezone,
        slot_minutes=int(row.slot_minutes),
        hours=tuple(OpeningPeriod(int(p["weekday"]), time.fromisoformat(p["opens"]),
                                  time.fromisoformat(p["closes"])) for p in row.hours),
        closed_dates=tuple(date.fromisoformat(d) for d in row.closed_dates),
        created_at=row.created_at, updated_at=row.updated_at)


def find_calendar(session: Session, kind: str, resource_id: str) -> Calendar | None:
    """The calendar of one store or agent."""
    row = session.execute(select(calendars).where(
        calendars.c.resource_kind == kind, calendars.c.resource_id == resource_id)).first()
    return None if row is None else _calendar(row)


def all_calendars(session: Session) -> list[Calendar]:
    """Every calendar, by kind and resource."""
    rows = session.execute(select(calendars).order_by(calendars.c.resource_kind,
                                                      calendars.c.resource_id))
    return [_calendar(r) for r in rows]


def save_calendar(session: Session, calendar: Calendar, now: datetime) -> bool:
    """Insert or replace a calendar; True when it is new."""
    values = {"timezone": calendar.timezone, "slot_minutes": calendar.slot_minutes,
              "hours": _hours_json(calendar.hours),
              "closed_dates": sorted(d.isoformat() for d in set(calendar.closed_dates)),
              "updated_at": now}
    changed = rowcount(session.execute(update(calendars).where(
        calendars.c.resource_kind == calendar.resource_kind,
        calendars.c.resource_id == calendar.resource_id).values(**values)))
    if changed:
        return False
    session.execute(insert(calendars).values(
        resource_kind=calendar.resource_kind, resource_id=calendar.resource_id,
        created_at=now, **values))
    return True


def insert_appointment(session: Session, **values: Any) -> None:
    """Book a slot (IntegrityError when another live appointment holds it)."""
    session.execute(insert(calendar_appointments).values(
        held_start=values["slot_start"], status=AppointmentStatus.BOOKED.value, **values))


def taken(session: Session, kind: str, resource_id: str, start: datetime,
          end: datetime, *, besides: str | None = None) -> list[tuple[datetime, datetime]]:
    """Live appointments' [start, end) overlapping [start, end) of one resource."""
    query = select(calendar_appointments.c.slot_start, calendar_appointments.c.slot_end).where(
        calendar_appointments.c.resource_kind == kind,
        calendar_appointments.c.resource_id == resource_id,
        calendar_appointments.c.status == AppointmentStatus.BOOKED.value,
        calendar_appointments.c.slot_start < end, calendar_appointments.c.slot_end > start)
    if besides is not None:
        query = query.where(calendar_appointments.c.id != besides)
    return [(r.slot_start, r.slot_end) for r in session.execute(query)]


def find_appointment(session: Session, appointment_id: str, *,
                     lock: bool = False) -> dict[str, Any] | None:
    """One appointment (locked for this transaction when asked)."""
    query = select(calendar_appointments).where(calendar_appointments.c.id == appointment_id)
    if lock:
        query = query.with_for_update()
    row = session.execute(query).first()
    return None if row is None else dict(row._mapping)


def update_appointment(session: Session, appointment_id: str, **values: Any) -> None:
    """Change an appointment (IntegrityError when a new slot is held by another)."""
    session.execute(update(calendar_appointments).where(
        calendar_appointments.c.id == appointment_id).values(**values))


def appointments(session: Session, *, resource: tuple[str, str] | None = None,
                 ids: list[str] | None = None, start: datetime | None = None,
                 end: datetime | None = None, limit: int = 500) -> list[dict[str, Any]]:
    """Appointments of a resource or by id, optionally in [start, end), by slot."""
    query = select(calendar_appointments).order_by(calendar_appointments.c.slot_start,
                                                   calendar_appointments.c.id).limit(limit)
    if resource is not None:
        query = query.where(calendar_appointments.c.resource_kind == resource[0],
                            calendar_appointments.c.resource_id == resource[1])
    if ids is not None:
        query = query.where(calendar_appointments.c.id.in_(ids))
    if start is not None:
        query = query.where(calendar_appointments.c.slot_start >= start)
    if end is not None:
        query = query.where(calendar_appointments.c.slot_start < end)
    return [dict(r._mapping) for r in session.execute(query)]
