"""ACD webhooks, pure part: signatures, the generic event, Twilio and Genesys mappings.

A telephony platform (ACD) posts agent-state and call events. Kanaal's own generic JSON is
the native format; Twilio TaskRouter and Genesys Cloud payloads are mapped onto it here.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from kanaal.contact_center.domain import E164_RE, check_e164
from kanaal.core.errors import InvalidInput, Unauthenticated

EVENT_TYPES = frozenset(
    {"agent.state", "call.queued", "call.answered", "call.abandoned", "call.completed"}
)
SIGNATURE_HEADER = "Kanaal-Signature"


@dataclass(frozen=True, slots=True)
class AcdEvent:
    """One agent-state or call event in Kanaal's generic form."""

    id: str
    type: str
    timestamp: int | None = None
    agent_id: str | None = None
    agent_email: str | None = None
    agent_external_id: str | None = None
    state: str | None = None
    queue: str | None = None
    call_id: str | None = None
    phone: str | None = None
    customer_id: str | None = None
    handle_seconds: float | None = None
    outcome: str | None = None
    sale_value: Decimal | None = None
    quote: Decimal | None = None
    # The number the caller dialed (DNIS) in E.164: which tracked number the call came in on.
    dialed_number: str | None = None
    # How long the caller waited, when the ACD says so on call.answered (else Kanaal measures
    # it from call.queued).
    wait_seconds: float | None = None

    @property
    def has_agent(self) -> bool:
        """True when the event names an agent in any of the three ways."""
        return any((self.agent_id, self.agent_email, self.agent_external_id))


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(header: str | None, body: bytes, secrets: list[str]) -> int:
    """Check the signature against every configured secret; returns the signed timestamp."""
    if not header:
        raise Unauthenticated(f"missing {SIGNATURE_HEADER} header", code="invalid_signature")
    stamp: int | None = None
    given: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            stamp = int(value)
        elif key == "v1" and value:
            given.append(value)
    if stamp is None or not given or not secrets:
        raise Unauthenticated("the signature does not match", code="invalid_signature")
    for secret in secrets:
        expected = sign(secret, stamp, body).split("v1=", 1)[1]
        if any(hmac.compare_digest(expected, candidate) for candidate in given):
            return stamp
    raise Unauthenticated("the signature does not match", code="invalid_signature")


class MalformedBody(InvalidInput):
    """The body is not a JSON object (HTTP 400, as for every other endpoint)."""

    code = "malformed_json"
    status = 400


def decode_json(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or InvalidInput `malformed_json`."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedBody("the body is not valid JSON") from exc
    if not isinstance(payload, dict):
        raise MalformedBody("the body must be a JSON object")
    return payload


def _text(payload: dict[str, Any], key: str, *, limit: int = 200) -> str | None:
    value = payload.get(key)
    if value is None:
        return None
    if not isinstance(value, str | int) or isinstance(value, bool) or len(str(value)) > limit:
        raise InvalidInput(f"{key} must be a string of at most {limit} characters",
                           code="invalid_acd_event", details=[{"loc": [key]}])
    return str(value)


def _number(payload: dict[str, Any], key: str) -> float | None:
    value = payload.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
            value) or value < 0:
        raise InvalidInput(f"{key} must be a number >= 0", code="invalid_acd_event",
                           details=[{"loc": [key]}])
    return float(value)


def _money(payload: dict[str, Any], key: str) -> Decimal | None:
    value = payload.get(key)
    if value is None:
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise InvalidInput(f"{key} must be an amount", code="invalid_acd_event") from exc
    return amount


def _dialed(payload: dict[str, Any]) -> str | None:
    """`dialed_number` (or its alias `to`) in E.164, else InvalidInput naming the field."""
    key = "dialed_number" if payload.get("dialed_number") is not None else "to"
    value = _text(payload, key, limit=40)
    if value is None:
        return None
    try:
        return check_e164(value, key)
    except InvalidInput as exc:
        raise InvalidInput(exc.message, code="invalid_acd_event",
                           details=[{"loc": [key]}]) from exc


