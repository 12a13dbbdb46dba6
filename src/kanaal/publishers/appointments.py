"""A campaign's appointments, booked against the shared store and agent calendars
(kanaal.calendars), which confirm them by email through the outbox."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from kanaal.calendars import service as calendars
from kanaal.calendars.domain import Booking
from kanaal.core.context import AppContext
from kanaal.core.errors import Conflict
from kanaal.publishers import store
from kanaal.publishers.domain import Calendar, Campaign
from kanaal.publishers.service import check_running, get_campaign


def _calendar(campaign: Campaign) -> Calendar:
    if campaign.calendar is None:
        raise Conflict("this campaign does not book appointments", code="no_calendar")
    return campaign.calendar


def adopt_calendar_in(session: Session, ctx: AppContext, calendar: Calendar) -> None:
    """Point a new campaign at its resource's shared calendar, seeding one from its hours."""
    calendars.adopt_calendar_in(session, ctx, calendar.resource_kind, calendar.resource_id,
                                slot_minutes=calendar.slot_minutes, opens=calendar.opens,
                                closes=calendar.closes, weekdays=calendar.weekdays)


def free_slots(ctx: AppContext, ref: str, day: date) -> dict[str, Any]:
    """The free slot starts of one day of the campaign's store or agent (UTC instants);
    Conflict `campaign_ended` / `campaign_not_started` outside the campaign's period."""
    campaign = get_campaign(ctx, ref)
    calendar = _calendar(campaign)
    check_running(campaign, ctx.clock.now())
    free = calendars.free_slots_of(ctx, calendar.resource_kind, calendar.resource_id, day)
    return {"campaign": campaign.handle, "date": day.isoformat(),
            "slot_minutes": free["slot_minutes"], "slots": [s["start"] for s in free["slots"]]}


def _times(appointment: dict[str, Any]) -> dict[str, Any]:
    return {**appointment, "slot_start": datetime.fromisoformat(appointment["slot_start"]),
            "slot_end": datetime.fromisoformat(appointment["slot_end"])}


def book(ctx: AppContext, body: dict[str, Any], idempotency_key: str | None = None
         ) -> tuple[dict[str, Any], bool]:
    """Book a slot for a prospect; the calendar queues the confirmation (Conflict `slot_taken`).
    Returns the appointment and whether it is a replay of an earlier request with that key.

    Only while the campaign runs (Conflict `campaign_ended` / `campaign_not_started`); a retry
    of a booking made before the end answers that booking again.
    """
    campaign = get_campaign(ctx, body["campaign"])
    calendar = _calendar(campaign)
    booking = Booking(slot_start=body["slot_start"], source="publisher", source_ref=campaign.id,
                      channel="publisher", title=campaign.name, name=body["name"],
                      email=body["email"], phone=body.get("phone"),
                      identities={"anonymous_id": body["anonymousId"]})

    def bookkeeping(session: Session, appointment: dict[str, Any]) -> None:
        now = ctx.clock.now()
        # Read in the booking's transaction (an end committed meanwhile refuses it); a replay
        # of an earlier booking never gets here.
        current = store.find_campaign(session, campaign.id, lock="share")
        check_running(current or campaign, now)
        store.link_appointment(session, appointment_id=appointment["id"],
                               campaign_id=campaign.id, customer_id=appointment["customer_id"],
                               created_at=now)
        store.insert_event(session, id=ctx.ids.new("pev"), campaign_id=campaign.id,
                           kind="contact", customer_id=appointment["customer_id"],
                           decision_id=body.get("decision_id"), channel="appointment", at=now)

    booked, replayed = calendars.book(ctx, calendar.resource_kind, calendar.resource_id,
                                      booking, idempotency_key, then=bookkeeping)
    return {**_times(booked), "campaign": campaign.handle}, replayed


def list_appointments(ctx: AppContext, ref: str) -> list[dict[str, Any]]:
    """A campaign's appointments by slot, with their current status."""
    campaign = get_campaign(ctx, ref)
    with ctx.db.reader() as session:
        ids = [row["appointment_id"] for row in store.appointments_of(
            session, campaign_id=campaign.id)]
    return [_times(a) for a in calendars.appointments_by_id(ctx, ids)]
