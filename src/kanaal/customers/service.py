"""Customer use cases: lookup by identity, profile, timeline, erasure; helpers for producers."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from kanaal.core.context import AppContext
from kanaal.core.errors import InvalidInput, NotFound
from kanaal.customers import store
from kanaal.customers.domain import Identity, identity_hash
from kanaal.customers.ingest import IngestReport, identity_rules, ingest_in
from kanaal.customers.normalize import make_identity

__all__ = [
    "IngestReport",
    "Profile",
    "erase_customer",
    "find_customer_id",
    "get_profile",
    "ingest_in",
    "lookup_customer",
    "recent_events",
    "timeline",
]

MAX_TIMELINE_LIMIT = 200


def _survivor(session: Session, customer_id: str) -> str | None:
    return store.survivors(session, [customer_id]).get(customer_id)


def find_customer_id(session: Session, identity_type: str, value: str) -> str | None:
    """The (surviving) customer an identity points at; the value is matched as stored."""
    found = store.find_customer(session, Identity(identity_type, value))
    if found is None:
        return None
    customer_id, exists, merged_into = found
    if exists and merged_into is None:
        return customer_id
    return _survivor(session, merged_into or customer_id)


def _event_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row.id, "type": row.type, "event": row.event, "channel": row.channel,
        "properties": row.properties, "timestamp": row.timestamp,
    }


def recent_events(
    session: Session, customer_id: str, *, limit: int = 50, since: datetime | None = None,
    channel: str | None = None,
) -> list[dict[str, Any]]:
    """A customer's latest events (id, type, event, channel, properties, timestamp), newest
    first."""
    survivor = _survivor(session, customer_id)
    if survivor is None:
        return []
    rows = store.events_page(session, survivor, limit=limit, channel=channel, since=since)
    return [_event_dict(row) for row in rows]


def lookup_customer(ctx: AppContext, identity_type: str, raw_value: str) -> str:
    """The customer id for an identity given as a client would send it (normalised first)."""
    identity = make_identity(identity_type, raw_value, rules=identity_rules(ctx),
                             region=ctx.settings.default_phone_region)
    if identity is None:
        raise InvalidInput(f"{raw_value!r} is not a usable {identity_type}",
                           code="invalid_identity")
    with ctx.db.reader() as session:
        found = find_customer_id(session, identity.type, identity.value)
    if found is None:
        raise NotFound(f"no customer with that {identity_type}", code="customer_not_found")
    return found


@dataclass(frozen=True)
class Profile:
    """One customer as the API shows it."""

    id: str
    created_at: datetime
    first_seen_at: datetime | None
    last_seen_at: datetime | None
    identities: list[dict[str, Any]]
    traits: dict[str, dict[str, Any]]
    channels: list[str]


def get_profile(ctx: AppContext, customer_id: str) -> Profile:
    """Identities, traits (with source and last update), first/last seen and channels used."""
    with ctx.db.reader() as session:
        survivor = _survivor(session, customer_id)
        row = None if survivor is None else store.customer_row(session, survivor)
        if survivor is None or row is None:
            raise NotFound(f"no customer {customer_id!r}", code="customer_not_found")
        identities = [
            {"type": i.type, "value": i.value, "source": i.source, "created_at": i.created_at}
            for i in store.identities_of(session, survivor)
        ]
        traits = {
            t.name: {"value": t.value, "source": t.source, "updated_at": t.updated_at}
            for t in store.traits_of(session, survivor)
        }
        channels = store.channels_of(session, survivor)
        first_seen, last_seen = store.seen_span(session, survivor)
    return Profile(survivor, row.created_at, first_seen, last_seen, identities, traits, channels)


def _encode_cursor(row: Any) -> str:
    raw = json.dumps([row.timestamp.isoformat(), row.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, event_id = json.loads(raw)
        at = datetime.fromisoformat(stamp)
        if at.tzinfo is None or not isinstance(event_id, str):
            raise ValueError("bad cursor")
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise InvalidInput("the cursor is not one this API returned",
                           code="invalid_cursor") from exc
    return at, event_id


def timeline(
    ctx: AppContext, customer_id: str, *, limit: int = 50, channel: str | None = None,
    cursor: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of a customer's events across channels, newest first, and the next cursor."""
    if not 1 <= limit <= MAX_TIMELINE_LIMIT:
        raise InvalidInput(f"limit must be 1..{MAX_TIMELINE_LIMIT}", code="invalid_limit")
    before = None if cursor is None else _decode_cursor(cursor)
    with ctx.db.reader() as session:
        survivor = _survivor(session, customer_id)
        if survivor is None:
            raise NotFound(f"no customer {customer_id!r}", code="customer_not_found")
        rows = store.events_page(session, survivor, limit=limit + 1, channel=channel,
                                 before=before)
    page = rows[:limit]
    events = [
        {**_event_dict(row), "name": row.name, "source": row.source,
         "message_id": row.message_id, "received_at": row.received_at, "traits": row.traits,
         "context": row.context}
        for row in page
    ]
    next_cursor = _encode_cursor(page[-1]) if len(rows) > limit else None
    return events, next_cursor


def erase_customer(ctx: AppContext, customer_id: str) -> int:
    """Delete a customer's identities, traits and events; suppress its identities. Returns
    how many identities are now suppressed."""

    def work(session: Session) -> int:
        survivor = _survivor(session, customer_id)
        if survivor is None:
            raise NotFound(f"no customer {customer_id!r}", code="customer_not_found")
        identities = store.erase(session, survivor)
        store.add_suppressions(session, [identity_hash(i) for i in identities], ctx.clock.now())
        return len(identities)

    return ctx.db.run(work)
