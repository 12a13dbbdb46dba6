"""Read models for consumers of the event stream (segments, triggers, analytics): events in
arrival order after a cursor, and batch snapshots of customers for rule evaluation."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from kanaal.customers import store
from kanaal.customers.store import customer_events, customer_identities, customer_traits, customers

_CHUNK = 400


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One stored event as consumers see it."""

    id: str
    customer_id: str
    type: str
    event: str | None
    channel: str
    properties: dict[str, Any]
    timestamp: datetime
    received_at: datetime


@dataclass
class CustomerSnapshot:
    """Traits, identity types and (selected) events of one customer."""

    customer_id: str
    traits: dict[str, Any] = field(default_factory=dict)
    identity_types: set[str] = field(default_factory=set)
    events: list[StreamEvent] = field(default_factory=list)


def _stream_event(row: Any) -> StreamEvent:
    return StreamEvent(row.id, row.customer_id, row.type, row.event, row.channel,
                       dict(row.properties or {}), row.timestamp, row.received_at)


def events_after(
    session: Session, *, after: tuple[datetime, str] | None, limit: int = 1000
) -> list[StreamEvent]:
    """Events in arrival order (received_at, id) after the cursor `after`."""
    query = select(customer_events)
    if after is not None:
        at, event_id = after
        query = query.where(
            or_(customer_events.c.received_at > at,
                and_(customer_events.c.received_at == at, customer_events.c.id > event_id))
        )
    query = query.order_by(customer_events.c.received_at, customer_events.c.id).limit(limit)
    return [_stream_event(row) for row in session.execute(query)]


def surviving_customer_ids(session: Session, *, after: str | None, limit: int) -> list[str]:
    """Customer ids that were not merged away, in id order after `after` (for paging)."""
    query = select(customers.c.id).where(customers.c.merged_into.is_(None))
    if after is not None:
        query = query.where(customers.c.id > after)
    return [row[0] for row in session.execute(query.order_by(customers.c.id).limit(limit))]


def count_surviving_customers(session: Session) -> int:
    """How many customers there are (merged-away shells not counted)."""
    return int(session.execute(
        select(func.count()).select_from(customers).where(customers.c.merged_into.is_(None))
    ).scalar_one())


def survivors_of(session: Session, customer_ids: Sequence[str]) -> dict[str, str | None]:
    """For each id, the customer it now lives on (itself if not merged; None if erased)."""
    found = store.survivors(session, list(customer_ids))
    return {cid: found.get(cid) for cid in customer_ids}


def snapshots(
    session: Session,
    customer_ids: Sequence[str],
    *,
    since: datetime | None,
    event_names: frozenset[str] | None,
) -> dict[str, CustomerSnapshot]:
    """Snapshots of many customers at once; events since `since`, only `event_names` if given."""
    result = {cid: CustomerSnapshot(cid) for cid in customer_ids}
    ids = list(result)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        for cid, name, value in session.execute(
            select(customer_traits.c.customer_id, customer_traits.c.name,
                   customer_traits.c.value).where(customer_traits.c.customer_id.in_(chunk))
        ):
            result[cid].traits[name] = value
        for cid, kind in session.execute(
            select(customer_identities.c.customer_id, customer_identities.c.type)
            .where(customer_identities.c.customer_id.in_(chunk)).distinct()
        ):
            result[cid].identity_types.add(kind)
        if event_names is not None and not event_names:
            continue
        query = select(customer_events).where(customer_events.c.customer_id.in_(chunk))
        if since is not None:
            query = query.where(customer_events.c.timestamp > since)
        if event_names is not None:
            query = query.where(customer_events.c.event.in_(sorted(event_names)))
        grouped: dict[str, list[StreamEvent]] = defaultdict(list)
        for row in session.execute(query.order_by(customer_events.c.timestamp)):
            grouped[row.customer_id].append(_stream_event(row))
        for cid, events in grouped.items():
            result[cid].events = events
    return result


def contact_points(session: Session, customer_id: str) -> dict[str, list[str]]:
    """A customer's email addresses and phone numbers (normalised as stored), oldest first."""
    rows = session.execute(
        select(customer_identities.c.type, customer_identities.c.value)
        .where(customer_identities.c.customer_id == customer_id,
               customer_identities.c.type.in_(["email", "phone"]))
        .order_by(customer_identities.c.created_at)
    )
    found: dict[str, list[str]] = {"email": [], "phone": []}
    for kind, value in rows:
        found[kind].append(value)
    return found


def events_of_after(
    session: Session, customer_id: str, *, after: datetime, names: Sequence[str],
    exclude_id: str | None = None,
) -> int:
    """How many of a customer's events named `names` happened at or after `after`
    (leaving out the event `exclude_id`, typically the one that started the count)."""
    if not names:
        return 0
    query = select(func.count()).select_from(customer_events).where(
        customer_events.c.customer_id == customer_id,
        customer_events.c.event.in_(list(names)),
        customer_events.c.timestamp >= after,
    )
    if exclude_id is not None:
        query = query.where(customer_events.c.id != exclude_id)
    return int(session.execute(query).scalar_one())


def event_by_id(session: Session, event_id: str) -> StreamEvent | None:
    """One stored event."""
    row = session.execute(select(customer_events).where(customer_events.c.id == event_id)).first()
    return None if row is None else _stream_event(row)
