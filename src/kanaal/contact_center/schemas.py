"""Request and response models of the contact-center API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from kanaal.contact_center.domain import Agent, Callback, Interaction, QueueCapacity


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AgentIn(_Strict):
    """A new agent."""

    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1000)
    skills: list[str] = Field(default_factory=list, max_length=50,
                              description="e.g. sales, service, language:nl, brand:acme")
    concurrency: dict[str, int] = Field(default_factory=dict,
                                        description='per channel, e.g. {"chat": 3}')
    external_id: str | None = Field(default=None, max_length=120,
                                    description="the agent's id in the ACD (Twilio/Genesys)")


class AgentOut(BaseModel):
    """An agent (never with a password or its hash)."""

    id: str
    name: str
    email: str
    skills: list[str]
    state: str
    state_since: datetime
    concurrency: dict[str, int]
    external_id: str | None

    @classmethod
    def of(cls, agent: Agent) -> AgentOut:
        """From the domain object."""
        return cls(id=agent.id, name=agent.name, email=agent.email, skills=list(agent.skills),
                   state=agent.state.value, state_since=agent.state_since,
                   concurrency=agent.concurrency, external_id=agent.external_id)


class StateIn(_Strict):
    """A state change: available, busy, wrap_up, away or offline."""

    state: str = Field(max_length=20)


class QueueIn(_Strict):
    """A new queue for one skill and channel."""

    name: str = Field(max_length=60)
    skill: str = Field(max_length=100)
    channel: str = Field(description="phone, callback or chat")
    target_service_level: float = Field(default=0.8, gt=0, le=1)
    target_answer_seconds: float = Field(default=20.0, ge=0, le=86400)
    patience_seconds: float | None = Field(default=None, gt=0, le=86400,
                                           description="set it to model abandonment (Erlang A)")
    sla_seconds: int = Field(default=900, gt=0, le=7 * 86400)
    handle_time_seconds: float = Field(default=180.0, gt=0, le=86400)
    arrival_rate_per_minute: float = Field(default=0.0, ge=0, le=100000)
    external_id: str | None = Field(default=None, max_length=120)


class QueueOut(BaseModel):
    """A queue's configuration."""

    id: str
    name: str
    skill: str
    channel: str
    target_service_level: float
    target_answer_seconds: float
    patience_seconds: float | None
    sla_seconds: int
    external_id: str | None


class CapacityOut(BaseModel):
    """One queue's live capacity."""

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
    stable: bool
    waiting_probability: float
    abandon_probability: float
    servers: int
    patience_seconds: float | None

    @classmethod
    def of(cls, capacity: QueueCapacity) -> CapacityOut:
        """From the domain object."""
        return cls.model_validate(capacity, from_attributes=True)


class CapacitySnapshotOut(BaseModel):
    """Every queue's live capacity."""

    computed_at: str | None
    queues: list[CapacityOut]


class QueueWaitOut(BaseModel):
    """Actual waits of one queue's contacts answered in the window."""

    queue: str
    answered: int
    mean_seconds: float | None
    p90_seconds: float | None


class WaitsOut(BaseModel):
    """Actual (measured) waits per queue over a recent window."""

    window_seconds: float
    queues: list[QueueWaitOut]


class CallbackIn(_Strict):
    """A callback request: now (no slot) or in a chosen future slot."""

    phone: str = Field(min_length=3, max_length=40)
    queue: str = Field(max_length=60)
    customer_id: str | None = Field(default=None, max_length=40)
    slot_start: AwareDatetime | None = None
    context: dict[str, Any] = Field(default_factory=dict)
    max_attempts: int | None = Field(default=None, ge=1, le=10)


class CallbackOut(BaseModel):
    """A callback."""

    id: str
    queue: str
    customer_id: str | None
    phone: str
    context: dict[str, Any]
    status: str
    due_at: datetime
    sla_deadline: datetime
    attempts: int
    max_attempts: int
    created_at: datetime
    offered_agent_id: str | None
    agent_id: str | None
    interaction_id: str | None

    @classmethod
    def of(cls, callback: Callback) -> CallbackOut:
        """From the domain object."""
        return cls.model_validate(
            {**{f: getattr(callback, f) for f in cls.model_fields},
             "status": callback.status.value})


class NotReachedIn(_Strict):
    """Why a callback attempt did not reach the customer."""

    reason: str = Field(description="no_answer, busy, voicemail or wrong_number")


class AcceptedOut(BaseModel):
    """The callback an agent accepted, or null when none was waiting."""

    callback: CallbackOut | None


class OutcomeIn(_Strict):
    """How an interaction ended."""

    outcome: str = Field(description="sale, quote, no_sale or follow_up_needed")
    sale_value: Decimal | None = None
    upsell_value: Decimal | None = None
    quote: Decimal | None = None
    notes: str = Field(default="", max_length=10000)


class InteractionIn(_Strict):
    """A call, chat or store visit: opened now, or logged finished when `outcome` is given."""

    kind: str = Field(description="call, chat or store_visit")
    agent_id: str | None = Field(default=None, max_length=40)
    customer_id: str | None = Field(default=None, max_length=40)
    identities: dict[str, str] = Field(default_factory=dict, max_length=10,
                                       description='e.g. {"email": ...} or {"phone": ...}')
    queue: str | None = Field(default=None, max_length=60)
    external_id: str | None = Field(default=None, max_length=120)
    started_at: AwareDatetime | None = None
    queued_at: AwareDatetime | None = Field(
        default=None, description="when the customer joined the queue (gives the actual wait)")
    dialed_number: str | None = Field(default=None, max_length=40,
                                      description="a call's dialed number (DNIS), E.164")
    outcome: str | None = None
    sale_value: Decimal | None = None
    upsell_value: Decimal | None = None
    quote: Decimal | None = None
    notes: str = Field(default="", max_length=10000)


class InteractionOut(BaseModel):
    """An interaction."""

    id: str
    kind: str
    agent_id: str | None
    customer_id: str | None
    queue: str | None
    callback_id: str | None
    started_at: datetime
    ended_at: datetime | None
    handle_seconds: float | None
    outcome: str | None
    sale_value: Decimal | None
    upsell_value: Decimal | None
    quote: Decimal | None
    currency: str
    notes: str
    external_id: str | None
    queued_at: datetime | None = None
    wait_seconds: float | None = None
    dialed_number: str | None = None

    @classmethod
    def of(cls, interaction: Interaction) -> InteractionOut:
        """From the domain object."""
        fields = {f: getattr(interaction, f) for f in cls.model_fields}
        fields["kind"] = interaction.kind.value
        fields["outcome"] = interaction.outcome.value if interaction.outcome else None
        return cls.model_validate(fields)


class IntegrationIn(_Strict):
    """A new ACD integration."""

    name: str = Field(min_length=1, max_length=100)


class IntegrationOut(BaseModel):
    """An ACD integration; `secret` signs its webhooks and is shown only here."""

    id: str
    name: str
    secret: str


class TaskOut(BaseModel):
    """A task for agents or store staff."""

    id: str
    kind: str
    customer_id: str | None
    queue: str | None
    store_id: str | None
    context: dict[str, Any]
    status: str
    created_at: datetime
