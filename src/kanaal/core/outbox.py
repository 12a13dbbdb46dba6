"""Transactional outbox: side effects are written with the change and delivered after commit.

Delivery is at least once with retries and backoff; every attempt is recorded; receivers
deduplicate on the message id (sent as `Kanaal-Message-Id`). Handlers per message kind are
registered by features (webhook here; email and SMS by the marketing feature).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import JSON, Column, Index, Integer, String, Table, Text, UniqueConstraint, select
from sqlalchemy.orm import Session

from kanaal.core.clock import Clock
from kanaal.core.db import Database, UtcDateTime, metadata, rowcount
from kanaal.core.errors import InvalidInput, NotFound
from kanaal.core.ids import IdGenerator

log = logging.getLogger(__name__)

outbox_messages = Table(
    "outbox_messages",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("kind", String(20), nullable=False),  # webhook, email, sms
    Column("topic", String(100), nullable=False),
    Column("destination", Text, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("dedupe_key", String(200), nullable=True),
    Column("status", String(12), nullable=False),  # pending, delivered, dead
    Column("attempts", Integer, nullable=False, default=0),
    Column("available_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    UniqueConstraint("dedupe_key"),
    Index("ix_outbox_due", "status", "available_at"),
)

outbox_attempts = Table(
    "outbox_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(40), nullable=False, index=True),
    Column("attempted_at", UtcDateTime, nullable=False),
    Column("ok", Integer, nullable=False),
    Column("detail", Text, nullable=True),
)

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("url", Text, nullable=False),
    Column("secret", String(100), nullable=False),
    Column("topics", Text, nullable=False),  # comma separated; "*" for every topic
    Column("created_at", UtcDateTime, nullable=False),
)

MAX_ATTEMPTS = 12


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One side effect waiting to be (or already) delivered."""

    id: str
    kind: str
    topic: str
    destination: str
    payload: dict[str, Any]
    attempts: int


# A handler delivers one message; it raises to signal failure (the message is retried).
Handler = Callable[[OutboxMessage], Awaitable[None]]


def backoff_seconds(attempts: int) -> float:
    """Delay before the next try: 2, 4, 8 ... seconds, capped at one hour."""
    return float(min(3600, 2**attempts))


def sign_payload(secret: str, timestamp: int, body: bytes) -> str:
    """Signature header value: `t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def enqueue(
    session: Session,
    *,
    ids: IdGenerator,
    clock: Clock,
    kind: str,
    topic: str,
    destination: str,
    payload: dict[str, Any],
    dedupe_key: str | None = None,
    deliver_at: datetime | None = None,
) -> str | None:
    """Write a message in the caller's transaction; returns its id (None if a duplicate)."""
    if dedupe_key is not None:
        exists = session.execute(
            select(outbox_messages.c.id).where(outbox_messages.c.dedupe_key == dedupe_key)
        ).first()
        if exists is not None:
            return None
    message_id = ids.new("msg")
    now = clock.now()
    session.execute(
        outbox_messages.insert().values(
            id=message_id,
            kind=kind,
            topic=topic,
            destination=destination,
            payload=payload,
            dedupe_key=dedupe_key,
            status="pending",
            attempts=0,
            available_at=deliver_at or now,
            created_at=now,
        )
    )
    return message_id


def publish_event(
    session: Session, *, ids: IdGenerator, clock: Clock, topic: str, data: dict[str, Any]
) -> list[str]:
    """Queue a webhook to every endpoint subscribed to `topic`, in the caller's transaction."""
    queued: list[str] = []
    for endpoint in session.execute(select(webhook_endpoints)).all():
        topics = {t.strip() for t in endpoint.topics.split(",")}
        if "*" not in topics and topic not in topics:
            continue
        message_id = enqueue(
            session,
            ids=ids,
            clock=clock,
            kind="webhook",
            topic=topic,
            destination=endpoint.id,
            payload={"topic": topic, "created_at": clock.now().isoformat(), "data": data},
        )
        if message_id:
            queued.append(message_id)
    return queued


def add_webhook_endpoint(
    db: Database, *, ids: IdGenerator, clock: Clock, url: str, topics: list[str], secret: str
) -> str:
    """Subscribe `url` to `topics` ("*" for all); payloads are signed with `secret`."""
    if not url.startswith(("http://", "https://")):
        raise InvalidInput("webhook url must be http(s)", code="invalid_url")
    if not topics:
        raise InvalidInput("a webhook needs at least one topic", code="invalid_topics")
    endpoint_id = ids.new("whk")
    with db.transaction() as session:
        session.execute(
            webhook_endpoints.insert().values(
                id=endpoint_id, url=url, secret=secret, topics=",".join(topics),
                created_at=clock.now(),
            )
        )
    return endpoint_id


