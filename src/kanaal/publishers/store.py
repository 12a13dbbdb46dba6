"""Tables and queries of campaigns, their events and their appointments (never commits)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import (
    JSON,
    Column,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    func,
    insert,
    select,
    text,
    update,
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
    # The campaign runs in [starts_at, ends_at); no bound where NULL (publishers_0003).
    Column("starts_at", UtcDateTime, nullable=True),
    Column("ends_at", UtcDateTime, nullable=True),
    Column("attribution_days", Integer, nullable=False, server_default=text("30")),
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

# A campaign's bookings. The appointments themselves (slot, status, who) live in the shared
# calendars feature (kanaal.calendars); this link says which campaign brought each one.
publisher_appointments = Table(
    "publisher_appointments",
    metadata,
    Column("appointment_id", String(40), primary_key=True),
    Column("campaign_id", String(40), nullable=False, index=True),
    Column("customer_id", String(40), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)


def _calendar_json(calendar: Calendar | None) -> dict[str, Any] | None:
    """Only the reference: the hours are the shared calendar's (kanaal.calendars)."""
    if calendar is None:
        return None
    return {"resource_kind": calendar.resource_kind, "resource_id": calendar.resource_id}


def _calendar(raw: dict[str, Any] | None) -> Calendar | None:
    if raw is None:
        return None
    return Calendar(resource_kind=raw["resource_kind"], resource_id=raw["resource_id"])


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
        cost_per_click=Decimal(row.cost_per_click), created_at=row.created_at,
        starts_at=row.starts_at, ends_at=row.ends_at, attribution_days=row.attribution_days)


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
        cost_per_click=c.cost_per_click, created_at=c.created_at, starts_at=c.starts_at,
        ends_at=c.ends_at, attribution_days=c.attribution_days))


def find_campaign(session: Session, ref: str, *,
                  lock: Literal["update", "share"] | None = None) -> Campaign | None:
    """A campaign by id or handle. `lock="update"` locks its row until the transaction ends
    (a change of its period); `"share"` keeps it from changing meanwhile (a booking)."""
    query = select(publisher_campaigns).where(
        (publisher_campaigns.c.id == ref) | (publisher_campaigns.c.handle == ref))
    if lock is not None:
        query = query.with_for_update(read=lock == "share")
    row = session.execute(query).first()
    return None if row is None else _campaign(row)


def update_campaign(session: Session, campaign_id: str, **values: Any) -> None:
    """Change a campaign's period or attribution window (starts_at, ends_at, attribution_days)."""
    session.execute(update(publisher_campaigns).where(publisher_campaigns.c.id == campaign_id)
                    .values(**values))


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


def find_event(session: Session, decision_id: str, kind: str) -> Any:
    """The event of one kind for one invitation (its decision id)."""
    return session.execute(select(publisher_events).where(
        publisher_events.c.decision_id == decision_id, publisher_events.c.kind == kind)).first()


def link_appointment(session: Session, **values: Any) -> None:
    """Record that a campaign brought an appointment (appointment_id, campaign_id, ...)."""
    session.execute(insert(publisher_appointments).values(**values))


def appointments_of(session: Session, *, campaign_id: str | None = None
                    ) -> list[dict[str, Any]]:
    """The appointments a campaign (or every campaign) brought, oldest first."""
    query = select(publisher_appointments).order_by(publisher_appointments.c.created_at,
                                                    publisher_appointments.c.appointment_id)
    if campaign_id is not None:
        query = query.where(publisher_appointments.c.campaign_id == campaign_id)
    return [dict(r._mapping) for r in session.execute(query)]
