"""Contact-center rules: agent states, skills, queues, callbacks, interactions, capacity."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from kanaal.contact_center import erlang
from kanaal.core.errors import Conflict, InvalidInput


class AgentState(StrEnum):
    """What an agent is doing right now."""

    AVAILABLE = "available"
    BUSY = "busy"
    WRAP_UP = "wrap_up"
    AWAY = "away"
    OFFLINE = "offline"


S = AgentState
# Allowed moves; staying in the same state is always allowed (a no-op).
TRANSITIONS: dict[AgentState, frozenset[AgentState]] = {
    S.OFFLINE: frozenset({S.AVAILABLE, S.AWAY}),
    S.AVAILABLE: frozenset({S.BUSY, S.AWAY, S.OFFLINE}),
    S.BUSY: frozenset({S.WRAP_UP, S.AVAILABLE}),
    S.WRAP_UP: frozenset({S.AVAILABLE, S.AWAY, S.OFFLINE, S.BUSY}),
    S.AWAY: frozenset({S.AVAILABLE, S.OFFLINE}),
}
ON_DUTY = frozenset({S.AVAILABLE, S.BUSY, S.WRAP_UP})


class QueueChannel(StrEnum):
    """How work reaches a queue."""

    PHONE = "phone"
    CALLBACK = "callback"
    CHAT = "chat"


class InteractionKind(StrEnum):
    """One conversation with a customer."""

    CALL = "call"
    CHAT = "chat"
    STORE_VISIT = "store_visit"


class Outcome(StrEnum):
    """How an interaction ended."""

    SALE = "sale"
    QUOTE = "quote"
    NO_SALE = "no_sale"
    FOLLOW_UP_NEEDED = "follow_up_needed"


class CallbackStatus(StrEnum):
    """Where a callback stands."""

    QUEUED = "queued"
    ASSIGNED = "assigned"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


# The timeline event each interaction kind writes when it completes.
COMPLETED_EVENT = {
    InteractionKind.CALL: "Call Completed",
    InteractionKind.CHAT: "Chat Completed",
    InteractionKind.STORE_VISIT: "Store Visit Completed",
}
# The channel (kanaal.core.auth.ChannelKind value) an interaction kind belongs to.
INTERACTION_CHANNEL = {
    InteractionKind.CALL: "phone",
    InteractionKind.CHAT: "chat",
    InteractionKind.STORE_VISIT: "store",
}

_SKILL = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,39}(:[a-z0-9][a-z0-9_.\-]{0,59})?$")
_QUEUE_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,59}$")
MAX_CHAT_CONCURRENCY = 10


@dataclass(frozen=True, slots=True)
class Agent:
    """A person who handles interactions; `password_hash` never leaves the service layer."""

    id: str
    name: str
    email: str
    password_hash: str
    skills: tuple[str, ...]
    state: AgentState
    state_since: datetime
    concurrency: dict[str, int]
    external_id: str | None = None

    def has_skill(self, skill: str) -> bool:
        """True when the agent can serve a queue needing `skill`."""
        return skill in self.skills

    def servers(self, channel: str) -> int:
        """Parallel interactions the agent takes on `channel` (callbacks are phone calls)."""
        key = QueueChannel.PHONE.value if channel == QueueChannel.CALLBACK.value else channel
        return self.concurrency.get(key, 1)


@dataclass(frozen=True, slots=True)
class Queue:
    """Work of one skill on one channel, with its service-level target."""

    id: str
    name: str
    skill: str
    channel: QueueChannel
    target_service_level: float
    target_answer_seconds: float
    patience_seconds: float | None
    sla_seconds: int
    external_id: str | None = None


@dataclass(frozen=True, slots=True)
class QueueStats:
    """Live, exponentially weighted figures of a queue."""

    arrival_rate_per_second: float
    arrivals_at: datetime
    handle_time_seconds: float
    waiting: int


@dataclass(frozen=True, slots=True)
class Callback:
    """A promise to call a customer back, now or in a chosen slot."""

    id: str
    queue: str
    customer_id: str | None
    phone: str
    context: dict[str, Any]
    status: CallbackStatus
    due_at: datetime
    sla_deadline: datetime
    attempts: int
    max_attempts: int
    created_at: datetime
    offered_agent_id: str | None = None
    agent_id: str | None = None
    interaction_id: str | None = None


@dataclass(frozen=True, slots=True)
class Interaction:
    """One call, chat or store visit and how it ended."""

    id: str
    kind: InteractionKind
    agent_id: str | None
    customer_id: str | None
    queue: str | None
    callback_id: str | None
    started_at: datetime
    ended_at: datetime | None
    handle_seconds: float | None
    outcome: Outcome | None
    sale_value: Decimal | None
    upsell_value: Decimal | None
    quote: Decimal | None
    currency: str
    notes: str
    external_id: str | None = None
    # Identities of the customer (e.g. {"phone": "+31..."}) used to stitch the timeline event
    # when the customer was not known yet.
    identities: dict[str, str] = field(default_factory=dict)
    # When the customer joined the queue (None: not queued, e.g. an agent-started visit); the
    # actual wait is started_at - queued_at, kept as wait_seconds for the dashboard.
    queued_at: datetime | None = None
    wait_seconds: float | None = None
    # The number the customer dialed (DNIS, E.164): matches calls to a tracked number.
    dialed_number: str | None = None


@dataclass(frozen=True, slots=True)
class QueueCapacity:
    """The live capacity of one queue, as the decision engine reads it."""

    queue: str
    channel: str
    skill: str
    available_agents: int
    busy_agents: int
    queue_length: int
    arrival_rate_per_minute: float
    handle_time_seconds: float
    predicted_wait_seconds: float | None
    service_level: float
    target_service_level: float
    target_answer_seconds: float
    occupancy: float
    required_agents: int
    spare_agent_minutes_15: float
    spare_agent_minutes_30: float
    over_target: bool
    stable: bool = True
    waiting_probability: float = 0.0
    abandon_probability: float = 0.0
    servers: int = 0
    patience_seconds: float | None = None


def check_transition(current: AgentState, target: AgentState) -> None:
    """Raise Conflict unless an agent may move from `current` to `target`."""
    if target != current and target not in TRANSITIONS[current]:
        raise Conflict(
            f"an agent cannot go from {current.value} to {target.value}",
            code="invalid_state_transition",
            details=[{"from": current.value, "to": target.value,
                      "allowed": sorted(s.value for s in TRANSITIONS[current])}],
        )


def normalise_skills(skills: list[str]) -> tuple[str, ...]:
    """Lower-case, de-duplicated, validated skills such as `sales`, `language:nl`."""
    result: list[str] = []
    for raw in skills:
        skill = raw.strip().lower()
        if not _SKILL.match(skill):
            raise InvalidInput(f"skill {raw!r} is not valid (e.g. sales, language:nl, brand:acme)",
                               code="invalid_skill")
        if skill not in result:
            result.append(skill)
    return tuple(result)


def check_concurrency(concurrency: dict[str, int]) -> dict[str, int]:
    """Per-channel parallel interactions: phone exactly 1, chat 1..MAX_CHAT_CONCURRENCY."""
    result = {"phone": 1, "chat": 1}
    for channel, count in concurrency.items():
        if channel == "phone" and count != 1:
            raise InvalidInput("phone concurrency is always 1", code="invalid_concurrency")
        if channel == "chat" and not 1 <= count <= MAX_CHAT_CONCURRENCY:
            raise InvalidInput(f"chat concurrency must be 1..{MAX_CHAT_CONCURRENCY}",
                               code="invalid_concurrency")
        if channel not in result:
            raise InvalidInput(f"unknown channel {channel!r} (phone, chat)",
                               code="invalid_concurrency")
        result[channel] = count
    return result


def check_queue_name(name: str) -> str:
    """A queue name is a lower-case slug (e.g. `sales-phone`)."""
    if not _QUEUE_NAME.match(name):
        raise InvalidInput(f"queue name {name!r} must be a lower-case slug",
                           code="invalid_queue_name")
    return name


def decayed_rate(rate_per_second: float, since: datetime, now: datetime, window: float) -> float:
    """The arrival rate estimate at `now`, decayed since the last arrival."""
    elapsed = max(0.0, (now - since).total_seconds())
    return rate_per_second * math.exp(-elapsed / window)


def rate_after_arrival(
    rate_per_second: float, since: datetime, now: datetime, window: float
) -> float:
    """Exponentially weighted arrival rate after one more arrival at `now`."""
    return decayed_rate(rate_per_second, since, now, window) + 1.0 / window


def handle_time_after(current: float, observed: float, weight: float) -> float:
    """Exponentially weighted handle time after observing one more interaction."""
    return (1.0 - weight) * current + weight * max(0.0, observed)


def queue_capacity(
    queue: Queue,
    stats: QueueStats,
    agents: list[Agent],
    *,
    queue_length: int,
    now: datetime,
    window_seconds: float,
    booked_15: int = 0,
    booked_30: int = 0,
) -> QueueCapacity:
    """The live capacity snapshot of one queue from its agents and weighted figures.

    `queue_length` counts who waits now (callbacks already due among them); `booked_15` and
    `booked_30` count the callbacks that fall due within the next 15 and 30 minutes (the 30
    include the 15). Their work is already promised, so it comes off the spare minutes of
    its horizon as the backlog's does.
    """
    key = "chat" if queue.channel is QueueChannel.CHAT else "phone"
    servers = free_servers = available = busy = 0
    for agent in agents:  # one pass: this runs on every state change for every queue
        if agent.state in ON_DUTY and queue.skill in agent.skills:
            slots = agent.concurrency.get(key, 1)
            servers += slots
            if agent.state is AgentState.AVAILABLE:
                available += 1
                free_servers += slots
            else:
                busy += 1
    rate = decayed_rate(stats.arrival_rate_per_second, stats.arrivals_at, now, window_seconds)
    handle = max(1.0, stats.handle_time_seconds)
    traffic = rate * handle
    metrics = erlang.queue_metrics(
        servers, traffic, handle, queue.target_answer_seconds, queue.patience_seconds
    )
    required = erlang.required_agents(
        traffic, handle, queue.target_answer_seconds, queue.target_service_level,
        queue.patience_seconds,
    )
    if queue_length > 0:
        required = max(required, 1)
    wait = metrics.average_wait_seconds
    if wait is not None and servers > 0 and queue_length >= free_servers and queue_length > 0:
        # Callers already waiting are served first: the next one waits for them too.
        wait = max(wait, (queue_length - free_servers + 1) * handle / servers)
    level = metrics.service_level if metrics.service_level is not None else 0.0
    backlog_minutes = queue_length * handle / 60.0
    spare = max(0, servers - required)
    booked_15_minutes = booked_15 * handle / 60.0
    booked_30_minutes = booked_30 * handle / 60.0
    occupancy = min(1.0, traffic / servers) if servers else (1.0 if traffic > 0 else 0.0)
    return QueueCapacity(
        queue=queue.name,
        channel=queue.channel.value,
        skill=queue.skill,
        available_agents=available,
        busy_agents=busy,
        queue_length=queue_length,
        arrival_rate_per_minute=rate * 60.0,
        handle_time_seconds=handle,
        predicted_wait_seconds=wait,
        service_level=level,
        target_service_level=queue.target_service_level,
        target_answer_seconds=queue.target_answer_seconds,
        occupancy=occupancy,
        required_agents=required,
        spare_agent_minutes_15=max(0.0, spare * 15.0 - backlog_minutes - booked_15_minutes),
        spare_agent_minutes_30=max(0.0, spare * 30.0 - backlog_minutes - booked_30_minutes),
        over_target=not metrics.stable or level < queue.target_service_level,
        stable=metrics.stable,
        waiting_probability=metrics.waiting_probability,
        abandon_probability=metrics.abandon_probability,
        servers=servers,
        patience_seconds=queue.patience_seconds,
    )


@dataclass(frozen=True, slots=True)
class OutcomeValues:
    """A validated outcome with its money figures."""

    outcome: Outcome
    sale_value: Decimal | None
    upsell_value: Decimal | None
    quote: Decimal | None
    notes: str = field(default="")


def check_outcome(
    outcome: str,
    *,
    sale_value: Decimal | None,
    upsell_value: Decimal | None,
    quote: Decimal | None,
    notes: str,
) -> OutcomeValues:
    """A sale needs a value; a quote needs an amount; money is never negative."""
    try:
        kind = Outcome(outcome)
    except ValueError as exc:
        raise InvalidInput(f"unknown outcome {outcome!r}", code="invalid_outcome") from exc
    for label, value in (("sale_value", sale_value), ("upsell_value", upsell_value),
                         ("quote", quote)):
        if value is not None and (not value.is_finite() or value < 0):
            raise InvalidInput(f"{label} must be a finite amount >= 0", code="invalid_amount")
    if kind is Outcome.SALE and (sale_value is None or sale_value <= 0):
        raise InvalidInput("a sale needs a sale_value above 0", code="sale_value_required")
    if kind is Outcome.QUOTE and quote is None:
        raise InvalidInput("a quote outcome needs the quoted amount", code="quote_required")
    if len(notes) > 10_000:
        raise InvalidInput("notes are limited to 10000 characters", code="notes_too_long")
    return OutcomeValues(kind, sale_value, upsell_value, quote, notes)


E164_RE = re.compile(r"^\+[1-9]\d{6,14}$")


def check_e164(value: str, field_name: str = "dialed_number") -> str:
    """A phone number in E.164 (`+` and 7-15 digits); spaces, dots, dashes, brackets dropped."""
    compact = re.sub(r"[\s().-]", "", value)
    if not E164_RE.match(compact):
        raise InvalidInput(f"{field_name} must be a phone number in E.164, like +31205550101",
                           code="invalid_phone_number", details=[{"loc": [field_name]}])
    return compact


def wait_between(queued_at: datetime | None, answered_at: datetime) -> float | None:
    """Seconds from joining the queue to being answered (None when not queued; never < 0)."""
    if queued_at is None:
        return None
    return max(0.0, (answered_at - queued_at).total_seconds())


def wait_summary(waits: list[float]) -> dict[str, float | int | None]:
    """Answered count, mean and 90th percentile (nearest rank) of actual waits in seconds."""
    if not waits:
        return {"answered": 0, "mean_seconds": None, "p90_seconds": None}
    ordered = sorted(waits)
    rank = max(1, math.ceil(0.9 * len(ordered)))
    return {"answered": len(ordered), "mean_seconds": round(sum(ordered) / len(ordered), 1),
            "p90_seconds": round(ordered[rank - 1], 1)}
