"""The decision log: decisions are queued in memory and written in batches by a worker.

The response never waits for the database. A failed batch goes back to the front of the queue,
and a clean shutdown flushes everything, so nothing is lost.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from kanaal.core.db import Database
from kanaal.decisions import store

log = logging.getLogger(__name__)
# Called inside the flush transaction with the rows just written (model counts, offer codes).
AfterWrite = Callable[[Session, list[dict[str, Any]]], None]


class DecisionLog:
    """An in-memory queue of decision rows with batched, retried writes."""

    def __init__(self, *, batch_size: int = 500, after_write: AfterWrite | None = None) -> None:
        self._queue: deque[dict[str, Any]] = deque()
        self._pending: set[str] = set()
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self.batch_size = batch_size
        self.after_write = after_write
        self.written = 0

    def append(self, row: dict[str, Any]) -> None:
        """Queue one decision row (O(1), never blocks on I/O)."""
        with self._lock:
            self._queue.append(row)
            self._pending.add(row["id"])

    def is_pending(self, decision_id: str) -> bool:
        """True while the decision is queued but not yet written."""
        with self._lock:
            return decision_id in self._pending

    def __len__(self) -> int:
        with self._lock:
            return len(self._queue)

    def _take(self) -> list[dict[str, Any]]:
        with self._lock:
            count = min(self.batch_size, len(self._queue))
            return [self._queue.popleft() for _ in range(count)]

    def _give_back(self, batch: list[dict[str, Any]]) -> None:
        with self._lock:
            self._queue.extendleft(reversed(batch))

    def flush_batch(self, db: Database) -> int:
        """Write one batch; on failure put it back and re-raise. Returns rows written."""
        with self._flush_lock:
            batch = self._take()
            if not batch:
                return 0
            try:
                def work(session: Session) -> None:
                    fresh = store.insert_decisions(session, batch)
                    if self.after_write is not None:
                        self.after_write(session, fresh)

                db.run(work)
            except Exception:
                self._give_back(batch)
                raise
            with self._lock:
                self._pending.difference_update(row["id"] for row in batch)
            self.written += len(batch)
            return len(batch)

    def flush(self, db: Database) -> int:
        """Write everything queued now."""
        total = 0
        while True:
            written = self.flush_batch(db)
            if written == 0:
                return total
            total += written

    async def run(self, db: Database, stop: asyncio.Event, interval: float = 0.2) -> None:
        """Flush every `interval` seconds until `stop`, then flush what is left."""
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
            except TimeoutError:
                pass
            try:
                await asyncio.to_thread(self.flush, db)
            except Exception:  # noqa: BLE001 - kept in memory, retried on the next tick
                log.warning("decision log flush failed; %d rows kept", len(self), exc_info=True)
