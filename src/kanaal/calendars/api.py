"""Calendars of stores and agents: define them, read free slots, book, cancel, reschedule."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from kanaal.calendars import service
from kanaal.calendars.domain import Booking
from kanaal.calendars.schemas import (
    AppointmentOut,
    BookingIn,
    CalendarIn,
    CalendarOut,
    RescheduleIn,
    SlotsOut,
)
from kanaal.core.http import AdminKey, AnyKey, Ctx, IdempotencyKey, ReadKey, WriteKey

router = APIRouter(prefix="/v1", tags=["calendars"])
Kind = Literal["store", "agent"]
Day = Annotated[date, Query(alias="date", description="the calendar's local day, YYYY-MM-DD")]


@router.put("/calendars/{kind}/{resource_id}", response_model=CalendarOut,
            responses={201: {"model": CalendarOut, "description": "a new calendar"}})
def define_calendar(kind: Kind, resource_id: str, body: CalendarIn, response: Response,
                    ctx: Ctx, _key: AdminKey) -> CalendarOut:
    """Create (201) or replace (200) the calendar of a store or an agent."""
    calendar, created = service.define_calendar(ctx, body.to_calendar(kind, resource_id))
    response.status_code = 201 if created else 200
    return CalendarOut.of(calendar)


@router.get("/calendars", response_model=list[CalendarOut])
def list_calendars(ctx: Ctx, _key: ReadKey) -> list[CalendarOut]:
    """Every calendar."""
    return [CalendarOut.of(c) for c in service.list_calendars(ctx)]


@router.get("/calendars/{kind}/{resource_id}", response_model=CalendarOut)
def get_calendar(kind: Kind, resource_id: str, ctx: Ctx, _key: ReadKey) -> CalendarOut:
    """One calendar (404 no_calendar)."""
    return CalendarOut.of(service.get_calendar(ctx, kind, resource_id))


@router.get("/calendars/{kind}/{resource_id}/slots", response_model=SlotsOut)
def free_slots(kind: Kind, resource_id: str, day: Day, ctx: Ctx,
               _key: AnyKey) -> dict[str, Any]:
    """The free slots of one local day (times in UTC with the local start beside them)."""
    return service.free_slots_of(ctx, kind, resource_id, day)


@router.get("/calendars/{kind}/{resource_id}/appointments", response_model=list[AppointmentOut])
def list_appointments(kind: Kind, resource_id: str, ctx: Ctx, _key: ReadKey,
                      day: Annotated[date | None, Query(alias="date")] = None
                      ) -> list[dict[str, Any]]:
    """A store's or agent's appointments, of one local day when given."""
    return service.list_appointments(ctx, kind, resource_id, day)


@router.post("/calendars/{kind}/{resource_id}/appointments", status_code=201,
             response_model=AppointmentOut)
def book(kind: Kind, resource_id: str, body: BookingIn, response: Response, ctx: Ctx,
         _key: WriteKey, idempotency_key: IdempotencyKey) -> dict[str, Any]:
    """Book a slot (409 slot_taken); a confirmation email goes out when there is an address."""
    identities = {k: v for k, v in (("anonymous_id", body.anonymousId),
                                    ("user_id", body.userId)) if v}
    booking = Booking(slot_start=body.slot_start, source=body.source,
                      customer_id=body.customer_id, identities=identities, name=body.name,
                      email=body.email, phone=body.phone, title=body.title,
                      source_ref=body.source_ref)
    result, replayed = service.book(ctx, kind, resource_id, booking, idempotency_key)
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return result


@router.get("/appointments/{appointment_id}", response_model=AppointmentOut)
def get_appointment(appointment_id: str, ctx: Ctx, _key: ReadKey) -> dict[str, Any]:
    """One appointment."""
    return service.get_appointment(ctx, appointment_id)


@router.post("/appointments/{appointment_id}/cancel", response_model=AppointmentOut)
def cancel(appointment_id: str, ctx: Ctx, _key: WriteKey) -> dict[str, Any]:
    """Cancel an appointment and free its slot (cancelling twice changes nothing)."""
    return service.cancel(ctx, appointment_id)


@router.post("/appointments/{appointment_id}/reschedule", response_model=AppointmentOut)
def reschedule(appointment_id: str, body: RescheduleIn, response: Response, ctx: Ctx,
               _key: WriteKey, idempotency_key: IdempotencyKey) -> dict[str, Any]:
    """Move an appointment to another free slot (409 slot_taken)."""
    result, replayed = service.reschedule(ctx, appointment_id, body.slot_start,
                                          idempotency_key)
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return result
