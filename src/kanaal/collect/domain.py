"""Segment HTTP Tracking API messages: limits, validation, clock skew, identities. Pure rules."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kanaal.core.auth import ChannelKind
from kanaal.core.errors import InvalidInput, PayloadTooLarge
from kanaal.customers.domain import (
    ANONYMOUS_ID,
    DEVICE_ID,
    EMAIL,
    LOYALTY_CARD,
    PHONE,
    USER_ID,
    Identity,
    IncomingEvent,
)

MAX_EVENT_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
MAX_BATCH_EVENTS = 2_500
MAX_NAME_LENGTH = 255
EVENT_TYPES = ("identify", "track", "page", "screen", "group", "alias")
# Channels a client may name in context.channel; "system" is Kanaal's own bookkeeping.
_CHANNELS = frozenset(kind.value for kind in ChannelKind if kind is not ChannelKind.SYSTEM)
_MAX_ERRORS = 20
_TRAIT_IDENTITIES = (("email", EMAIL), ("phone", PHONE), ("loyalty_card", LOYALTY_CARD))

# Turns (identity type, raw value) into a normalised identity, or None when unusable.
IdentityMaker = Callable[[str, Any], Identity | None]


@dataclass(frozen=True)
class Envelope:
    """What the server knows about a request beyond its messages."""

    source: str
    default_channel: str
    received_at: datetime
    new_message_id: Callable[[], str]
    make_identity: IdentityMaker


class MalformedBody(InvalidInput):
    """The body cannot be read at all (not JSON, broken gzip): HTTP 400."""

    status = 400


class EventError(Exception):
    """One problem with one field of one message; collected into InvalidInput details."""

    def __init__(self, loc: str, code: str, message: str) -> None:
        super().__init__(message)
        self.loc, self.code, self.message = loc, code, message


def check_body_size(size: int, *, batch: bool) -> None:
    """413 when a body is over the batch (500 KB) or single-event (32 KB) limit."""
    limit = MAX_BATCH_BYTES if batch else MAX_EVENT_BYTES
    if size > limit:
        raise PayloadTooLarge(f"the body is {size} bytes; the limit is {limit}",
                              code="payload_too_large")


def parse_timestamp(value: Any, loc: str) -> datetime | None:
    """An ISO-8601 timestamp as aware UTC (naive means UTC); None when absent."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise EventError(loc, "invalid_timestamp", "expected an ISO-8601 timestamp string")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise EventError(loc, "invalid_timestamp", f"{value!r} is not an ISO-8601 timestamp") \
            from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def event_time(
    received_at: datetime, *, sent_at: datetime | None, original: datetime | None
) -> datetime:
    """Clock-skew correction: receivedAt − (sentAt − originalTimestamp), never in the future."""
    if original is None:
        return received_at
    if sent_at is None:
        return original
    return min(received_at, received_at - (sent_at - original))


def _obj(message: dict[str, Any], key: str, loc: str) -> dict[str, Any]:
    value = message.get(key)
    if value.__class__ is dict:
        return value
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise EventError(f"{loc}.{key}", "invalid_field", f"{key} must be an object")
    return value