def remove_webhook_endpoint(db: Database, endpoint_id: str) -> None:
    """Unsubscribe an endpoint."""
    with db.transaction() as session:
        result = session.execute(
            webhook_endpoints.delete().where(webhook_endpoints.c.id == endpoint_id)
        )
        if rowcount(result) == 0:
            raise NotFound(f"no webhook endpoint {endpoint_id!r}", code="webhook_not_found")


class OutboxDispatcher:
    """Claims due messages and hands them to the handler of their kind."""

    def __init__(self, db: Database, clock: Clock, *, batch: int = 50) -> None:
        self.db = db
        self.clock = clock
        self.batch = batch
        self.handlers: dict[str, Handler] = {"webhook": self._deliver_webhook}
        self._http: httpx.AsyncClient | None = None

    def register(self, kind: str, handler: Handler) -> None:
        """Deliver messages of `kind` with `handler`."""
        self.handlers[kind] = handler

    def _claim(self) -> list[OutboxMessage]:
        now = self.clock.now()
        with self.db.transaction() as session:
            query = (
                select(outbox_messages)
                .where(outbox_messages.c.status == "pending", outbox_messages.c.available_at <= now)
                .order_by(outbox_messages.c.available_at)
                .limit(self.batch)
            )
            if not self.db.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            rows = session.execute(query).all()
            # Lease: hide claimed rows from other dispatchers while this one works on them.
            lease = now + timedelta(seconds=60)
            for row in rows:
                session.execute(
                    outbox_messages.update()
                    .where(outbox_messages.c.id == row.id)
                    .values(available_at=lease)
                )
        return [
            OutboxMessage(r.id, r.kind, r.topic, r.destination, dict(r.payload), r.attempts)
            for r in rows
        ]

    def _record(self, message: OutboxMessage, error: str | None) -> None:
        now = self.clock.now()
        attempts = message.attempts + 1
        with self.db.transaction() as session:
            session.execute(
                outbox_attempts.insert().values(
                    message_id=message.id, attempted_at=now, ok=int(error is None), detail=error
                )
            )
            if error is None:
                values: dict[str, Any] = {
                    "status": "delivered", "delivered_at": now, "attempts": attempts,
                }
            else:
                values = {
                    "status": "dead" if attempts >= MAX_ATTEMPTS else "pending",
                    "attempts": attempts,
                    "last_error": error[:2000],
                    "available_at": now + timedelta(seconds=backoff_seconds(attempts)),
                }
            session.execute(
                outbox_messages.update().where(outbox_messages.c.id == message.id).values(**values)
            )

    async def deliver_due(self) -> int:
        """Deliver every due message once; returns how many were attempted."""
        messages = await asyncio.to_thread(self._claim)
        for message in messages:
            handler = self.handlers.get(message.kind)
            error: str | None = None
            if handler is None:
                error = f"no handler for kind {message.kind!r}"
            else:
                try:
                    await handler(message)
                except Exception as exc:  # noqa: BLE001 - any failure means retry later
                    error = f"{type(exc).__name__}: {exc}"
            if error:
                log.warning("outbox delivery failed", extra={"message_id": message.id})
            await asyncio.to_thread(self._record, message, error)
        return len(messages)

    async def _deliver_webhook(self, message: OutboxMessage) -> None:
        def load() -> Any:
            with self.db.reader() as session:
                return session.execute(
                    select(webhook_endpoints).where(webhook_endpoints.c.id == message.destination)
                ).first()

        endpoint = await asyncio.to_thread(load)
        if endpoint is None:
            raise RuntimeError("webhook endpoint was removed")
        body = json.dumps(message.payload, separators=(",", ":"), default=str).encode()
        headers = {
            "Content-Type": "application/json",
            "Kanaal-Message-Id": message.id,
            "Kanaal-Topic": message.topic,
            "Kanaal-Signature": sign_payload(endpoint.secret, int(time.time()), body),
        }
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=10.0)
        response = await self._http.post(endpoint.url, content=body, headers=headers)
        if response.status_code >= 300:
            raise RuntimeError(f"HTTP {response.status_code}")

    async def run(self, stop: asyncio.Event, *, interval: float = 0.5) -> None:
        """Deliver until `stop` is set."""
        while not stop.is_set():
            try:
                delivered = await self.deliver_due()
            except Exception:  # noqa: BLE001 - keep the loop alive; the next pass retries
                log.exception("outbox pass failed")
                delivered = 0
            if delivered == 0:
                try:
                    await asyncio.wait_for(stop.wait(), timeout=interval)
                except TimeoutError:
                    pass
        if self._http is not None:
            await self._http.aclose()
            self._http = None
