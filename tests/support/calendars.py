"""Calendar fixtures for tests of any feature: a store with a calendar, table counts."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select

from kanaal.calendars import service
from kanaal.calendars.domain import WEEKDAYS, Calendar, OpeningPeriod
from kanaal.calendars.store import calendar_appointments, calendars
from kanaal.core.context import AppContext
from kanaal.core.outbox import outbox_messages
from tests.support.inventory import make_location


def weekly(opens: str = "09:00", closes: str = "17:00",
           days: tuple[str, ...] = WEEKDAYS[:5]) -> tuple[OpeningPeriod, ...]:
    """The same hours on some weekdays."""
    from datetime import time

    return tuple(OpeningPeriod(WEEKDAYS.index(d), time.fromisoformat(opens),
                               time.fromisoformat(closes)) for d in days)


def store_with_calendar(ctx: AppContext, name: str = "Store Utrecht", *,
                        timezone: str = "Europe/Amsterdam", slot_minutes: int = 60,
                        closed_dates: tuple[date, ...] = (), **hours: Any) -> str:
    """A store location with a calendar (weekdays 09:00-17:00 local by default); its id."""
    location = make_location(ctx, name, kind="store", address="Oudegracht 1, Utrecht")
    service.define_calendar(ctx, Calendar(
        resource_kind="store", resource_id=location.id, timezone=timezone,
        slot_minutes=slot_minutes, hours=weekly(**hours), closed_dates=closed_dates))
    return location.id


def counts(ctx: AppContext) -> dict[str, int]:
    """Calendars, appointments and queued emails stored."""
    with ctx.db.reader() as session:
        def n(query: Any) -> int:
            return int(session.execute(query).scalar_one())

        return {"calendars": n(select(func.count()).select_from(calendars)),
                "appointments": n(select(func.count()).select_from(calendar_appointments)),
                "emails": n(select(func.count()).select_from(outbox_messages).where(
                    outbox_messages.c.kind == "email"))}


def emails(ctx: AppContext) -> list[dict[str, Any]]:
    """Queued email payloads, oldest first."""
    with ctx.db.reader() as session:
        rows = session.execute(select(outbox_messages.c.payload).where(
            outbox_messages.c.kind == "email").order_by(outbox_messages.c.created_at,
                                                        outbox_messages.c.id))
        return [dict(r.payload) for r in rows]
