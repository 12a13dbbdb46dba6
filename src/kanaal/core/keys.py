"""Sources and API keys: tables, queries and the use cases around them."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlalchemy import Column, ForeignKey, String, Table, Text, UniqueConstraint, select
from sqlalchemy.orm import Session

from kanaal.core.auth import (
    KeyKind,
    Principal,
    Scope,
    SourceKind,
    generate_key,
    hash_key,
    key_display_prefix,
)
from kanaal.core.clock import Clock
from kanaal.core.db import Database, UtcDateTime, metadata, rowcount
from kanaal.core.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from kanaal.core.ids import IdGenerator

sources = Table(
    "sources",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("kind", String(20), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("source_id", String(40), ForeignKey("sources.id"), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("key_hash", String(64), nullable=False),
    Column("display_prefix", String(16), nullable=False),
    Column("scopes", Text, nullable=False, default=""),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    UniqueConstraint("key_hash"),
)


@dataclass(frozen=True, slots=True)
class Source:
    """A named producer of events with a kind (web, pos, ...)."""

    id: str
    name: str
    kind: SourceKind


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A key just created; `raw` is shown once and never stored."""

    id: str
    raw: str
    source: Source
    kind: KeyKind
    scopes: frozenset[Scope]


def get_or_create_source(
    session: Session, *, name: str, kind: SourceKind, ids: IdGenerator, clock: Clock
) -> Source:
    """Return the source called `name`, creating it with `kind` when it does not exist."""
    row = session.execute(select(sources).where(sources.c.name == name)).first()
    if row is not None:
        if row.kind != kind.value:
            raise Conflict(
                f"source {name!r} exists with kind {row.kind!r}", code="source_kind_mismatch"
            )
        return Source(row.id, row.name, SourceKind(row.kind))
    source = Source(ids.new("src"), name, kind)
    session.execute(
        sources.insert().values(id=source.id, name=name, kind=kind.value, created_at=clock.now())
    )
    return source


def issue_key(
    db: Database,
    *,
    source_name: str,
    source_kind: SourceKind | None,
    kind: KeyKind,
    scopes: frozenset[Scope],
    ids: IdGenerator,
    clock: Clock,
) -> IssuedKey:
    """Create a key for a source (creating the source too) and return the raw key once."""
    if not source_name.strip():
        raise InvalidInput("a source needs a name", code="invalid_source")
    if kind is KeyKind.WRITE and scopes:
        raise InvalidInput("write keys carry no scopes", code="invalid_scope")
    if kind is KeyKind.SECRET and not scopes:
        scopes = frozenset({Scope.READ})
    with db.transaction() as session:
        existing = session.execute(select(sources).where(sources.c.name == source_name)).first()
        known = SourceKind(existing.kind) if existing else SourceKind.SERVER
        resolved_kind = source_kind or known
        source = get_or_create_source(
            session, name=source_name, kind=resolved_kind, ids=ids, clock=clock
        )
        raw = generate_key(kind)
        key_id = ids.new("key")
        session.execute(
            api_keys.insert().values(
                id=key_id,
                source_id=source.id,
                kind=kind.value,
                key_hash=hash_key(raw),
                display_prefix=key_display_prefix(raw),
                scopes=",".join(sorted(s.value for s in scopes)),
                created_at=clock.now(),
            )
        )
    return IssuedKey(key_id, raw, source, kind, scopes)


def revoke_key(db: Database, key_id: str, *, clock: Clock) -> None:
    """Revoke a key so it stops working (at most `KeyCache.ttl` seconds later in other workers)."""
    with db.transaction() as session:
        result = session.execute(
            api_keys.update()
            .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=clock.now())
        )
        if rowcount(result) == 0:
            raise NotFound(f"no active key {key_id!r}", code="key_not_found")


def list_keys(db: Database) -> list[dict[str, str | None]]:
    """Every key with its source, kind, scopes and display prefix (never the key itself)."""
    with db.reader() as session:
        rows = session.execute(
            select(api_keys, sources.c.name.label("source_name"))
            .join(sources, sources.c.id == api_keys.c.source_id)
            .order_by(api_keys.c.created_at)
        ).all()
    return [
        {
            "id": row.id,
            "source": row.source_name,
            "kind": row.kind,
            "scopes": row.scopes,
            "prefix": row.display_prefix,
            "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
        }
        for row in rows
    ]


def has_keys(db: Database) -> bool:
    """Whether any key was ever issued (false on a brand-new installation)."""
    with db.reader() as session:
        return session.execute(select(api_keys.c.id).limit(1)).first() is not None


def _load_principal(session: Session, raw: str) -> Principal | None:
    row = session.execute(
        select(api_keys, sources.c.name.label("source_name"), sources.c.kind.label("source_kind"))
        .join(sources, sources.c.id == api_keys.c.source_id)
        .where(api_keys.c.key_hash == hash_key(raw), api_keys.c.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    scopes = frozenset(Scope(s) for s in row.scopes.split(",") if s)
    return Principal(
        key_id=row.id,
        source_id=row.source_id,
        source_name=row.source_name,
        source_kind=SourceKind(row.source_kind),
        key_kind=KeyKind(row.kind),
        scopes=scopes,
    )


class KeyCache:
    """Resolves raw keys to principals with a short in-process cache (keys are hot on intake)."""

    def __init__(self, db: Database, *, ttl: float = 5.0) -> None:
        self.db = db
        self.ttl = ttl
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[Principal | None, float]] = {}

    def cached(self, raw: str) -> Principal | None:
        """The principal for `raw` if a fresh, valid entry is cached; None means "ask
        `authenticate`" (which may read the database). Never reads the database itself."""
        with self._lock:
            cached = self._entries.get(hash_key(raw))
        if cached is None or cached[1] < time.monotonic():
            return None
        return cached[0]

    def authenticate(self, raw: str) -> Principal:
        """The principal for `raw`, or Unauthenticated when the key is unknown or revoked."""
        digest = hash_key(raw)
        now = time.monotonic()
        with self._lock:
            cached = self._entries.get(digest)
        if cached is None or cached[1] < now:
            with self.db.reader() as session:
                principal = _load_principal(session, raw)
            with self._lock:
                if len(self._entries) > 10_000:
                    self._entries.clear()
                self._entries[digest] = (principal, now + self.ttl)
        else:
            principal = cached[0]
        if principal is None:
            raise Unauthenticated("unknown or revoked key", code="invalid_key")
        return principal
