"""Customer tables (identities, traits, timeline, merges, suppressions) and their queries.

Every customer-scoped table carries `customer_id` so it can be distributed by that key.
Nothing here commits; services own the transactions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Index,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
    and_,
    bindparam,
    case,
    delete,
    func,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from kanaal.core.db import UtcDateTime, metadata
from kanaal.customers.domain import Identity

customers = Table(
    "customers",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("first_seen_at", UtcDateTime, nullable=True),
    Column("last_seen_at", UtcDateTime, nullable=True),
    # Set when this customer was merged into another; lookups follow it to the survivor.
    Column("merged_into", String(40), nullable=True),
)

customer_identities = Table(
    "customer_identities",
    metadata,
    Column("type", String(40), nullable=False),
    Column("value", String(255), nullable=False),
    Column("customer_id", String(40), nullable=False),
    Column("source", String(100), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("type", "value"),
    Index("ix_customer_identities_customer_id", "customer_id"),
)

customer_traits = Table(
    "customer_traits",
    metadata,
    Column("customer_id", String(40), nullable=False),
    Column("name", String(200), nullable=False),
    Column("value", JSON, nullable=True),
    Column("source", String(100), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("customer_id", "name"),
)

customer_events = Table(
    "customer_events",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("customer_id", String(40), nullable=False),
    Column("source", String(100), nullable=False),
    Column("message_id", String(255), nullable=False),
    Column("type", String(16), nullable=False),
    Column("event", String(255), nullable=True),
    Column("name", String(255), nullable=True),
    Column("channel", String(20), nullable=False),
    Column("user_id", String(255), nullable=True),
    Column("anonymous_id", String(255), nullable=True),
    Column("properties", JSON, nullable=False),
    Column("traits", JSON, nullable=False),
    Column("context", JSON, nullable=False),
    Column("timestamp", UtcDateTime, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    # messageId dedupe that survives restarts: the database refuses a second copy.
    UniqueConstraint("source", "message_id"),
    Index("ix_customer_events_timeline", "customer_id", "timestamp", "id"),
)

customer_merges = Table(
    "customer_merges",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("customer_id", String(40), nullable=False),  # the survivor
    Column("merged_id", String(40), nullable=False),
    Column("message_id", String(255), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_customer_merges_customer_id", "customer_id"),
)

# Hashes of erased identities: events carrying them are dropped until a new consent.
identity_suppressions = Table(
    "identity_suppressions",
    metadata,
    Column("identity_hash", String(64), primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
)

_CHUNK = 400  # keeps IN lists under SQLite's bound-parameter limit


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _insert(session: Session, table: Table) -> Any:
    """A dialect insert that knows ON CONFLICT (SQLite and PostgreSQL both do)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


# ---------------------------------------------------------------- intake queries


