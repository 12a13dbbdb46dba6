"""The shared, versioned model state: counts in the database, cached per worker by version."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kanaal.core.db import Database
from kanaal.decisions import store
from kanaal.decisions.learning import BetaModel, Cell, Priors

Counts = dict[tuple[str, str], dict[str, float]]


def add_counts_in(session: Session, name: str, counts: Counts, now: datetime) -> int:
    """Add outcome counts to model cells and bump the version once; returns the new version."""
    for (action, bucket), values in sorted(counts.items()):
        store.add_to_cell(session, name, action, bucket, values)
    return store.bump_version(session, name, now)


def add_counts(db: Database, name: str, counts: Counts, now: datetime) -> int:
    """add_counts_in in its own transaction; a lost race to create a cell is retried once."""
    try:
        return db.run(lambda session: add_counts_in(session, name, counts, now))
    except IntegrityError:
        return db.run(lambda session: add_counts_in(session, name, counts, now))


@dataclass
class ModelCache:
    """This worker's copy of the model, reloaded when the version in the database moves."""

    name: str
    priors: Priors
    reload_seconds: float = 1.0
    _model: BetaModel | None = None
    _checked: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, db: Database) -> BetaModel:
        """The current model; checks the version at most every `reload_seconds`."""
        now = time.monotonic()
        model = self._model
        if model is not None and now - self._checked < self.reload_seconds:
            return model
        if model is not None and not self._lock.acquire(blocking=False):
            return model  # another thread is refreshing: decide with the current model
        if model is None:
            self._lock.acquire()
        try:
            if self._model is not None and now - self._checked < self.reload_seconds:
                return self._model
            with db.reader() as session:
                version = store.model_version(session, self.name)
                if self._model is None or version != self._model.version:
                    cells = {(row.action, row.bucket): Cell(row.buy_wins, row.buy_trials,
                                                            row.accept_wins, row.accept_trials)
                             for row in store.model_cells(session, self.name)}
                    self._model = BetaModel(priors=self.priors, cells=cells, version=version)
            self._checked = now
            return self._model
        finally:
            self._lock.release()

    def get_version(self) -> int:
        """The version of the cached model (0 before the first load)."""
        return 0 if self._model is None else self._model.version

    def invalidate(self) -> None:
        """Force a version check on the next `get` (after this worker changed the model)."""
        self._checked = 0.0
