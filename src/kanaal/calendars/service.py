"""Calendar use cases: define a store's or agent's calendar, show free slots, book, cancel and
reschedule appointments with a confirmation email (outbox) and timeline events."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kanaal.calendars import store
from kanaal.calendars.domain import (
    AppointmentStatus,
    Booking,
    Calendar,
    OpeningPeriod,
    check_calendar,
    check_day,
    check_resource_kind,
    check_slot,
    confirmation,
    free_slots,
    local_label,
    slots_on,
)
from kanaal.collect.service import record_event
from kanaal.contact_center import service as contact_center
from kanaal.core.context import AppContext
from kanaal.core.errors import Conflict, InvalidInput, NotFound
from kanaal.core.idempotency import run_idempotent
from kanaal.core.outbox import enqueue

SOURCE = "calendars"
SOURCES = ("api", "publisher", "chat", "desk")


# ---------------------------------------------------------------- calendars


def resource_name_in(session: Session, kind: str, resource_id: str) -> str:
    """Where an appointment takes place: the store's name and address, or the agent's name."""
    from kanaal.inventory.service import get_location_in

    check_resource_kind(kind)
    if kind == "agent":
        return contact_center.get_agent_in(session, resource_id).name
    try:
        location = get_location_in(session, resource_id)
    except NotFound as exc:
        raise NotFound(f"no store {resource_id!r}", code="unknown_location",
                       details=[{"resource_id": resource_id}]) from exc
    if location.kind.value != "store":
        raise InvalidInput(f"{resource_id!r} is a {location.kind.value}, not a store",
                           code="not_a_store")
    return f"{location.name}, {location.address}" if location.address else location.name


def define_calendar(ctx: AppContext, calendar: Calendar) -> tuple[Calendar, bool]:
    """Create or replace the calendar of a store or agent; True when it is new.

    Appointments already booked stay booked, also outside new hours (cancel them if needed).
    """
    check_calendar(calendar)

    def work(session: Session) -> bool:
        resource_name_in(session, calendar.resource_kind, calendar.resource_id)
        return store.save_calendar(session, calendar, ctx.clock.now())

    created = ctx.db.run(work)
    return get_calendar(ctx, calendar.resource_kind, calendar.resource_id), created


def adopt_calendar_in(session: Session, ctx: AppContext, kind: str, resource_id: str, *,
                      slot_minutes: int, opens: time, closes: time,
                      weekdays: tuple[int, ...]) -> Calendar:
    """The resource's calendar; a resource without one gets these hours (in UTC).

    Lets a caller that only knows simple hours (a publisher campaign) book against the shared
    calendar: an existing calendar always wins over the hours given here.
    """
    resource_name_in(session, kind, resource_id)
    existing = store.find_calendar(session, kind, resource_id)
    if existing is not None:
        return existing
    calendar = check_calendar(Calendar(
        resource_kind=kind, resource_id=resource_id, timezone="UTC", slot_minutes=slot_minutes,
        hours=tuple(OpeningPeriod(day, opens, closes) for day in sorted(set(weekdays)))))
    store.save_calendar(session, calendar, ctx.clock.now())
    return calendar


def _calendar_in(session: Session, kind: str, resource_id: str) -> Calendar:
    check_resource_kind(kind)
    calendar = store.find_calendar(session, kind, resource_id)
    if calendar is None:
        raise NotFound(f"the {kind} {resource_id!r} has no calendar", code="no_calendar")
    return calendar


def get_calendar(ctx: AppContext, kind: str, resource_id: str) -> Calendar:
    """A store's or agent's calendar (NotFound `no_calendar`)."""
    with ctx.db.reader() as session:
        return _calendar_in(session, kind, resource_id)


def find_calendar(ctx: AppContext, kind: str, resource_id: str) -> Calendar | None:
    """A store's or agent's calendar, None without one."""
    with ctx.db.reader() as session:
        return store.find_calendar(session, check_resource_kind(kind), resource_id)


def list_calendars(ctx: AppContext) -> list[Calendar]:
    """Every calendar."""
    with ctx.db.reader() as session:
        return store.all_calendars(session)


def free_slots_of(ctx: AppContext, kind: str, resource_id: str, day: date) -> dict[str, Any]:
    """The free slots of one local day: UTC start and end, local start and a label."""
    with ctx.db.reader() as session:
        calendar = _calendar_in(session, kind, resource_id)
        now = ctx.clock.now()
        check_day(calendar, day, now)
        slots = slots_on(calendar, day)
        taken = [] if not slots else store.taken(session, kind, resource_id, slots[0].start,
                                                 slots[-1].end)
    tz = calendar.zone
    return {"resource_kind": kind, "resource_id": resource_id, "date": day.isoformat(),
            "timezone": calendar.timezone, "slot_minutes": calendar.slot_minutes,
            "slots": [{"start": s.start, "end": s.end, "local_start": s.start.astimezone(tz),
                       "label": f"{s.start.astimezone(tz):%H:%M}"}
                      for s in free_slots(slots, taken, now)]}


# ---------------------------------------------------------------- appointments


def _json(row: dict[str, Any], calendar: Calendar | None, where: str | None) -> dict[str, Any]:
    tz = calendar.zone if calendar is not None else UTC
    start, end = row["slot_start"], row["slot_end"]
    return {"id": row["id"], "resource_kind": row["resource_kind"],
            "resource_id": row["resource_id"], "slot_start": start.isoformat(),
            "slot_end": end.isoformat(), "local_start": start.astimezone(tz).isoformat(),
            "timezone": calendar.timezone if calendar is not None else "UTC",
            "when": local_label(calendar, start, end) if calendar is not None else None,
            "status": row["status"], "customer_id": row["customer_id"], "name": row["name"],
            "email": row["email"], "phone": row["phone"], "title": row["title"],
            "source": row["source"], "source_ref": row["source_ref"], "where": where,
            "created_at": row["created_at"].isoformat()}


def _customer_email(ctx: AppContext, customer_id: str) -> str | None:
    from kanaal.customers.service import get_profile

    profile = get_profile(ctx, customer_id)
    trait = profile.traits.get("email", {}).get("value")
    if isinstance(trait, str) and trait:
        return trait
    return next((i["value"] for i in profile.identities if i["type"] == "email"), None)


def _taken(start: datetime) -> Conflict:
    return Conflict(f"the slot at {start.isoformat()} is already taken", code="slot_taken")


def prepare(ctx: AppContext, booking: Booking) -> Booking:
    """Check and complete a booking before its transaction: source, identity, phone, email."""
    if booking.source not in SOURCES:
        raise InvalidInput(f"source is one of {', '.join(SOURCES)}", code="invalid_source")
    if booking.customer_id is None and not booking.identities and not booking.email \
            and not booking.phone:
        raise InvalidInput("say who books: a customer_id, an identity, an email or a phone",
                           code="missing_identity")
    phone = contact_center.normalise_phone(ctx, booking.phone) if booking.phone else None
    email = booking.email
    if email is None and booking.customer_id is not None:
        email = _customer_email(ctx, booking.customer_id)
    return replace(booking, phone=phone, email=email)


def book_in(session: Session, ctx: AppContext, kind: str, resource_id: str,
            booking: Booking) -> dict[str, Any]:
    """Book a slot in the caller's transaction (after `prepare`); Conflict `slot_taken`.

    The booking, its "Appointment Booked" timeline event and its confirmation email commit
    together or not at all.
    """
    calendar = _calendar_in(session, kind, resource_id)
    now = ctx.clock.now()
    slot = check_slot(calendar, booking.slot_start, now)
    where = resource_name_in(session, kind, resource_id)
    if store.taken(session, kind, resource_id, slot.start, slot.end):
        raise _taken(slot.start)
    appointment_id = ctx.ids.new("apt")
    title = booking.title or f"Appointment at {where.split(',')[0]}"
    identities = dict(booking.identities)
    if booking.email:
        identities.setdefault("email", booking.email)
    if booking.phone:
        identities.setdefault("phone", booking.phone)
    traits = {k: v for k, v in (("email", booking.email), ("name", booking.name)) if v}
    when = local_label(calendar, slot.start, slot.end)
    customer_id = record_event(
        session, ctx, event="Appointment Booked",
        identities={} if booking.customer_id else identities,
        customer_id=booking.customer_id, traits=traits or None,
        properties={"appointment_id": appointment_id, "resource_kind": kind,
                    "resource_id": resource_id, "where": where,
                    "slot_start": slot.start.isoformat(), "slot_end": slot.end.isoformat(),
                    "when": when, "title": title, "source": booking.source,
                    "source_ref": booking.source_ref},
        channel=booking.channel or ("store" if kind == "store" else "phone"), source=SOURCE,
        message_id=f"appointment:{appointment_id}:booked")
    store.insert_appointment(
        session, id=appointment_id, resource_kind=kind, resource_id=resource_id,
        slot_start=slot.start, slot_end=slot.end, customer_id=customer_id, name=booking.name,
        email=booking.email, phone=booking.phone, title=title, source=booking.source,
        source_ref=booking.source_ref, created_at=now, updated_at=now)
    if booking.email:
        enqueue(session, ids=ctx.ids, clock=ctx.clock, kind="email",
                topic="appointment.confirmation", destination=booking.email,
                payload=confirmation(kind="booked", title=title, name=booking.name,
                                     to=booking.email, when=when, where=where,
                                     appointment_id=appointment_id),
                dedupe_key=f"appointment:{appointment_id}")
    row = store.find_appointment(session, appointment_id)
    assert row is not None
    return _json(row, calendar, where)


def book(ctx: AppContext, kind: str, resource_id: str, booking: Booking,
         idempotency_key: str | None = None, *,
         then: Any = None) -> tuple[dict[str, Any], bool]:
    """Book a slot once per Idempotency-Key; Conflict `slot_taken` when someone holds it.

    `then(session, appointment)` runs in the same transaction (e.g. a campaign's bookkeeping).
    """
    ready = prepare(ctx, booking)

    def work(session: Session) -> dict[str, Any]:
        result = book_in(session, ctx, kind, resource_id, ready)
        if then is not None:
            then(session, result)
        return result

    request = {"kind": kind, "resource_id": resource_id, **asdict(booking)}
    try:
        return run_idempotent(ctx.db, ctx.clock, scope="calendars.appointments",
                              key=idempotency_key, request=request, work=work)
    except IntegrityError as exc:  # a concurrent booking won the unique constraint
        raise _taken(ready.slot_start.astimezone(UTC)) from exc


def _appointment_in(session: Session, appointment_id: str, *, lock: bool = False
                    ) -> dict[str, Any]:
    row = store.find_appointment(session, appointment_id, lock=lock)
    if row is None:
        raise NotFound(f"no appointment {appointment_id!r}", code="unknown_appointment")
    return row


def get_appointment(ctx: AppContext, appointment_id: str) -> dict[str, Any]:
    """One appointment (NotFound `unknown_appointment`)."""
    with ctx.db.reader() as session:
        row = _appointment_in(session, appointment_id)
        calendar = store.find_calendar(session, row["resource_kind"], row["resource_id"])
        where = resource_name_in(session, row["resource_kind"], row["resource_id"])
    return _json(row, calendar, where)


def list_appointments(ctx: AppContext, kind: str, resource_id: str,
                      day: date | None = None) -> list[dict[str, Any]]:
    """A resource's appointments (of one local day when given), by slot."""
    with ctx.db.reader() as session:
        calendar = _calendar_in(session, kind, resource_id)
        where = resource_name_in(session, kind, resource_id)
        start = end = None
        if day is not None:
            start = datetime.combine(day, time(0), tzinfo=calendar.zone).astimezone(UTC)
            end = datetime.combine(day + timedelta(days=1), time(0),
                                   tzinfo=calendar.zone).astimezone(UTC)
        rows = store.appointments(session, resource=(kind, resource_id), start=start, end=end)
    return [_json(r, calendar, where) for r in rows]


def appointments_by_id(ctx: AppContext, ids: list[str]) -> list[dict[str, Any]]:
    """Appointments by id, by slot (for features that keep a list of their bookings)."""
    if not ids:
        return []
    with ctx.db.reader() as session:
        rows = store.appointments(session, ids=ids)
        out = []
        for row in rows:
            calendar = store.find_calendar(session, row["resource_kind"], row["resource_id"])
            out.append(_json(row, calendar, resource_name_in(
                session, row["resource_kind"], row["resource_id"])))
    return out


def _notify(session: Session, ctx: AppContext, row: dict[str, Any], calendar: Calendar,
            where: str, kind: str, event: str) -> None:
    when = local_label(calendar, row["slot_start"], row["slot_end"])
    record_event(session, ctx, event=event, identities={}, customer_id=row["customer_id"],
                 properties={"appointment_id": row["id"], "resource_kind": row["resource_kind"],
                             "resource_id": row["resource_id"], "where": where,
                             "slot_start": row["slot_start"].isoformat(), "when": when,
                             "title": row["title"], "source": row["source"]},
                 channel="store" if row["resource_kind"] == "store" else "phone",
                 source=SOURCE)
    if row["email"]:
        enqueue(session, ids=ctx.ids, clock=ctx.clock, kind="email",
                topic=f"appointment.{kind}", destination=row["email"],
                payload=confirmation(kind=kind, title=row["title"], name=row["name"],
                                     to=row["email"], when=when, where=where,
                                     appointment_id=row["id"]),
                dedupe_key=f"appointment:{row['id']}:{kind}:{row['slot_start'].isoformat()}")


def cancel(ctx: AppContext, appointment_id: str) -> dict[str, Any]:
    """Cancel an appointment and free its slot; cancelling again changes nothing."""
    def work(session: Session) -> dict[str, Any]:
        row = _appointment_in(session, appointment_id, lock=True)
        calendar = _calendar_in(session, row["resource_kind"], row["resource_id"])
        where = resource_name_in(session, row["resource_kind"], row["resource_id"])
        if row["status"] == AppointmentStatus.CANCELLED.value:
            return _json(row, calendar, where)
        if row["slot_start"] <= ctx.clock.now():
            raise Conflict("the appointment has already begun", code="appointment_past")
        store.update_appointment(session, appointment_id, status="cancelled", held_start=None,
                                 updated_at=ctx.clock.now())
        row = {**row, "status": AppointmentStatus.CANCELLED.value}
        _notify(session, ctx, row, calendar, where, "cancelled", "Appointment Cancelled")
        return _json(row, calendar, where)

    return ctx.db.run(work)


def reschedule(ctx: AppContext, appointment_id: str, slot_start: datetime,
               idempotency_key: str | None = None) -> tuple[dict[str, Any], bool]:
    """Move a booked appointment to another free slot of its calendar (Conflict `slot_taken`)."""
    def work(session: Session) -> dict[str, Any]:
        row = _appointment_in(session, appointment_id, lock=True)
        kind, resource_id = row["resource_kind"], row["resource_id"]
        calendar = _calendar_in(session, kind, resource_id)
        if row["status"] != AppointmentStatus.BOOKED.value:
            raise Conflict("a cancelled appointment cannot move", code="appointment_cancelled")
        now = ctx.clock.now()
        if row["slot_start"] <= now:
            raise Conflict("the appointment has already begun", code="appointment_past")
        slot = check_slot(calendar, slot_start, now)
        where = resource_name_in(session, kind, resource_id)
        if slot.start == row["slot_start"]:
            return _json(row, calendar, where)
        if store.taken(session, kind, resource_id, slot.start, slot.end, besides=appointment_id):
            raise _taken(slot.start)
        store.update_appointment(session, appointment_id, slot_start=slot.start,
                                 slot_end=slot.end, held_start=slot.start, updated_at=now)
        row = {**row, "slot_start": slot.start, "slot_end": slot.end}
        _notify(session, ctx, row, calendar, where, "rescheduled", "Appointment Rescheduled")
        return _json(row, calendar, where)

    try:
        return run_idempotent(ctx.db, ctx.clock, scope="calendars.reschedule",
                              key=idempotency_key,
                              request={"id": appointment_id, "slot_start": slot_start},
                              work=work)
    except IntegrityError as exc:
        raise _taken(slot_start) from exc
