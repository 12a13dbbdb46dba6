"""Event intake use cases: the Segment HTTP API and `record_event` for internal producers."""

from __future__ import annotations

import gzip
import json
import logging
import threading
import zlib
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kanaal.collect.domain import (
    EVENT_TYPES,
    MAX_BATCH_BYTES,
    Envelope,
    IdentityMaker,
    MalformedBody,
    check_body_size,
    parse_body,
)
from kanaal.core.auth import ChannelKind, KeyKind, Principal, Scope
from kanaal.core.clock import ensure_utc
from kanaal.core.context import AppContext
from kanaal.core.errors import (
    InvalidInput,
    PayloadTooLarge,
    RateLimited,
    Unauthenticated,
)
from kanaal.core.http import principal_from_header
from kanaal.customers import store as customer_store
from kanaal.customers.domain import (
    ANONYMOUS_ID,
    USER_ID,
    Identity,
    IdentityRules,
    IncomingEvent,
)
from kanaal.customers.ingest import IngestReport, StaleGraph, identity_rules, ingest_in
from kanaal.customers.normalize import make_identity

_CHANNELS = frozenset(kind.value for kind in ChannelKind)
_ATTEMPTS = 5
log = logging.getLogger(__name__)
# Live channel announcing customers whose timeline or identities just changed.
CHANGED_CHANNEL = "customers.changed"


def decode_body(raw: bytes, content_encoding: str | None) -> bytes:
    """The request body, gunzipped when `Content-Encoding: gzip` (capped at the batch limit)."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in {"", "identity"}:
        return raw
    if encoding not in {"gzip", "x-gzip", "deflate"}:
        raise InvalidInput(f"unsupported Content-Encoding {encoding!r}",
                           code="unsupported_encoding")
    wbits = 16 + zlib.MAX_WBITS if encoding != "deflate" else zlib.MAX_WBITS
    inflater = zlib.decompressobj(wbits)
    try:
        body = inflater.decompress(raw, MAX_BATCH_BYTES + 1)
    except (zlib.error, gzip.BadGzipFile) as exc:
        raise MalformedBody("the body is not valid gzip", code="invalid_encoding") from exc
    if len(body) > MAX_BATCH_BYTES or inflater.unconsumed_tail:
        raise PayloadTooLarge(f"the decompressed body is over {MAX_BATCH_BYTES} bytes",
                              code="payload_too_large")
    return body


def parse_json(body: bytes) -> Any:
    """The JSON document of a request body. orjson is the fast path; what it refuses but the
    standard library reads (integers over 64 bits, NaN) is read the standard way."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedBody("the body is not valid JSON", code="malformed_json") from exc


def _from_body_key(ctx: AppContext, body: Any) -> Principal:
    write_key = body.get("writeKey") if isinstance(body, dict) else None
    if not isinstance(write_key, str) or not write_key:
        raise Unauthenticated("send the write key as Basic username or `writeKey`",
                              code="missing_credentials")
    return ctx.keys.authenticate(write_key)


def _rate_limit(ctx: AppContext, principal: Principal) -> None:
    allowed, wait = ctx.live.take_tokens(
        f"collect:rate:{principal.key_id}", rate=ctx.settings.rate_limit_per_second,
        burst=ctx.settings.rate_limit_burst,
    )
    if not allowed:
        raise RateLimited("too many requests for this key", retry_after=wait)


def envelope_for(ctx: AppContext, principal: Principal) -> Envelope:
    """Source, default channel, receive time and identity normalisation for one request."""
    rules = identity_rules(ctx)
    region = ctx.settings.default_phone_region
    return Envelope(
        source=principal.source_id,
        default_channel=principal.default_channel.value,
        received_at=ctx.clock.now(),
        new_message_id=lambda: ctx.ids.new("msg"),
        make_identity=_cached_maker(rules, region),
    )


def _cached_maker(rules: IdentityRules, region: str) -> IdentityMaker:
    """make_identity with a per-request memo (a batch repeats the same ids many times)."""
    memo: dict[tuple[str, Any], Identity | None] = {}

    def make(kind: str, value: Any) -> Identity | None:
        if value.__class__ is not str:
            return make_identity(kind, value, rules=rules, region=region)
        key = (kind, value)
        if key in memo:
            return memo[key]
        found = memo[key] = make_identity(kind, value, rules=rules, region=region)
        return found

    return make


def collect(
    ctx: AppContext, kind: str, raw: bytes, *, authorization: str | None,
    content_encoding: str | None,
) -> IngestReport:
    """Handle one Segment API request: decode, authenticate, limit, validate, store atomically."""
    if kind not in EVENT_TYPES and kind != "batch":
        raise InvalidInput(f"unknown event type {kind!r}", code="invalid_type")
    principal = principal_from_header(ctx, authorization) if authorization else None
    body_bytes = decode_body(raw, content_encoding)
    check_body_size(len(body_bytes), batch=kind == "batch")
    body = parse_json(body_bytes)
    principal = principal or _from_body_key(ctx, body)
    if principal.key_kind is KeyKind.SECRET:
        principal.require(Scope.WRITE)
    _rate_limit(ctx, principal)
    with _sqlite_writer(ctx):
        # On SQLite one batch at a time per process: parsing in parallel threads would only
        # fight over the GIL while they wait for the single writer anyway.
        events = parse_body(body, kind, envelope_for(ctx, principal), body_size=len(body_bytes))
        return ingest(ctx, events)


