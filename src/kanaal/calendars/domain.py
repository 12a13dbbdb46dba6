"""Pure calendar rules: weekly opening hours in a time zone, slot grids, bookable slots."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kanaal.core.errors import InvalidInput

RESOURCE_KINDS = ("store", "agent")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_DAYS_AHEAD = 90
MAX_CLOSED_DATES = 366
MAX_PERIODS = 21


class AppointmentStatus(StrEnum):
    """An appointment holds its slot while booked; a cancelled one frees it."""

    BOOKED = "booked"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class OpeningPeriod:
    """One stretch of bookable time on a weekday, in the calendar's local time."""

    weekday: int  # 0 Monday .. 6 Sunday
    opens: time
    closes: time


@dataclass(frozen=True, slots=True)
class Calendar:
    """The bookable time of one store or agent: weekly hours, slot length, zone, closed dates."""

    resource_kind: str
    resource_id: str
    timezone: str
    slot_minutes: int
    hours: tuple[OpeningPeriod, ...]
    closed_dates: tuple[date, ...] = ()
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def zone(self) -> ZoneInfo:
        """The calendar's time zone."""
        return zone(self.timezone)


@dataclass(frozen=True, slots=True)
class Slot:
    """A bookable slot: its UTC start and end."""

    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Booking:
    """What a booking asks for, from any source (publisher campaign, chat, the API)."""

    slot_start: datetime
    source: str
    customer_id: str | None = None
    identities: dict[str, str] = field(default_factory=dict)
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    title: str | None = None
    source_ref: str | None = None
    channel: str | None = None


def zone(name: str) -> ZoneInfo:
    """A time zone by its IANA name (InvalidInput `invalid_timezone`)."""
    try:
        if not name or "/" not in name and name != "UTC" or name.startswith("/"):
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise InvalidInput(f"{name!r} is not a time zone (use an IANA name such as "
                           "Europe/Amsterdam)", code="invalid_timezone",
                           details=[{"loc": ["body", "timezone"]}]) from exc


def check_resource_kind(kind: str) -> str:
    """A calendar belongs to a store or an agent."""
    if kind not in RESOURCE_KINDS:
        raise InvalidInput(f"a calendar belongs to a {' or '.join(RESOURCE_KINDS)}, not {kind!r}",
                           code="invalid_resource_kind")
    return kind


def parse_clock(raw: str, where: str) -> time:
    """A wall-clock time "HH:MM" (InvalidInput `invalid_time`)."""
    try:
        parsed = time.fromisoformat(raw)
        if len(raw) != 5 or raw[2] != ":":
            raise ValueError(raw)
    except ValueError as exc:
        raise InvalidInput(f"{where}: {raw!r} is not a time HH:MM", code="invalid_time",
                           details=[{"loc": where.split(".")}]) from exc
    return parsed


def check_calendar(calendar: Calendar) -> Calendar:
    """Refuse calendars without bookable time, with overlapping hours or a bad zone."""
    check_resource_kind(calendar.resource_kind)
    zone(calendar.timezone)
    if not 5 <= calendar.slot_minutes <= 480:
        raise InvalidInput("slot_minutes is 5 to 480", code="invalid_calendar")
    if not calendar.hours or len(calendar.hours) > MAX_PERIODS:
        raise InvalidInput(f"give 1 to {MAX_PERIODS} opening periods", code="invalid_calendar")
    step = timedelta(minutes=calendar.slot_minutes)
    for period in calendar.hours:
        if period.weekday not in range(7):
            raise InvalidInput("weekdays are 0 (Monday) to 6 (Sunday)", code="invalid_calendar")
        if period.opens >= period.closes:
            raise InvalidInput(f"{WEEKDAYS[period.weekday]}: opens before it closes",
                               code="invalid_calendar")
        if _minutes(period.closes) - _minutes(period.opens) < step.total_seconds() // 60:
            raise InvalidInput(f"{WEEKDAYS[period.weekday]}: a period holds at least one slot",
                               code="invalid_calendar")
    for day in range(7):
        periods = sorted((p for p in calendar.hours if p.weekday == day), key=lambda p: p.opens)
        for before, after in zip(periods, periods[1:], strict=False):
            if after.opens < before.closes:
                raise InvalidInput(f"{WEEKDAYS[day]}: opening periods overlap",
                                   code="invalid_calendar")
    if len(calendar.closed_dates) > MAX_CLOSED_DATES:
        raise InvalidInput(f"at most {MAX_CLOSED_DATES} closed dates", code="invalid_calendar")
    return calendar


