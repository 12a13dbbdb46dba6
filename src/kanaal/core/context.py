"""The application context handed to every service: settings, db, live state, clock, ids."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from kanaal.config import Settings
from kanaal.core.clock import Clock, SystemClock
from kanaal.core.db import Database
from kanaal.core.ids import IdGenerator, RandomIds
from kanaal.core.keys import KeyCache
from kanaal.core.live import LiveStore, open_live_store

# A background worker runs until the stop event is set (outbox delivery, sweepers, ...).
Worker = Callable[["AppContext", asyncio.Event], Coroutine[Any, Any, None]]


@dataclass
class AppContext:
    """Everything a use case needs from the outside world, injectable for tests."""

    settings: Settings
    db: Database
    live: LiveStore
    clock: Clock
    ids: IdGenerator
    keys: KeyCache
    business: dict[str, Any] = field(default_factory=dict)
    # Feature-owned singletons (caches, in-memory queues), keyed by feature name.
    state: dict[str, Any] = field(default_factory=dict)

    def param(self, dotted: str, default: Any) -> Any:
        """A business parameter from kanaal.toml, e.g. `param("decisions.holdout_share", 0.1)`."""
        node: Any = self.business
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node


def build_context(
    settings: Settings,
    *,
    clock: Clock | None = None,
    ids: IdGenerator | None = None,
    live: LiveStore | None = None,
) -> AppContext:
    """Open the database and live store described by `settings`."""
    db = Database(settings.sqlalchemy_url(), schema=settings.database_schema)
    return AppContext(
        settings=settings,
        db=db,
        live=live or open_live_store(settings.redis_url, prefix=settings.redis_prefix),
        clock=clock or SystemClock(),
        ids=ids or RandomIds(),
        keys=KeyCache(db),
        business=settings.business(),
    )
