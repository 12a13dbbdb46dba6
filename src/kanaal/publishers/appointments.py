"""Appointment booking against store and agent calendars, confirmed by email (outbox)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kanaal.collect.service import record_event
from kanaal.contact_center import service as contact_center
from kanaal.core.context import AppContext
from kanaal.core.errors import Conflict, InvalidInput
from kanaal.core.outbox import enqueue
from kanaal.publishers import store
from kanaal.publishers.domain import Calendar, Campaign, check_slot, slots_on
from kanaal.publishers.service import SOURCE, get_campaign

MAX_DAYS_AHEAD = 90


def _calendar(campaign: Campaign) -> Calendar:
    if campaign.calendar is None:
        raise Conflict("this campaign does not book appointments", code="no_calendar")
    return campaign.calendar


def free_slots(ctx: AppContext, ref: str, day: date) -> dict[str, Any]:
    """The campaign calendar's free slots on one day (UTC)."""
    campaign = get_campaign(ctx, ref)
    calendar = _calendar(campaign)
    now = ctx.clock.now()
    if not now.date() <= day <= now.date() + timedelta(days=MAX_DAYS_AHEAD):
        raise InvalidInput(f"pick a day from today up to {MAX_DAYS_AHEAD} days ahead",
                           code="invalid_day")
    slots = [s for s in slots_on(calendar, day) if s > now]
    with ctx.db.reader() as session:
        taken = store.booked_slots(session, calendar.resource_kind, calendar.resource_id,
                                   *_day_bounds(day))
    return {"campaign": campaign.handle, "date": day.isoformat(),
            "slot_minutes": calendar.slot_minutes,
            "slots": [s for s in slots if s not in taken]}


def _day_bounds(day: date) -> tuple[datetime, datetime]:

    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + timedelta(days=1)


def _resource_name(session: Session, calendar: Calendar) -> str:
    from kanaal.inventory.service import get_location_in

    if calendar.resource_kind == "store":
        location = get_location_in(session, calendar.resource_id)
        return f"{location.name}, {location.address}" if location.address else location.name
    return contact_center.get_agent_in(session, calendar.resource_id).name


def book(ctx: AppContext, body: dict[str, Any]) -> dict[str, Any]:
    """Book a slot for a prospect and queue the confirmation email; Conflict `slot_taken`."""
    campaign = get_campaign(ctx, body["campaign"])
    calendar = _calendar(campaign)
    now = ctx.clock.now()
    start = check_slot(calendar, body["slot_start"], now)
    end = start + timedelta(minutes=calendar.slot_minutes)
    phone = contact_center.normalise_phone(ctx, body["phone"]) if body.get("phone") else None
    appointment_id = ctx.ids.new("apt")
    identities = {"anonymous_id": body["anonymousId"], "email": body["email"]}
    if phone:
        identities["phone"] = phone

    def work(session: Session) -> dict[str, Any]:
        where = _resource_name(session, calendar)
        customer_id = record_event(
            session, ctx, event="Appointment Booked", identities=identities,
            traits={"email": body["email"], "name": body["name"]},
            properties={"appointment_id": appointment_id, "campaign": campaign.handle,
                        "slot_start": start.isoformat(), "resource_kind": calendar.resource_kind,
                        "resource_id": calendar.resource_id},
            channel="publisher", source=SOURCE)
        store.insert_appointment(
            session, id=appointment_id, campaign_id=campaign.id,
            resource_kind=calendar.resource_kind, resource_id=calendar.resource_id,
            slot_start=start, slot_end=end, customer_id=customer_id, name=body["name"],
            email=body["email"], phone=phone, status="booked", created_at=now)
        store.insert_event(session, id=ctx.ids.new("pev"), campaign_id=campaign.id,
                           kind="contact", customer_id=customer_id,
                           decision_id=body.get("decision_id"), channel="appointment", at=now)
        enqueue(session, ids=ctx.ids, clock=ctx.clock, kind="email",
                topic="appointment.confirmation", destination=body["email"],
                payload=confirmation(campaign, name=body["name"], to=body["email"],
                                     start=start, end=end, where=where,
                                     appointment_id=appointment_id),
                dedupe_key=f"appointment:{appointment_id}")
        return {"id": appointment_id, "campaign": campaign.handle,
                "resource_kind": calendar.resource_kind, "resource_id": calendar.resource_id,
                "slot_start": start, "slot_end": end, "customer_id": customer_id,
                "where": where, "status": "booked"}

    try:
        with ctx.db.transaction() as session:
            if start in store.booked_slots(session, calendar.resource_kind,
                                           calendar.resource_id, start, end):
                raise _taken(start)
            return work(session)
    except IntegrityError as exc:  # a concurrent booking won the unique constraint
        raise _taken(start) from exc


def _taken(start: datetime) -> Conflict:
    return Conflict(f"the slot at {start.isoformat()} is already taken", code="slot_taken")


def confirmation(campaign: Campaign, *, name: str, to: str, start: datetime, end: datetime,
                 where: str, appointment_id: str) -> dict[str, str]:
    """The confirmation email (plain text; times in UTC)."""
    when = f"{start:%A %d %B %Y}, {start:%H:%M}-{end:%H:%M} UTC"
    body = (f"Hello {name},\n\nyour appointment is confirmed.\n\n"
            f"What:  {campaign.name}\nWhen:  {when}\nWhere: {where}\n"
            f"Reference: {appointment_id}\n\nSee you then!\n")
    return {"to": to, "subject": f"Appointment confirmed: {campaign.name}", "body": body}


def list_appointments(ctx: AppContext, ref: str) -> list[dict[str, Any]]:
    """A campaign's appointments by slot."""
    campaign = get_campaign(ctx, ref)
    with ctx.db.reader() as session:
        return store.appointments_of(session, campaign_id=campaign.id)
