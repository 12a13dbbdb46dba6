"""Tables and queries of campaigns, their events and appointments (never commits)."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Index,
    Numeric,
    String,
    Table,
    UniqueConstraint,
    func,
    insert,
    select,
)
from sqlalchemy.orm import Session

from kanaal.core.db import UtcDateTime, metadata
from kanaal.publishers.domain import Calendar, Campaign, InviteChannel, Rules

publisher_campaigns = Table(
    "publisher_campaigns",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("handle", String(60), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("publisher", String(200), nullable=False),
    Column("sku", String(100), nullable=True),
    Column("expected_value", Numeric(14, 2), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("headline", String(200), nullable=False),
    Column("body", String(1000), nullable=False),
    Column("rules", JSON, nullable=False),
    Column("channels", JSON, nullable=False),
    Column("calendar", JSON, nullable=True),
    Column("cost_per_mille", Numeric(14, 2), nullable=False),
    Column("cost_per_click", Numeric(14, 2), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

publisher_events = Table(
    "publisher_events",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("campaign_id", String(40), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("customer_id", String(40), nullable=True),
    Column("decision_id", String(40), nullable=True),
    Column("channel", String(20), nullable=True),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_publisher_events_campaign", "campaign_id", "kind"),
)

appointments = Table(
    "appointments",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("campaign_id", String(40), nullable=True, index=True),
    Column("resource_kind", String(10), nullable=False),
    Column("resource_id", String(40), nullable=False),
    Column("slot_start", UtcDateTime, nullable=False),
    Column("slot_end", UtcDateTime, nullable=False),
    Column("customer_id", String(40), nullable=False),
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=False),
    Column("phone", String(40), nullable=True),
    Column("status", String(20), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # The last guard against double booking: one appointment per resource and slot.
    UniqueConstraint("resource_kind", "resource_id", "slot_start", name="uq_appointment_slot"),
)


def _calendar_json(calendar: Calendar | None) -> dict[str, Any] | None:
    if calendar is None:
        return None
    return {"resource_kind": calendar.resource_kind, "resource_id": calendar.resource_id,
            "slot_minutes": calendar.slot_minutes, "opens": calendar.opens.isoformat("minutes"),
            "closes": calendar.closes.isoformat("minutes"), "weekdays": list(calendar.weekdays)}


def _calendar(raw: dict[str, Any] | None) -> Calendar | None:
    if raw is None:
        return None
    return Calendar(resource_kind=raw["resource_kind"], resource_id=raw["resource_id"],
                    slot_minutes=int(raw["slot_minutes"]), opens=time.fromisoformat(raw["opens"]),
                    closes=time.fromisoformat(raw["closes"]), weekdays=tuple(raw["weekdays"]))


def _campaign(row: Any) -> Campaign:
    rules = row.rules
    return Campaign(
        id=row.id, handle=row.handle, name=row.name, publisher=row.publisher, sku=row.sku,
        expected_value=Decimal(row.expected_value), currency=row.currency,
        headline=row.headline, body=row.body,
        rules=Rules(segments=tuple(rules["segments"]), min_score=rules["min_score"],
                    page_types=tuple(rules["page_types"]), keywords=tuple(rules["keywords"])),
        channels=tuple(InviteChannel(**c) for c in row.channels),
        calendar=_calendar(row.calendar), cost_per_mille=Decimal(row.cost_per_mille),
        cost_per_click=Decimal(row.cost_per_click), created_at=row.created_at)


def insert_campaign(session: Session, c: Campaign) -> None:
    """Store a new campaign."""
    session.execute(insert(publisher_campaigns).values(
        id=c.id, handle=c.handle, name=c.name, publisher=c.publisher, sku=c.sku,
        expected_value=c.expected_value, currency=c.currency, headline=c.headline, body=c.body,
        rules={"segments": list(c.rules.segments), "min_score": c.rules.min_score,
               "page_types": list(c.rules.page_types), "keywords": list(c.rules.keywords)},
        channels=[{"type": ch.type, "queue": ch.queue, "number": ch.number}
                  for ch in c.channels],
        calendar=_calendar_json(c.calendar), cost_per_mille=c.cost_per_mille,
        cost_per_click=c.cost_per_click, created_at=c.created_at))


def find_campaign(session: Session, ref: str) -> Campaign | None:
    """A campaign by id or handle."""
    row = session.execute(select(publisher_campaigns).where(
        (publisher_campaigns.c.id == ref) | (publisher_campaigns.c.handle == ref))).first()
    return None if row is None else _campaign(row)


def all_campaigns(session: Session) -> list[Campaign]:
    """Every campaign, newest first."""
    rows = session.execute(select(publisher_campaigns).order_by(
        publisher_campaigns.c.created_at.desc(), publisher_campaigns.c.id.desc()))
    return [_campaign(r) for r in rows]


def insert_event(session: Session, **values: Any) -> None:
    """An impression, click or contact of a campaign."""
    session.execute(insert(publisher_events).values(**values))


def event_counts(session: Session, campaign_id: str) -> dict[str, int]:
    """Events per kind of one campaign."""
    rows = session.execute(select(publisher_events.c.kind, func.count()).where(
        publisher_events.c.campaign_id == campaign_id).group_by(publisher_events.c.kind))
    return {kind: int(n) for kind, n in rows}


def reached_customers(session: Session, campaign_id: str) -> dict[str, datetime]:
    """Customers the campaign showed an invitation to, with their first impression."""
    rows = session.execute(select(publisher_events.c.customer_id, publisher_events.c.at).where(
        publisher_events.c.campaign_id == campaign_id, publisher_events.c.kind == "impression",
        publisher_events.c.customer_id.is_not(None)).order_by(publisher_events.c.at.desc()))
    first: dict[str, datetime] = {}
    for customer, at in rows:
        first[customer] = at  # newest first, so the last write is the first impression
    return first


def find_event(session: Session, decision_id: str, kind: str) -> Any:
    """The event of one kind for one invitation (its decision id)."""
    return session.execute(select(publisher_events).where(
        publisher_events.c.decision_id == decision_id, publisher_events.c.kind == kind)).first()


def insert_appointment(session: Session, **values: Any) -> None:
    """Book a slot (IntegrityError when the slot is taken)."""
    session.execute(insert(appointments).values(**values))


def booked_slots(session: Session, kind: str, resource_id: str, start: datetime,
                 end: datetime) -> set[datetime]:
    """Slot starts already booked for a resource in [start, end)."""
    rows = session.execute(select(appointments.c.slot_start).where(
        appointments.c.resource_kind == kind, appointments.c.resource_id == resource_id,
        appointments.c.slot_start >= start, appointments.c.slot_start < end))
    return set(rows.scalars())


def appointments_of(session: Session, *, campaign_id: str | None = None,
                    resource: tuple[str, str] | None = None) -> list[dict[str, Any]]:
    """Appointments of a campaign or a resource, by slot."""
    query = select(appointments).order_by(appointments.c.slot_start)
    if campaign_id is not None:
        query = query.where(appointments.c.campaign_id == campaign_id)
    if resource is not None:
        query = query.where(appointments.c.resource_kind == resource[0],
                            appointments.c.resource_id == resource[1])
    return [dict(r._mapping) for r in session.execute(query)]