def parse_generic(payload: dict[str, Any]) -> AcdEvent:
    """Validate Kanaal's generic ACD event (see docs/contact-center.md)."""
    event_id, kind = _text(payload, "id"), _text(payload, "type")
    if not event_id:
        raise InvalidInput("an ACD event needs an id", code="invalid_acd_event")
    if kind not in EVENT_TYPES:
        raise InvalidInput(f"unknown ACD event type {kind!r}", code="invalid_acd_event",
                           details=[{"allowed": sorted(EVENT_TYPES)}])
    timestamp = payload.get("timestamp")
    if timestamp is not None and (isinstance(timestamp, bool) or not isinstance(timestamp, int)):
        raise InvalidInput("timestamp must be unix seconds", code="invalid_acd_event")
    event = AcdEvent(
        id=event_id, type=kind, timestamp=timestamp, agent_id=_text(payload, "agent_id"),
        agent_email=_text(payload, "agent_email"),
        agent_external_id=_text(payload, "agent_external_id"), state=_text(payload, "state"),
        queue=_text(payload, "queue"), call_id=_text(payload, "call_id"),
        phone=_text(payload, "phone", limit=40), customer_id=_text(payload, "customer_id"),
        handle_seconds=_number(payload, "handle_seconds"), outcome=_text(payload, "outcome"),
        sale_value=_money(payload, "sale_value"), quote=_money(payload, "quote"),
        dialed_number=_dialed(payload), wait_seconds=_number(payload, "wait_seconds"),
    )
    _require(event)
    return event


def _require(event: AcdEvent) -> None:
    """Each event type names what it acts on."""
    missing: list[str] = []
    if event.type == "agent.state":
        if not event.has_agent:
            missing.append("agent_id|agent_email|agent_external_id")
        if not event.state:
            missing.append("state")
    else:
        if not event.call_id:
            missing.append("call_id")
        if event.type != "call.completed" and not event.queue:
            missing.append("queue")
        if event.type == "call.answered" and not event.has_agent:
            missing.append("agent_id|agent_email|agent_external_id")
    if missing:
        raise InvalidInput(f"{event.type} needs {', '.join(missing)}", code="invalid_acd_event",
                           details=[{"missing": missing}])


# ---------------------------------------------------------------- Twilio TaskRouter

TWILIO_ACTIVITY = {
    "available": "available", "idle": "available", "busy": "busy", "reserved": "busy",
    "wrapup": "wrap_up", "wrap-up": "wrap_up", "wrap up": "wrap_up", "break": "away",
    "unavailable": "away", "away": "away", "offline": "offline",
}


def from_twilio(payload: dict[str, Any]) -> AcdEvent | None:
    """Map a TaskRouter event callback to a generic event (None: not relevant to Kanaal)."""
    kind = str(payload.get("EventType", ""))
    event_id = str(payload.get("Sid") or payload.get("EventSid") or "")
    stamp = payload.get("Timestamp")
    timestamp = int(stamp) if isinstance(stamp, str | int) and str(stamp).isdigit() else None
    worker = payload.get("WorkerSid")
    attributes = _attributes(payload.get("TaskAttributes"))
    common: dict[str, Any] = {"id": f"twilio:{event_id}", "timestamp": timestamp}
    if kind == "worker.activity.update":
        activity = str(payload.get("WorkerActivityName", "")).strip().lower()
        if activity not in TWILIO_ACTIVITY:
            raise InvalidInput(f"unmapped Twilio activity {activity!r}", code="invalid_acd_event")
        return parse_generic({**common, "type": "agent.state", "agent_external_id": worker,
                              "state": TWILIO_ACTIVITY[activity]})
    call = {"call_id": payload.get("TaskSid"), "queue": payload.get("TaskQueueName"),
            "phone": attributes.get("from") or attributes.get("caller"),
            "dialed_number": platform_number(attributes.get("to") or attributes.get("called"))}
    if kind == "task.created":
        return parse_generic({**common, **call, "type": "call.queued"})
    if kind == "reservation.accepted":
        # TaskAge is the task's age when the worker accepted it: the caller's wait.
        age = str(payload.get("TaskAge") or "")
        return parse_generic({**common, **call, "type": "call.answered",
                              "agent_external_id": worker,
                              "wait_seconds": float(age) if age.isdigit() else None})
    if kind == "task.canceled":
        return parse_generic({**common, **call, "type": "call.abandoned"})
    if kind == "task.completed":
        age = str(payload.get("TaskAge") or "")
        return parse_generic({**common, **call, "type": "call.completed",
                              "outcome": attributes.get("outcome"),
                              "handle_seconds": float(age) if age.isdigit() else None})
    return None