def existing_message_ids(
    session: Session, pairs: Sequence[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Which (source, message_id) pairs are already stored."""
    by_source: dict[str, list[str]] = defaultdict(list)
    for source, message_id in pairs:
        by_source[source].append(message_id)
    found: set[tuple[str, str]] = set()
    for source, message_ids in by_source.items():
        for chunk in _chunks(message_ids):
            rows = session.execute(
                select(customer_events.c.message_id).where(
                    customer_events.c.source == source, customer_events.c.message_id.in_(chunk)
                )
            )
            found.update((source, row[0]) for row in rows)
    return found


def owners_of(session: Session, identities: Sequence[Identity]) -> list[tuple[Identity, str]]:
    """The stored customer of each identity that has one."""
    found: list[tuple[Identity, str]] = []
    for chunk in _chunks(identities):
        rows = session.execute(
            select(
                customer_identities.c.type, customer_identities.c.value,
                customer_identities.c.customer_id,
            ).where(
                tuple_(customer_identities.c.type, customer_identities.c.value).in_(
                    [(i.type, i.value) for i in chunk]
                )
            )
        )
        found.extend((Identity(row[0], row[1]), row[2]) for row in rows)
    return found


def identity_counts(session: Session, customer_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """Identities per type held by each customer."""
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for chunk in _chunks(customer_ids):
        rows = session.execute(
            select(
                customer_identities.c.customer_id, customer_identities.c.type, func.count()
            )
            .where(customer_identities.c.customer_id.in_(chunk))
            .group_by(customer_identities.c.customer_id, customer_identities.c.type)
        )
        for customer_id, identity_type, count in rows:
            counts[customer_id][identity_type] = int(count)
    return dict(counts)


def suppressed_hashes(session: Session, hashes: Sequence[str]) -> set[str]:
    """Which identity hashes are suppressed."""
    found: set[str] = set()
    for chunk in _chunks(hashes):
        rows = session.execute(
            select(identity_suppressions.c.identity_hash).where(
                identity_suppressions.c.identity_hash.in_(chunk)
            )
        )
        found.update(row[0] for row in rows)
    return found


def lift_suppressions(session: Session, hashes: Sequence[str]) -> None:
    """Forget suppression records (a new consent was given)."""
    for chunk in _chunks(hashes):
        session.execute(
            delete(identity_suppressions).where(identity_suppressions.c.identity_hash.in_(chunk))
        )


def add_suppressions(session: Session, hashes: Sequence[str], at: datetime) -> None:
    """Record suppressions (idempotent)."""
    if hashes:
        session.execute(
            _insert(session, identity_suppressions).on_conflict_do_nothing(),
            [{"identity_hash": h, "created_at": at} for h in hashes],
        )


def survivors(session: Session, customer_ids: Sequence[str]) -> dict[str, str]:
    """Each known customer id mapped to the customer it was (transitively) merged into."""
    result: dict[str, str] = {}
    for start in customer_ids:
        current = start
        for _ in range(64):
            row = session.execute(
                select(customers.c.merged_into).where(customers.c.id == current)
            ).first()
            if row is None:
                break
            if row[0] is None:
                result[start] = current
                break
            current = row[0]
    return result


def insert_customers(session: Session, rows: list[dict[str, Any]]) -> None:
    """Create customers (id, created_at, first/last seen, merged_into)."""
    if rows:
        session.execute(customers.insert(), rows)


def insert_identities(session: Session, rows: list[dict[str, Any]]) -> None:
    """Attach identities (type, value, customer_id, source, created_at)."""
    if rows:
        session.execute(customer_identities.insert(), rows)


def insert_events(session: Session, rows: list[dict[str, Any]]) -> None:
    """Append events; a (source, message_id) already stored is skipped by the constraint."""
    if rows:
        session.execute(
            _insert(session, customer_events).on_conflict_do_nothing(
                index_elements=["source", "message_id"]
            ),
            rows,
        )


def insert_merges(session: Session, rows: list[dict[str, Any]]) -> None:
    """Log merges (id, customer_id = survivor, merged_id, message_id, created_at)."""
    if rows:
        session.execute(customer_merges.insert(), rows)


def upsert_traits(session: Session, rows: list[dict[str, Any]]) -> None:
    """Set traits (customer_id, name, value, source, updated_at), replacing older values."""
    if not rows:
        return
    statement = _insert(session, customer_traits)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["customer_id", "name"],
            set_={
                "value": statement.excluded.value,
                "source": statement.excluded.source,
                "updated_at": statement.excluded.updated_at,
            },
        ),
        rows,
    )


def delete_traits(session: Session, pairs: Sequence[tuple[str, str]]) -> None:
    """Remove traits given as (customer_id, name)."""
    for customer_id, name in pairs:
        session.execute(
            delete(customer_traits).where(
                customer_traits.c.customer_id == customer_id, customer_traits.c.name == name
            )
        )


def touch_seen(session: Session, rows: list[dict[str, Any]]) -> None:
    """Widen first/last seen of existing customers (cid, first, last)."""
    if not rows:
        return
    first, last = bindparam("first", type_=UtcDateTime), bindparam("last", type_=UtcDateTime)
    session.execute(
        update(customers)
        .where(customers.c.id == bindparam("cid"))
        .values(
            first_seen_at=case(
                (or_(customers.c.first_seen_at.is_(None), customers.c.first_seen_at > first),
                 first),
                else_=customers.c.first_seen_at,
            ),
            last_seen_at=case(
                (or_(customers.c.last_seen_at.is_(None), customers.c.last_seen_at < last), last),
                else_=customers.c.last_seen_at,
            ),
        )
        .execution_options(synchronize_session=False),
        rows,
    )


def apply_merge(session: Session, *, survivor: str, merged: str) -> None:
    """Move a stored customer's identities, events and traits to the survivor."""
    for table in (customer_identities, customer_events):
        session.execute(
            update(table).where(table.c.customer_id == merged).values(customer_id=survivor)
        )
    mine = {
        row.name: row
        for row in session.execute(
            select(customer_traits).where(customer_traits.c.customer_id == survivor)
        )
    }
    moved = []
    for row in session.execute(
        select(customer_traits).where(customer_traits.c.customer_id == merged)
    ):
        current = mine.get(row.name)
        if current is None or current.updated_at < row.updated_at:
            moved.append({"customer_id": survivor, "name": row.name, "value": row.value,
                          "source": row.source, "updated_at": row.updated_at})
    session.execute(delete(customer_traits).where(customer_traits.c.customer_id == merged))
    upsert_traits(session, moved)
    seen = session.execute(
        select(customers.c.first_seen_at, customers.c.last_seen_at).where(
            customers.c.id == merged
        )
    ).first()
    if seen is not None and seen[0] is not None:
        touch_seen(session, [{"cid": survivor, "first": seen[0], "last": seen[1]}])
    session.execute(
        update(customers).where(customers.c.id == merged)
        .values(merged_into=survivor, first_seen_at=None, last_seen_at=None)
    )
    # Earlier merges into `merged` now point at the survivor directly.
    session.execute(
        update(customers).where(customers.c.merged_into == merged).values(merged_into=survivor)
    )


# ---------------------------------------------------------------- reads


def find_customer(session: Session, identity: Identity) -> str | None:
    """The customer an identity points at."""
    row = session.execute(
        select(customer_identities.c.customer_id).where(
            and_(customer_identities.c.type == identity.type,
                 customer_identities.c.value == identity.value)
        )
    ).first()
    return None if row is None else str(row[0])


def customer_row(session: Session, customer_id: str) -> Any | None:
    """The customers row."""
    return session.execute(select(customers).where(customers.c.id == customer_id)).first()


def identities_of(session: Session, customer_id: str) -> list[Any]:
    """A customer's identities, oldest first."""
    return list(session.execute(
        select(customer_identities)
        .where(customer_identities.c.customer_id == customer_id)
        .order_by(customer_identities.c.created_at, customer_identities.c.type,
                  customer_identities.c.value)
    ))


def traits_of(session: Session, customer_id: str) -> list[Any]:
    """A customer's traits by name."""
    return list(session.execute(
        select(customer_traits)
        .where(customer_traits.c.customer_id == customer_id)
        .order_by(customer_traits.c.name)
    ))


def channels_of(session: Session, customer_id: str) -> list[str]:
    """The channels a customer's events came through."""
    rows = session.execute(
        select(customer_events.c.channel)
        .where(customer_events.c.customer_id == customer_id)
        .distinct()
        .order_by(customer_events.c.channel)
    )
    return [row[0] for row in rows]


def events_page(
    session: Session,
    customer_id: str,
    *,
    limit: int,
    channel: str | None = None,
    since: datetime | None = None,
    before: tuple[datetime, str] | None = None,
) -> list[Any]:
    """A customer's events, newest first, optionally after a (timestamp, id) cursor."""
    query = select(customer_events).where(customer_events.c.customer_id == customer_id)
    if channel is not None:
        query = query.where(customer_events.c.channel == channel)
    if since is not None:
        query = query.where(customer_events.c.timestamp >= since)
    if before is not None:
        at, event_id = before
        query = query.where(
            or_(customer_events.c.timestamp < at,
                and_(customer_events.c.timestamp == at, customer_events.c.id < event_id))
        )
    query = query.order_by(customer_events.c.timestamp.desc(), customer_events.c.id.desc())
    return list(session.execute(query.limit(limit)))


def event_customer(session: Session, source: str, message_id: str) -> str | None:
    """The customer an already stored event belongs to."""
    row = session.execute(
        select(customer_events.c.customer_id).where(
            customer_events.c.source == source, customer_events.c.message_id == message_id
        )
    ).first()
    return None if row is None else str(row[0])


def erase(session: Session, customer_id: str) -> list[Identity]:
    """Delete a customer with its identities, traits, events, merge log and merged shells."""
    identities = [Identity(row.type, row.value) for row in identities_of(session, customer_id)]
    shells = [row[0] for row in session.execute(
        select(customers.c.id).where(customers.c.merged_into == customer_id)
    )]
    everyone = [customer_id, *shells]
    for table in (customer_identities, customer_traits, customer_events, customer_merges):
        session.execute(delete(table).where(table.c.customer_id.in_(everyone)))
    session.execute(delete(customer_merges).where(customer_merges.c.merged_id.in_(everyone)))
    session.execute(delete(customers).where(customers.c.id.in_(everyone)))
    return identities
