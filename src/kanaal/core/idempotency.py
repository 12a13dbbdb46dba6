"""Idempotent writes: a retried request with the same Idempotency-Key gets the first result."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import JSON, Column, PrimaryKeyConstraint, String, Table, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kanaal.core.clock import Clock
from kanaal.core.db import Database, UtcDateTime, metadata
from kanaal.core.errors import Conflict, InvalidInput

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", String(120), nullable=False),
    Column("key", String(255), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("result", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("scope", "key"),
)


def fingerprint(payload: Any) -> str:
    """A stable hash of a request body, to tell a true retry from a reused key."""
    encoded = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(encoded.encode()).hexdigest()


def validate_key(key: str | None) -> str | None:
    """Check an Idempotency-Key header value (1 to 255 printable characters)."""
    if key is None:
        return None
    if not 0 < len(key) <= 255 or not key.isprintable():
        raise InvalidInput(
            "Idempotency-Key must be 1 to 255 printable characters",
            code="invalid_idempotency_key",
            details=[{"loc": ["header", "Idempotency-Key"]}],
        )
    return key


def _replay(session: Session, scope: str, key: str, print_: str) -> dict[str, Any] | None:
    row = session.execute(
        select(idempotency_keys.c.fingerprint, idempotency_keys.c.result).where(
            idempotency_keys.c.scope == scope, idempotency_keys.c.key == key
        )
    ).first()
    if row is None:
        return None
    if row.fingerprint != print_:
        raise Conflict(
            "this Idempotency-Key was used with a different request",
            code="idempotency_key_reused",
        )
    return dict(row.result)


def run_idempotent(
    db: Database,
    clock: Clock,
    *,
    scope: str,
    key: str | None,
    request: Any,
    work: Callable[[Session], dict[str, Any]],
) -> tuple[dict[str, Any], bool]:
    """Run `work` once per (scope, key); returns (result, replayed).

    `work` runs in the transaction that also records the key, so the effect and the record
    commit together. Without a key, `work` simply runs (retried on serialization failures).
    """
    if key is None:
        return db.run(work), False
    print_ = fingerprint(request)

    def attempt(session: Session) -> tuple[dict[str, Any], bool]:
        prior = _replay(session, scope, key, print_)
        if prior is not None:
            return prior, True
        result = work(session)
        session.execute(
            idempotency_keys.insert().values(
                scope=scope, key=key, fingerprint=print_, result=result, created_at=clock.now()
            )
        )
        return result, False

    try:
        return db.run(attempt)
    except IntegrityError:
        # A concurrent request with the same key won the race; its result is the answer.
        with db.reader() as session:
            prior = _replay(session, scope, key, print_)
        if prior is None:
            raise
        return prior, True
