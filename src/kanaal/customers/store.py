"""Customer tables (identities, traits, timeline, merges, suppressions) and their queries.

Every customer-scoped table carries `customer_id` so it can be distributed by that key.
Nothing here commits; services own the transactions.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    Column,
    Index,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
    and_,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from kanaal.core.db import UtcDateTime, metadata
from kanaal.customers.domain import Identity, IncomingEvent

customers = Table(
    "customers",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
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


# The intake hot path talks to the driver directly: SQLAlchemy's per-row parameter processing
# costs more than the insert itself. Values are converted here exactly as the column types do.


class _Driver:
    """Placeholders and value conversion for the session's DBAPI (sqlite3 or psycopg)."""

    def __init__(self, session: Session) -> None:
        self.connection = session.connection()
        self.sqlite = self.connection.dialect.name == "sqlite"
        self.mark = "?" if self.connection.dialect.paramstyle == "qmark" else "%s"
        self._times: dict[datetime, str] = {}

    def marks(self, count: int) -> str:
        return ", ".join([self.mark] * count)

    def time(self, value: datetime | None) -> Any:
        if value is None or not self.sqlite:
            return value
        text = self._times.get(value)
        if text is None:
            # SQLite: naive UTC in SQLAlchemy's DATETIME storage format (string order = time).
            v = value.astimezone(UTC) if value.utcoffset() else value
            text = self._times[value] = v.replace(tzinfo=None).isoformat(
                sep=" ", timespec="microseconds"
            )
        return text

    def many(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        if rows:
            self.connection.exec_driver_sql(sql, list(rows))

    def select_in(
        self, head: str, fixed: tuple[Any, ...], values: Sequence[Any], tail: str = ""
    ) -> list[Any]:
        """Run `head IN (values...) tail` for chunks of `values`; all rows found."""
        found: list[Any] = []
        for chunk in _chunks(values):
            statement = f"{head} IN ({self.marks(len(chunk))}) {tail}"
            found.extend(self.connection.exec_driver_sql(statement, (*fixed, *chunk)).all())
        return found


def _plain(value: Any) -> Any:
    """JSON for what internal producers put in properties: Decimal money as a number (Segment's
    e-commerce spec has numbers), dates as ISO-8601, anything else as its text."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=_plain)
_ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS


def _json(value: Any) -> str:
    """Compact JSON text: orjson (several times faster on the intake path), or the standard
    encoder for what orjson refuses (integers over 64 bits)."""
    if not value:
        return "{}" if isinstance(value, dict) else _ENCODER.encode(value)
    try:
        return orjson.dumps(value, default=_plain, option=_ORJSON_OPTIONS).decode()
    except TypeError:
        return _ENCODER.encode(value)


# ---------------------------------------------------------------- intake queries


def existing_message_ids(
    session: Session, pairs: Sequence[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Which (source, message_id) pairs are already stored."""
    by_source: dict[str, list[str]] = defaultdict(list)
    for source, message_id in pairs:
        by_source[source].append(message_id)
    driver = _Driver(session)
    found: set[tuple[str, str]] = set()
    for source, message_ids in by_source.items():
        rows = driver.select_in(
            f"SELECT message_id FROM customer_events WHERE source = {driver.mark} AND message_id",
            (source,), message_ids,
        )
        found.update((source, row[0]) for row in rows)
    return found


def owners_of(session: Session, identities: Sequence[Identity]) -> list[tuple[Identity, str]]:
    """The stored customer of each identity that has one: one indexed lookup per type, all
    types in one statement (UNION ALL) while the parameters fit."""
    by_type: dict[str, list[str]] = defaultdict(list)
    for identity in identities:
        by_type[identity.type].append(identity.value)
    driver = _Driver(session)
    parts: list[tuple[str, list[str]]] = []
    for identity_type, values in by_type.items():
        parts.extend((identity_type, list(chunk)) for chunk in _chunks(values))
    found: list[tuple[Identity, str]] = []
    while parts:
        selects: list[str] = []
        params: list[str] = []
        while parts and (not params or len(params) + len(parts[0][1]) < _CHUNK * 2):
            identity_type, values = parts.pop()
            selects.append("SELECT type, value, customer_id FROM customer_identities "
                           f"WHERE type = {driver.mark} AND value IN ({driver.marks(len(values))})")
            params += [identity_type, *values]
        rows = driver.connection.exec_driver_sql(" UNION ALL ".join(selects), tuple(params))
        found.extend((Identity(row[0], row[1]), row[2]) for row in rows.all())
    return found


def identity_counts(session: Session, customer_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """Identities per type held by each customer."""
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    rows = _Driver(session).select_in(
        "SELECT customer_id, type, count(*) FROM customer_identities WHERE customer_id", (),
        customer_ids, "GROUP BY customer_id, type",
    )
    for customer_id, identity_type, count in rows:
        counts[customer_id][identity_type] = int(count)
    return dict(counts)


def any_suppressions(session: Session) -> bool:
    """Whether any identity is suppressed at all (lets intake skip hashing when none is)."""
    # Asked for every batch: plain SQL skips the statement compilation.
    return _Driver(session).connection.exec_driver_sql(
        "SELECT 1 FROM identity_suppressions LIMIT 1").first() is not None


def suppressed_hashes(session: Session, hashes: Sequence[str]) -> set[str]:
    """Which identity hashes are suppressed."""
    rows = _Driver(session).select_in(
        "SELECT identity_hash FROM identity_suppressions WHERE identity_hash", (), hashes
    )
    return {row[0] for row in rows}


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


def lock_identities(session: Session, identities: Sequence[Identity]) -> None:
    """PostgreSQL: transaction-scoped advisory locks on these identities, in key order, so two
    batches never create or move the same identity at once. SQLite writers are serialised."""
    driver = _Driver(session)
    if driver.sqlite or not identities:
        return
    keys = sorted({
        int.from_bytes(hashlib.blake2b(f"{i.type}:{i.value}".encode(), digest_size=8).digest(),
                       "big", signed=True)
        for i in identities
    })
    driver.connection.exec_driver_sql(
        "SELECT pg_advisory_xact_lock(k) FROM (SELECT k FROM unnest(%s::bigint[]) AS k "
        "ORDER BY k) AS ordered", (keys,),
    ).all()


def lock_customers(session: Session, customer_ids: Sequence[str]) -> bool:
    """PostgreSQL: lock these customers (sorted, so concurrent batches never deadlock) and
    say whether all are still live; a merge or erasure that committed meanwhile means the
    identities read before the lock are stale. SQLite writers are serialised already."""
    driver = _Driver(session)
    if driver.sqlite or not customer_ids:
        return True
    rows = driver.select_in("SELECT id, merged_into FROM customers WHERE id", (),
                            sorted(customer_ids), "ORDER BY id FOR UPDATE")
    return len(rows) == len(set(customer_ids)) and all(row[1] is None for row in rows)


def insert_customers(session: Session, rows: list[dict[str, Any]]) -> None:
    """Create customers (id, created_at, merged_into)."""
    driver = _Driver(session)
    driver.many(
        f"INSERT INTO customers (id, created_at, merged_into) VALUES ({driver.marks(3)})",
        [(r["id"], driver.time(r["created_at"]), r["merged_into"]) for r in rows],
    )


def insert_identities(session: Session, rows: list[dict[str, Any]]) -> None:
    """Attach identities (type, value, customer_id, source, created_at)."""
    driver = _Driver(session)
    driver.many(
        "INSERT INTO customer_identities (type, value, customer_id, source, created_at) "
        f"VALUES ({driver.marks(5)})",
        [(r["type"], r["value"], r["customer_id"], r["source"], driver.time(r["created_at"]))
         for r in rows],
    )


_EVENT_COLUMNS = ("id", "customer_id", "source", "message_id", "type", "event", "name",
                  "channel", "user_id", "anonymous_id", "properties", "traits", "context",
                  "timestamp", "received_at")


def insert_events(
    session: Session, events: Sequence[IncomingEvent], ids: Sequence[str],
    customer_ids: Sequence[str],
) -> None:
    """Append events with their ids and customers; a (source, message_id) already stored is
    skipped by the constraint."""
    driver = _Driver(session)
    time, text = driver.time, _json
    driver.many(
        f"INSERT INTO customer_events ({', '.join(_EVENT_COLUMNS)}) "
        f"VALUES ({driver.marks(len(_EVENT_COLUMNS))}) "
        "ON CONFLICT (source, message_id) DO NOTHING",
        [(event_id, customer_id, e.source, e.message_id, e.type, e.event, e.name, e.channel,
          e.user_id, e.anonymous_id, text(e.properties), text(e.traits), text(e.context),
          time(e.timestamp), time(e.received_at))
         for e, event_id, customer_id in zip(events, ids, customer_ids, strict=True)],
    )


def insert_merges(session: Session, rows: list[dict[str, Any]]) -> None:
    """Log merges (id, customer_id = survivor, merged_id, message_id, created_at)."""
    if rows:
        session.execute(customer_merges.insert(), rows)


def upsert_traits(session: Session, rows: list[dict[str, Any]]) -> None:
    """Set traits (customer_id, name, value, source, updated_at), replacing older values."""
    driver = _Driver(session)
    driver.many(
        "INSERT INTO customer_traits (customer_id, name, value, source, updated_at) "
        f"VALUES ({driver.marks(5)}) ON CONFLICT (customer_id, name) DO UPDATE SET "
        "value = excluded.value, source = excluded.source, updated_at = excluded.updated_at",
        [(r["customer_id"], r["name"], _json(r["value"]), r["source"],
          driver.time(r["updated_at"])) for r in rows],
    )


def delete_traits(session: Session, pairs: Sequence[tuple[str, str]]) -> None:
    """Remove traits given as (customer_id, name)."""
    driver = _Driver(session)
    driver.many(
        f"DELETE FROM customer_traits WHERE customer_id = {driver.mark} AND name = {driver.mark}",
        list(pairs),
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
    session.execute(
        update(customers).where(customers.c.id == merged).values(merged_into=survivor)
    )
    # Earlier merges into `merged` now point at the survivor directly.
    session.execute(
        update(customers).where(customers.c.merged_into == merged).values(merged_into=survivor)
    )


# ---------------------------------------------------------------- reads


def find_customer(session: Session, identity: Identity) -> tuple[str, bool, str | None] | None:
    """The customer an identity points at, whether that customer exists, and the customer it
    was merged into: one primary-key lookup in plain SQL (the decision engine asks this for
    every new visitor)."""
    driver = _Driver(session)
    # The DBAPI cursor itself: SQLAlchemy's result set-up for a text statement (column names
    # from the cursor description on every call) cost more than the indexed lookup.
    cursor = driver.connection.connection.cursor()
    try:
        cursor.execute(
            "SELECT i.customer_id, c.id IS NOT NULL, c.merged_into FROM customer_identities i "
            "LEFT JOIN customers c ON c.id = i.customer_id "
            f"WHERE i.type = {driver.mark} AND i.value = {driver.mark}",
            (identity.type, identity.value),
        )
        row = cursor.fetchone()
    finally:
        cursor.close()
    return None if row is None else (str(row[0]), bool(row[1]), row[2])


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


def seen_span(session: Session, customer_id: str) -> tuple[datetime | None, datetime | None]:
    """First and last event time of a customer (an index range on the timeline)."""
    row = session.execute(
        select(func.min(customer_events.c.timestamp), func.max(customer_events.c.timestamp))
        .where(customer_events.c.customer_id == customer_id)
    ).one()
    return row[0], row[1]


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
    lock_customers(session, [customer_id])  # wait for batches landing on it to finish
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