def _minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def _instant(day: date, wall: time, tz: ZoneInfo) -> datetime | None:
    """The UTC instant of a local wall time, None when the clock skips it (DST gap)."""
    local = datetime.combine(day, wall, tzinfo=tz)
    moment = local.astimezone(UTC)
    if moment.astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        return None
    return moment


def slots_on(calendar: Calendar, day: date) -> list[Slot]:
    """The slots of one local day (UTC instants), empty on a closed weekday or date.

    Slots step through local wall time, so a store open 09:00-17:00 stays so across DST
    changes; a wall time the clock skips is no slot.
    """
    if day in calendar.closed_dates:
        return []
    tz = calendar.zone
    step = timedelta(minutes=calendar.slot_minutes)
    slots: list[Slot] = []
    for period in sorted((p for p in calendar.hours if p.weekday == day.weekday()),
                         key=lambda p: p.opens):
        wall = datetime.combine(day, period.opens)
        closes = datetime.combine(day, period.closes)
        while wall + step <= closes:
            start = _instant(day, wall.time(), tz)
            if start is not None:
                slots.append(Slot(start, start + step))
            wall += step
    return slots


def local_day(calendar: Calendar, moment: datetime) -> date:
    """The calendar's local date of an instant."""
    return moment.astimezone(calendar.zone).date()


def check_day(calendar: Calendar, day: date, now: datetime) -> date:
    """A day to show slots for: from the calendar's today up to MAX_DAYS_AHEAD days ahead."""
    today = local_day(calendar, now)
    if not today <= day <= today + timedelta(days=MAX_DAYS_AHEAD):
        raise InvalidInput(f"pick a day from today ({today.isoformat()}) up to "
                           f"{MAX_DAYS_AHEAD} days ahead", code="invalid_day")
    return day


def check_slot(calendar: Calendar, slot_start: datetime, now: datetime) -> Slot:
    """A bookable slot: time-zone aware, on the calendar's grid, open and in the future."""
    if slot_start.tzinfo is None or slot_start.utcoffset() is None:
        raise InvalidInput("slot_start needs a time zone (e.g. 2026-01-06T10:00:00+01:00)",
                           code="invalid_slot")
    moment = slot_start.astimezone(UTC)
    day = local_day(calendar, moment)
    if day in calendar.closed_dates:
        raise InvalidInput(f"closed on {day.isoformat()}", code="invalid_slot")
    slot = next((s for s in slots_on(calendar, day) if s.start == moment), None)
    if slot is None:
        raise InvalidInput("slot_start is not one of the calendar's slots", code="invalid_slot")
    if moment <= now:
        raise InvalidInput("slot_start is in the past", code="slot_in_past")
    if day > local_day(calendar, now) + timedelta(days=MAX_DAYS_AHEAD):
        raise InvalidInput(f"book at most {MAX_DAYS_AHEAD} days ahead", code="invalid_slot")
    return slot


def free_slots(slots: list[Slot], taken: list[tuple[datetime, datetime]],
               now: datetime) -> list[Slot]:
    """The future slots that overlap no taken interval [start, end)."""
    return [s for s in slots if s.start > now
            and not any(start < s.end and s.start < end for start, end in taken)]


def local_label(calendar: Calendar, start: datetime, end: datetime) -> str:
    """How a slot reads to a person: "Tuesday 06 January 2026, 10:00-11:00 CET"."""
    tz = calendar.zone
    begin, finish = start.astimezone(tz), end.astimezone(tz)
    return f"{begin:%A %d %B %Y}, {begin:%H:%M}-{finish:%H:%M} {begin.tzname()}"


def confirmation(*, kind: str, title: str, name: str | None, to: str, when: str, where: str,
                 appointment_id: str) -> dict[str, str]:
    """A plain-text email about an appointment: booked, rescheduled or cancelled."""
    hello = f"Hello {name}," if name else "Hello,"
    lead = {"booked": "your appointment is confirmed.",
            "rescheduled": "your appointment has moved to a new time.",
            "cancelled": "your appointment is cancelled."}[kind]
    subject = {"booked": "Appointment confirmed", "rescheduled": "Appointment moved",
               "cancelled": "Appointment cancelled"}[kind]
    body = (f"{hello}\n\n{lead}\n\nWhat:  {title}\nWhen:  {when}\nWhere: {where}\n"
            f"Reference: {appointment_id}\n\n"
            + ("See you then!\n" if kind != "cancelled" else "We hope to see you another time.\n"))
    return {"to": to, "subject": f"{subject}: {title}", "body": body}