def _sqlite_writer(ctx: AppContext) -> AbstractContextManager[Any]:
    """The process-wide intake lock on SQLite (re-entrant); nothing on PostgreSQL."""
    if not ctx.db.is_sqlite:
        return nullcontext()
    lock: AbstractContextManager[Any] = ctx.state.setdefault("collect.sqlite_writer",
                                                              threading.RLock())
    return lock


def ingest(ctx: AppContext, events: list[IncomingEvent]) -> IngestReport:
    """Store validated events in one transaction, run again when a concurrent batch won a
    race (same new identity, or a merge of a customer this batch touches)."""
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            # SQLite has one writer at a time and its busy handler sleeps with back-off;
            # queueing this process's writers on a lock hands over without those sleeps.
            with _sqlite_writer(ctx):
                report = ctx.db.run(lambda session: ingest_in(session, ctx, events))
        except (StaleGraph, IntegrityError):
            if attempt == _ATTEMPTS:
                raise
            continue
        announce(ctx, events, report)
        return report
    raise AssertionError("unreachable")


def announce(ctx: AppContext, events: list[IncomingEvent], report: IngestReport) -> None:
    """Tell every worker which customers and visitor ids just changed (after commit), so
    caches of timelines and identity lookups can drop them at once. Best effort."""
    customers = sorted({cid for cid in report.customer_ids if cid})
    visitors = sorted({
        (identity.type, identity.value)
        for event in events for identity in event.identities
        if identity.type in (USER_ID, ANONYMOUS_ID)
    })
    if not customers and not visitors:
        return
    try:
        ctx.live.publish(CHANGED_CHANNEL, {"customers": customers,
                                           "identities": [list(v) for v in visitors]})
    except Exception:  # noqa: BLE001 - the events are stored; caches expire on their own
        log.warning("could not announce changed customers", exc_info=True)


def _ingest_nested(session: Session, ctx: AppContext, event: IncomingEvent) -> IngestReport:
    """ingest_in inside a savepoint of the caller's transaction, retried like `ingest`."""
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            with session.begin_nested():
                return ingest_in(session, ctx, [event])
        except (StaleGraph, IntegrityError):
            if attempt == _ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def record_event(
    session: Session,
    ctx: AppContext,
    *,
    type: str = "track",
    event: str | None,
    identities: dict[str, str],
    customer_id: str | None = None,
    properties: dict[str, Any] | None = None,
    traits: dict[str, Any] | None = None,
    channel: str,
    source: str,
    message_id: str | None = None,
    timestamp: datetime | None = None,
) -> str:
    """Stitch `identities` (or use `customer_id`), append the event, return the customer id."""
    if type not in EVENT_TYPES:
        raise InvalidInput(f"type must be one of {', '.join(EVENT_TYPES)}", code="invalid_type")
    if type == "track" and not event:
        raise InvalidInput("a track event needs a name", code="missing_event")
    if channel not in _CHANNELS:
        raise InvalidInput(f"unknown channel {channel!r}", code="invalid_channel")
    if not source:
        raise InvalidInput("an event needs a source", code="invalid_source")
    rules = identity_rules(ctx)
    region = ctx.settings.default_phone_region
    found: list[Identity] = []
    for identity_type, value in identities.items():
        identity = make_identity(identity_type, value, rules=rules, region=region)
        if identity is not None:
            found.append(identity)
    if not found and customer_id is None:
        raise InvalidInput("give at least one usable identity or a customer_id",
                           code="missing_identity")
    now = ctx.clock.now()
    incoming = IncomingEvent(
        type=type, message_id=message_id or ctx.ids.new("msg"), source=source, channel=channel,
        timestamp=ensure_utc(timestamp) if timestamp else now, received_at=now,
        identities=found, event=event, properties=dict(properties or {}),
        traits=dict(traits or {}), customer_id=customer_id,
        user_id=next((i.value for i in found if i.type == USER_ID), None),
        anonymous_id=next((i.value for i in found if i.type == ANONYMOUS_ID), None),
        drop_if_suppressed=False,
    )
    report = _ingest_nested(session, ctx, incoming)
    landed = report.customer_ids[0]
    if landed is None:  # a duplicate messageId: answer the customer it landed on before
        stored = customer_store.event_customer(session, source, incoming.message_id)
        landed = None if stored is None else customer_store.survivors(session, [stored]).get(stored)
    if landed is None:
        raise InvalidInput("the event could not be attributed", code="missing_identity")
    return landed