def _text(message: dict[str, Any], key: str, loc: str, *, required_code: str | None = None
          ) -> str | None:
    value = message.get(key)
    if value.__class__ is str and 0 < len(value) <= MAX_NAME_LENGTH and not value.isspace():
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and key.endswith("Id"):
        value = str(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required_code is not None:
            raise EventError(f"{loc}.{key}", required_code, f"{key} is required")
        return None
    if not isinstance(value, str):
        raise EventError(f"{loc}.{key}", "invalid_field", f"{key} must be a string")
    if len(value) > MAX_NAME_LENGTH:
        raise EventError(f"{loc}.{key}", "invalid_field",
                         f"{key} is longer than {MAX_NAME_LENGTH} characters")
    return value


def _consent(context: dict[str, Any], traits: dict[str, Any]) -> bool:
    consent = context.get("consent")
    if consent is True or traits.get("consent") is True:
        return True
    return isinstance(consent, dict) and consent.get("granted") is True


def _identities(
    envelope: Envelope, loc: str, *, user_id: str | None, anonymous_id: str | None,
    traits: dict[str, Any], context: dict[str, Any], previous_id: str | None,
) -> list[Identity]:
    make = envelope.make_identity
    raw: list[tuple[str, Any]] = []
    if user_id is not None:
        raw.append((USER_ID, user_id))
    if anonymous_id is not None:
        raw.append((ANONYMOUS_ID, anonymous_id))
    if previous_id is not None:
        raw.append((ANONYMOUS_ID, previous_id))
    if traits:
        for trait, identity_type in _TRAIT_IDENTITIES:
            if trait in traits:
                raw.append((identity_type, traits[trait]))
    device = context.get("device")
    if device.__class__ is dict and "id" in device:
        raw.append((DEVICE_ID, device["id"]))
    external = context.get("externalIds")
    if external is None:
        return _made(make, raw)
    if not isinstance(external, list):
        raise EventError(f"{loc}.context.externalIds", "invalid_field",
                         "externalIds must be a list")
    for n, item in enumerate(external or []):
        kind = item.get("type") if isinstance(item, dict) else None
        if not isinstance(kind, str) or "id" not in item:
            raise EventError(f"{loc}.context.externalIds[{n}]", "invalid_field",
                             "each external id needs `id` and `type`")
        name = kind.strip().lower().replace("-", "_").replace(" ", "_")
        raw.append(({"userid": USER_ID, "anonymousid": ANONYMOUS_ID}.get(name, name), item["id"]))
    return _made(make, raw)


def _made(make: IdentityMaker, raw: list[tuple[str, Any]]) -> list[Identity]:
    found: list[Identity] = []
    for identity_type, value in raw:
        if value is not None:
            identity = make(identity_type, value)
            if identity is not None:
                found.append(identity)
    return found


def parse_message(
    message: Any, kind: str | None, loc: str, envelope: Envelope, batch_sent_at: datetime | None
) -> IncomingEvent:
    """Validate one Segment message and turn it into an event ready to be stored."""
    if not isinstance(message, dict):
        raise EventError(loc, "invalid_event", "each event must be a JSON object")
    if kind is None:
        kind = message.get("type")
        if kind not in EVENT_TYPES:
            raise EventError(f"{loc}.type", "invalid_type",
                             f"type must be one of {', '.join(EVENT_TYPES)}")
    context = _obj(message, "context", loc)
    properties = _obj(message, "properties", loc)
    traits = _obj(message, "traits", loc)
    if context.get("traits") is not None:
        traits = {**_obj(context, "traits", f"{loc}.context"), **traits}
    user_id = _text(message, "userId", loc)
    anonymous_id = _text(message, "anonymousId", loc)
    previous_id = None
    if kind == "alias":
        previous_id = _text(message, "previousId", loc, required_code="missing_previous_id")
        user_id = _text(message, "userId", loc, required_code="missing_identity")
    elif user_id is None and anonymous_id is None:
        raise EventError(loc, "missing_identity", "userId or anonymousId is required")
    event = _text(message, "event", loc, required_code="missing_event" if kind == "track" else None)
    name = _text(message, "name", loc)
    if kind == "group":
        group_id = _text(message, "groupId", loc, required_code="missing_group_id")
        properties = {"groupId": group_id, "traits": traits}
        traits = {}
    message_id = _text(message, "messageId", loc) or envelope.new_message_id()
    sent_at = parse_timestamp(message.get("sentAt"), f"{loc}.sentAt") or batch_sent_at
    original = parse_timestamp(message.get("originalTimestamp"), f"{loc}.originalTimestamp")
    stamped = parse_timestamp(message.get("timestamp"), f"{loc}.timestamp")
    channel = context.get("channel", None) or envelope.default_channel
    if channel not in _CHANNELS:
        raise EventError(f"{loc}.context.channel", "invalid_channel",
                         f"channel must be one of {', '.join(sorted(_CHANNELS))}")
    return IncomingEvent(
        type=kind, message_id=message_id, source=envelope.source, channel=channel,
        timestamp=event_time(envelope.received_at, sent_at=sent_at, original=original or stamped),
        received_at=envelope.received_at,
        identities=_identities(envelope, loc, user_id=user_id, anonymous_id=anonymous_id,
                               traits=traits, context=context, previous_id=previous_id),
        event=event, name=name, properties=properties,
        traits=traits if kind != "group" else {}, context=context, user_id=user_id,
        anonymous_id=anonymous_id, consent=_consent(context, traits),
    )


def _event_size(message: Any) -> int:
    return len(json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode())


def parse_body(body: Any, kind: str, envelope: Envelope, *, body_size: int) -> list[IncomingEvent]:
    """All events of a request, or InvalidInput naming every bad field (`batch[3].event`)."""
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object", code="invalid_body")
    errors: list[EventError] = []
    events: list[IncomingEvent] = []
    if kind != "batch":
        try:
            events.append(parse_message(body, kind, "body", envelope, None))
        except EventError as exc:
            errors.append(exc)
    else:
        items = body.get("batch")
        if not isinstance(items, list):
            raise InvalidInput("batch must be a list of events", code="invalid_batch",
                               details=[{"loc": "batch", "code": "invalid_batch"}])
        if len(items) > MAX_BATCH_EVENTS:
            raise PayloadTooLarge(f"a batch holds at most {MAX_BATCH_EVENTS} events",
                                  code="payload_too_large")
        try:
            sent_at = parse_timestamp(body.get("sentAt"), "sentAt")
        except EventError as exc:
            raise InvalidInput(exc.message, code=exc.code,
                               details=[{"loc": exc.loc, "code": exc.code}]) from exc
        check_each = body_size > MAX_EVENT_BYTES
        for index, item in enumerate(items):
            loc = f"batch[{index}]"
            if check_each and _event_size(item) > MAX_EVENT_BYTES:
                raise PayloadTooLarge(f"{loc} is over {MAX_EVENT_BYTES} bytes",
                                      code="payload_too_large",
                                      details=[{"loc": loc, "code": "payload_too_large"}])
            try:
                events.append(parse_message(item, None, loc, envelope, sent_at))
            except EventError as exc:
                errors.append(exc)
                if len(errors) >= _MAX_ERRORS:
                    break
    if errors:
        first = errors[0]
        raise InvalidInput(
            f"{first.loc}: {first.message}", code=first.code,
            details=[{"loc": e.loc, "code": e.code, "message": e.message} for e in errors],
        )
    return events