def platform_number(raw: Any) -> str | None:
    """A platform's called number (`+3120...`, `tel:+3120...`) in E.164; None for SIP
    addresses, client names or anything else that is not a phone number."""
    if not isinstance(raw, str):
        return None
    compact = raw.strip().removeprefix("tel:").replace(" ", "").replace("-", "")
    return compact if E164_RE.match(compact) else None


def _attributes(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str) and raw:
        try:
            value = json.loads(raw)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}
    return {}


# ---------------------------------------------------------------- Genesys Cloud

GENESYS_PRESENCE = {
    "available": "available", "on queue": "available", "busy": "busy", "meeting": "away",
    "away": "away", "break": "away", "meal": "away", "training": "away", "offline": "offline",
}
GENESYS_ROUTING = {
    "idle": "available", "interacting": "busy", "communicating": "busy",
    "not_responding": "away", "off_queue": "away",
}


def from_genesys(payload: dict[str, Any]) -> AcdEvent | None:
    """Map a Genesys Cloud notification to a generic event (None: not relevant to Kanaal)."""
    topic = str(payload.get("topicName", ""))
    body = payload.get("eventBody")
    if not isinstance(body, dict):
        raise InvalidInput("a Genesys notification needs an eventBody", code="invalid_acd_event")
    parts = topic.split(".")
    meta = payload.get("metadata") if isinstance(payload.get("metadata"), dict) else {}
    event_id = str((meta or {}).get("CorrelationId") or body.get("id") or "")
    common: dict[str, Any] = {"id": f"genesys:{topic}:{event_id}"}
    if len(parts) == 4 and parts[:2] == ["v2", "users"] and parts[3] == "presence":
        definition = body.get("presenceDefinition") or {}
        presence = str(definition.get("systemPresence", "")).strip().lower()
        if presence not in GENESYS_PRESENCE:
            raise InvalidInput(f"unmapped Genesys presence {presence!r}", code="invalid_acd_event")
        return parse_generic({**common, "type": "agent.state", "agent_external_id": parts[2],
                              "state": GENESYS_PRESENCE[presence]})
    if len(parts) == 4 and parts[:2] == ["v2", "users"] and parts[3] == "routingStatus":
        status = str((body.get("routingStatus") or {}).get("status", "")).strip().lower()
        if status not in GENESYS_ROUTING:
            raise InvalidInput(f"unmapped Genesys routing status {status!r}",
                               code="invalid_acd_event")
        return parse_generic({**common, "type": "agent.state", "agent_external_id": parts[2],
                              "state": GENESYS_ROUTING[status]})
    if topic.startswith("v2.detail.events.conversation.") and len(parts) == 7:
        return _genesys_conversation(common, parts[4], parts[5] + "." + parts[6], body)
    return None


def _genesys_conversation(common: dict[str, Any], conversation: str, phase: str,
                          body: dict[str, Any]) -> AcdEvent | None:
    call = {"call_id": conversation, "queue": body.get("queueId"), "phone": body.get("ani"),
            "dialed_number": platform_number(body.get("dnis"))}
    if phase == "acd.start":
        return parse_generic({**common, **call, "type": "call.queued"})
    if phase == "acd.end":
        if str(body.get("acdOutcome", "")).upper() == "ABANDON":
            return parse_generic({**common, **call, "type": "call.abandoned"})
        return None  # answered: the user.start event that follows carries the agent
    if phase == "user.start":
        return parse_generic({**common, **call, "type": "call.answered",
                              "agent_external_id": body.get("userId")})
    if phase == "user.end":
        millis = body.get("interactingDurationMs")
        seconds = millis / 1000 if isinstance(millis, int | float) and millis >= 0 else None
        return parse_generic({**common, **call, "type": "call.completed",
                              "handle_seconds": seconds})
    return None
