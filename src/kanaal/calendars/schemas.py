"""Request and response bodies of the calendar endpoints."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from kanaal.calendars.domain import WEEKDAYS, Calendar, OpeningPeriod, parse_clock

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
ClockTime = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["09:00"])


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PeriodIn(_In):
    """Opening hours on some weekdays, in the calendar's local time."""

    days: list[Weekday] = Field(min_length=1, max_length=7)
    opens: str = ClockTime
    closes: str = ClockTime


class CalendarIn(_In):
    """A store's or agent's calendar: time zone, slot length, weekly hours, closed dates."""

    timezone: str = Field(min_length=1, max_length=64, examples=["Europe/Amsterdam"])
    slot_minutes: int = Field(default=30, ge=5, le=480)
    hours: list[PeriodIn] = Field(min_length=1, max_length=21)
    closed_dates: list[date] = Field(default_factory=list, max_length=366)

    def to_calendar(self, kind: str, resource_id: str) -> Calendar:
        """The domain calendar of this body."""
        return Calendar(
            resource_kind=kind, resource_id=resource_id, timezone=self.timezone,
            slot_minutes=self.slot_minutes, closed_dates=tuple(self.closed_dates),
            hours=tuple(OpeningPeriod(WEEKDAYS.index(day), parse_clock(p.opens, "hours.opens"),
                                      parse_clock(p.closes, "hours.closes"))
                        for p in self.hours for day in p.days))


class PeriodOut(BaseModel):
    """Opening hours on some weekdays."""

    days: list[str]
    opens: str
    closes: str


class CalendarOut(BaseModel):
    """A calendar."""

    resource_kind: str
    resource_id: str
    timezone: str
    slot_minutes: int
    hours: list[PeriodOut]
    closed_dates: list[date]
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def of(cls, calendar: Calendar) -> CalendarOut:
        """Group the weekly periods with equal hours, Monday first."""
        grouped: dict[tuple[str, str], list[str]] = {}
        for p in sorted(calendar.hours, key=lambda p: (p.weekday, p.opens)):
            key = (p.opens.isoformat("minutes"), p.closes.isoformat("minutes"))
            grouped.setdefault(key, []).append(WEEKDAYS[p.weekday])
        return cls(resource_kind=calendar.resource_kind, resource_id=calendar.resource_id,
                   timezone=calendar.timezone, slot_minutes=calendar.slot_minutes,
                   hours=[PeriodOut(days=days, opens=o, closes=c)
                          for (o, c), days in grouped.items()],
                   closed_dates=sorted(calendar.closed_dates), created_at=calendar.created_at,
                   updated_at=calendar.updated_at)


class SlotOut(BaseModel):
    """A free slot: UTC start and end, the local start and its label."""

    start: datetime
    end: datetime
    local_start: datetime
    label: str


class SlotsOut(BaseModel):
    """The free slots of one local day."""

    resource_kind: str
    resource_id: str
    date: str
    timezone: str
    slot_minutes: int
    slots: list[SlotOut]


class BookingIn(_In):
    """Book a slot for a customer (by id or by identities), from any source."""

    slot_start: datetime = Field(examples=["2026-01-06T10:00:00+01:00"])
    customer_id: str | None = Field(default=None, min_length=1, max_length=40)
    anonymousId: str | None = Field(default=None, min_length=1, max_length=100)  # noqa: N815
    userId: str | None = Field(default=None, min_length=1, max_length=100)  # noqa: N815
    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=320,
                              pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str | None = Field(default=None, min_length=3, max_length=40)
    title: str | None = Field(default=None, min_length=1, max_length=200)
    source: Literal["api", "publisher", "chat", "desk"] = "api"
    source_ref: str | None = Field(default=None, min_length=1, max_length=60)


class RescheduleIn(_In):
    """Move an appointment to another slot."""

    slot_start: datetime


class AppointmentOut(BaseModel):
    """An appointment: UTC and local times, who, where, from which source."""

    id: str
    resource_kind: str
    resource_id: str
    slot_start: datetime
    slot_end: datetime
    local_start: datetime
    timezone: str
    when: str | None
    status: str
    customer_id: str
    name: str | None
    email: str | None
    phone: str | None
    title: str
    source: str
    source_ref: str | None
    where: str | None
    created_at: datetime
