"""Per-worker caches of the engine's reads from other features, with bounded staleness.

A decision needs the visitor's customer id (identity lookup), the customer's recent timeline
and catalog margins. Those come from other features' tables; reading them on every decision
costs far more than the decision itself. Each worker keeps what it read for `ttl` seconds
(`decisions.read_cache_seconds`, default 5; 0 turns caching off), so:

* an event that lands on a customer's timeline (a call, an order, a checkout error) changes
  that customer's decisions at most `ttl` seconds later, in every worker;
* an identity that gets a customer (or a new survivor after a merge) is seen at most `ttl`
  seconds later;
* a catalog price or cost change reaches the margin at most `ttl` seconds later.

Nothing that must be exact is cached here: holdout (a hash), frequency caps, dismissals and
pacing live in the live store and model counts in the database, as before.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from decimal import Decimal
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

from kanaal.core.db import Database

K = TypeVar("K")
V = TypeVar("V")

_MISSING: Any = object()


class TtlCache(Generic[K, V]):
    """A bounded map whose entries are served for `ttl` seconds after they were stored."""

    def __init__(self, ttl: float, max_entries: int = 50_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[K, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K, now: float) -> V:
        """The value stored for `key` less than `ttl` seconds before `now`, else _MISSING."""
        found = self._entries.get(key)
        if found is None or now - found[0] >= self.ttl or now < found[0]:
            return _MISSING
        return found[1]

    def put(self, key: K, value: V, now: float) -> None:
        """Store `value` as read at `now`; beyond `max_entries` the oldest entries go first."""
        if self.ttl <= 0:
            return
        with self._lock:
            self._entries.pop(key, None)
            self._entries[key] = (now, value)
            if len(self._entries) > self.max_entries:
                self._evict(now)

    def _evict(self, now: float) -> None:
        fresh = {k: v for k, v in self._entries.items() if now - v[0] < self.ttl}
        if len(fresh) > self.max_entries * 3 // 4:
            keep = list(fresh.items())[-(self.max_entries // 2):]
            fresh = dict(keep)
        self._entries = fresh

    def discard(self, key: K) -> None:
        """Forget one entry (its source changed)."""
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries = {}


def is_missing(value: object) -> bool:
    """True when a TtlCache.get found nothing fresh."""
    return value is _MISSING


class NeedsDatabase(Exception):
    """A read the worker's caches cannot answer: run the request where it may block."""


class NoReader:
    """A reader for requests answered on the event loop: any database read is refused."""

    def session(self) -> Session:
        """Never a session: raises NeedsDatabase."""
        raise NeedsDatabase

    def close(self) -> None:
        """Nothing to close."""


class LazyReader:
    """A read session opened only when a cache misses; `close()` ends it if one was opened."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._opened: AbstractContextManager[Session] | None = None
        self._session: Session | None = None

    def session(self) -> Session:
        """The read session (opened on first use)."""
        if self._session is None:
            self._opened = self._db.reader()
            self._session = self._opened.__enter__()
        return self._session

    def close(self) -> None:
        """Close the session if one was opened."""
        opened, self._opened, self._session = self._opened, None, None
        if opened is not None:
            opened.__exit__(None, None, None)


MarginKey = tuple[str, str, int]
Margin = tuple[Decimal, str] | None


class ReadCache:
    """The cached reads of one worker: identities, timelines and unit margins."""

    def __init__(self, ttl: float, max_entries: int = 50_000) -> None:
        self.ttl = ttl
        self.identities: TtlCache[tuple[str, str], str | None] = TtlCache(ttl, max_entries)
        self.timelines: TtlCache[str, list[dict[str, Any]]] = TtlCache(ttl, max_entries)
        self.margins: TtlCache[MarginKey, Margin] = TtlCache(ttl, max_entries)

    def forget(self, message: dict[str, Any]) -> None:
        """Drop what an intake announcement says changed (see collect's CHANGED_CHANNEL)."""
        for customer_id in message.get("customers", []):
            self.timelines.discard(customer_id)
        for kind, value in message.get("identities", []):
            self.identities.discard((kind, value))
