"""Marketing tables: segments and memberships, triggers and their runs, unsubscribes,
the event-stream cursor and RFM scores. Queries only; services commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Index,
    Integer,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    select,
    update,
)
from sqlalchemy.orm import Session

from kanaal.core.db import UtcDateTime, metadata

segments = Table(
    "segments",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("description", Text, nullable=False, default=""),
    Column("rule", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

segment_members = Table(
    "segment_members",
    metadata,
    Column("segment_id", String(40), nullable=False),
    Column("customer_id", String(40), nullable=False),
    Column("entered_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("segment_id", "customer_id"),
    Index("ix_segment_members_customer_id", "customer_id"),
)

# When time alone may change a customer's memberships (an event leaves a rule's window).
segment_rechecks = Table(
    "segment_rechecks",
    metadata,
    Column("customer_id", String(40), primary_key=True),
    Column("due_at", UtcDateTime, nullable=False, index=True),
)

customer_rfm = Table(
    "customer_rfm",
    metadata,
    Column("customer_id", String(40), primary_key=True),
    Column("recency", Integer, nullable=False),
    Column("frequency", Integer, nullable=False),
    Column("monetary", Integer, nullable=False),
    Column("orders", Integer, nullable=False),
    Column("revenue", Numeric(14, 2), nullable=False),
    Column("computed_at", UtcDateTime, nullable=False),
)

stream_cursors = Table(
    "stream_cursors",
    metadata,
    Column("name", String(60), primary_key=True),
    Column("received_at", UtcDateTime, nullable=True),
    Column("event_id", String(40), nullable=True),
)

triggers = Table(
    "triggers",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("event", String(255), nullable=False, index=True),
    Column("definition", JSON, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UtcDateTime, nullable=False),
)

trigger_runs = Table(
    "trigger_runs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("trigger_id", String(40), nullable=False),
    Column("customer_id", String(40), nullable=False),
    Column("source_event_id", String(40), nullable=False),
    # scheduled, sent, superseded, cancelled, capped, held_out, no_consent, condition_failed
    Column("status", String(20), nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("processed_at", UtcDateTime, nullable=True),
    Column("message_id", String(40), nullable=True),
    UniqueConstraint("trigger_id", "source_event_id"),
    Index("ix_trigger_runs_due", "status", "due_at"),
    Index("ix_trigger_runs_customer", "customer_id", "trigger_id"),
)

unsubscribes = Table(
    "unsubscribes",
    metadata,
    Column("customer_id", String(40), nullable=False),
    Column("channel", String(10), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("customer_id", "channel"),
)


def cursor(session: Session, name: str) -> tuple[datetime, str] | None:
    """Where the named consumer stopped reading the event stream."""
    row = session.execute(select(stream_cursors).where(stream_cursors.c.name == name)).first()
    if row is None or row.received_at is None:
        return None
    return row.received_at, row.event_id


def save_cursor(session: Session, name: str, position: tuple[datetime, str]) -> None:
    """Move the named consumer's cursor."""
    updated = session.execute(
        update(stream_cursors).where(stream_cursors.c.name == name)
        .values(received_at=position[0], event_id=position[1])
    )
    if getattr(updated, "rowcount", 0) == 0:
        session.execute(stream_cursors.insert().values(
            name=name, received_at=position[0], event_id=position[1]))


def all_segments(session: Session) -> list[Any]:
    """Every segment, oldest first."""
    return list(session.execute(select(segments).order_by(segments.c.created_at, segments.c.id)))


def memberships(session: Session, customer_ids: Sequence[str]) -> set[tuple[str, str]]:
    """(segment_id, customer_id) pairs for these customers."""
    if not customer_ids:
        return set()
    rows = session.execute(
        select(segment_members.c.segment_id, segment_members.c.customer_id)
        .where(segment_members.c.customer_id.in_(list(customer_ids)))
    )
    return {(row[0], row[1]) for row in rows}


def members_of(session: Session, segment_id: str, *, limit: int, after: str | None) -> list[Any]:
    """A segment's members in customer id order."""
    query = select(segment_members).where(segment_members.c.segment_id == segment_id)
    if after is not None:
        query = query.where(segment_members.c.customer_id > after)
    return list(session.execute(query.order_by(segment_members.c.customer_id).limit(limit)))


def add_members(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert memberships."""
    if rows:
        session.execute(segment_members.insert(), rows)


def remove_members(session: Session, pairs: Sequence[tuple[str, str]]) -> None:
    """Delete memberships."""
    for segment_id, customer_id in pairs:
        session.execute(delete(segment_members).where(
            segment_members.c.segment_id == segment_id,
            segment_members.c.customer_id == customer_id,
        ))


def set_rechecks(session: Session, due: dict[str, datetime | None]) -> None:
    """Replace the recheck time of each customer (None removes it)."""
    if not due:
        return
    session.execute(delete(segment_rechecks).where(segment_rechecks.c.customer_id.in_(list(due))))
    rows = [{"customer_id": cid, "due_at": at} for cid, at in due.items() if at is not None]
    if rows:
        session.execute(segment_rechecks.insert(), rows)


def due_rechecks(session: Session, now: datetime, limit: int) -> list[str]:
    """Customers whose memberships may have changed with time."""
    rows = session.execute(
        select(segment_rechecks.c.customer_id).where(segment_rechecks.c.due_at <= now)
        .order_by(segment_rechecks.c.due_at).limit(limit)
    )
    return [row[0] for row in rows]


def rfm_of(session: Session, customer_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """Stored RFM scores of these customers."""
    if not customer_ids:
        return {}
    rows = session.execute(
        select(customer_rfm).where(customer_rfm.c.customer_id.in_(list(customer_ids)))
    )
    return {
        row.customer_id: {"recency": row.recency, "frequency": row.frequency,
                          "monetary": row.monetary}
        for row in rows
    }


def replace_rfm(session: Session, rows: list[dict[str, Any]]) -> None:
    """Store freshly computed RFM scores for every customer that has orders."""
    session.execute(delete(customer_rfm))
    if rows:
        session.execute(customer_rfm.insert(), rows)
