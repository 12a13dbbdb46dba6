"""Contact-center tables and queries. Never commits: services own the transaction."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Float,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    func,
    select,
    update,
)
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from kanaal.contact_center.domain import (
    Agent,
    AgentState,
    Callback,
    CallbackStatus,
    Interaction,
    InteractionKind,
    Outcome,
    Queue,
    QueueChannel,
    QueueStats,
)
from kanaal.core.db import UtcDateTime, metadata, rowcount

agents = Table(
    "cc_agents",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("skills", JSON, nullable=False),
    Column("state", String(20), nullable=False),
    Column("state_since", UtcDateTime, nullable=False),
    Column("concurrency", JSON, nullable=False),
    Column("external_id", String(120), nullable=True, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
)

queues = Table(
    "cc_queues",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(60), nullable=False, unique=True),
    Column("skill", String(100), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("target_service_level", Float, nullable=False),
    Column("target_answer_seconds", Float, nullable=False),
    Column("patience_seconds", Float, nullable=True),
    Column("sla_seconds", Integer, nullable=False),
    Column("external_id", String(120), nullable=True, unique=True),
    Column("arrival_rate", Float, nullable=False),
    Column("arrivals_at", UtcDateTime, nullable=False),
    Column("handle_time_seconds", Float, nullable=False),
    Column("waiting", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

callbacks = Table(
    "cc_callbacks",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("queue", String(60), nullable=False),
    Column("customer_id", String(40), nullable=True, index=True),
    Column("phone", String(32), nullable=False),
    Column("context", JSON, nullable=False),
    Column("status", String(20), nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("sla_deadline", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("max_attempts", Integer, nullable=False),
    Column("offered_agent_id", String(40), nullable=True),
    Column("agent_id", String(40), nullable=True),
    Column("interaction_id", String(40), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_cc_callbacks_status_due_at", "status", "due_at"),
)

interactions = Table(
    "cc_interactions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("agent_id", String(40), nullable=True, index=True),
    Column("customer_id", String(40), nullable=True, index=True),
    Column("queue", String(60), nullable=True),
    Column("callback_id", String(40), nullable=True),
    Column("external_id", String(120), nullable=True, unique=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime, nullable=True),
    Column("handle_seconds", Float, nullable=True),
    Column("outcome", String(30), nullable=True),
    Column("sale_value", Numeric(14, 2), nullable=True),
    Column("upsell_value", Numeric(14, 2), nullable=True),
    Column("quote", Numeric(14, 2), nullable=True),
    Column("currency", String(3), nullable=False),
    Column("notes", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("identities", JSON, nullable=True),
    Column("queued_at", UtcDateTime, nullable=True),
    Column("wait_seconds", Float, nullable=True),
    Column("dialed_number", String(32), nullable=True),
    Index("ix_cc_interactions_started_at", "started_at"),
    Index("ix_cc_interactions_dialed_number", "dialed_number", "started_at"),
)

# Calls an ACD reported as queued and not yet answered or abandoned: when they joined the
# queue (for the actual wait) and the number they dialed.
queued_calls = Table(
    "cc_queued_calls",
    metadata,
    Column("call_id", String(120), primary_key=True),
    Column("queue", String(60), nullable=False),
    Column("dialed_number", String(32), nullable=True),
    Column("queued_at", UtcDateTime, nullable=False),
)

tasks = Table(
    "cc_tasks",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("kind", String(60), nullable=False),
    Column("customer_id", String(40), nullable=True, index=True),
    Column("queue", String(60), nullable=True),
    Column("store_id", String(40), nullable=True),
    Column("context", JSON, nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_cc_tasks_status_created_at", "status", "created_at"),
)

acd_integrations = Table(
    "cc_acd_integrations",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("secret", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

acd_events = Table(
    "cc_acd_events",
    metadata,
    Column("event_id", String(200), primary_key=True),
    Column("type", String(60), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
)


# ---------------------------------------------------------------- agents


def agent_from_row(row: Row[Any]) -> Agent:
    """An Agent from a cc_agents row."""
    return Agent(
        id=row.id, name=row.name, email=row.email, password_hash=row.password_hash,
        skills=tuple(row.skills), state=AgentState(row.state), state_since=row.state_since,
        concurrency=dict(row.concurrency), external_id=row.external_id,
    )


def insert_agent(session: Session, agent: Agent, *, created_at: datetime) -> None:
    """Add an agent."""
    session.execute(agents.insert().values(
        id=agent.id, name=agent.name, email=agent.email, password_hash=agent.password_hash,
        skills=list(agent.skills), state=agent.state.value, state_since=agent.state_since,
        concurrency=agent.concurrency, external_id=agent.external_id, created_at=created_at,
    ))


def find_agent(session: Session, *, agent_id: str | None = None, email: str | None = None,
               external_id: str | None = None) -> Agent | None:
    """An agent by id, e-mail (case-insensitive) or external id."""
    query = select(agents)
    if agent_id is not None:
        query = query.where(agents.c.id == agent_id)
    elif email is not None:
        query = query.where(agents.c.email == email.strip().lower())
    elif external_id is not None:
        query = query.where(agents.c.external_id == external_id)
    else:
        return None
    row = session.execute(query).first()
    return None if row is None else agent_from_row(row)


def all_agents(session: Session) -> list[Agent]:
    """Every agent, oldest first."""
    return [agent_from_row(r) for r in session.execute(select(agents).order_by(agents.c.id))]


def move_agent(session: Session, agent_id: str, *, current: AgentState, target: AgentState,
               at: datetime) -> bool:
    """Change the state only if it is still `current` (check-and-change in one statement)."""
    result = session.execute(
        update(agents).where(agents.c.id == agent_id, agents.c.state == current.value)
        .values(state=target.value, state_since=at)
    )
    return rowcount(result) == 1


# ---------------------------------------------------------------- queues


def queue_from_row(row: Row[Any]) -> Queue:
    """A Queue from a cc_queues row."""
    return Queue(
        id=row.id, name=row.name, skill=row.skill, channel=QueueChannel(row.channel),
        target_service_level=row.target_service_level,
        target_answer_seconds=row.target_answer_seconds, patience_seconds=row.patience_seconds,
        sla_seconds=row.sla_seconds, external_id=row.external_id,
    )


def stats_from_row(row: Row[Any]) -> QueueStats:
    """The weighted live figures of a cc_queues row."""
    return QueueStats(row.arrival_rate, row.arrivals_at, row.handle_time_seconds, row.waiting)


def insert_queue(session: Session, queue: Queue, stats: QueueStats, *, created_at: datetime
                 ) -> None:
    """Add a queue with its starting figures."""
    session.execute(queues.insert().values(
        id=queue.id, name=queue.name, skill=queue.skill, channel=queue.channel.value,
        target_service_level=queue.target_service_level,
        target_answer_seconds=queue.target_answer_seconds,
        patience_seconds=queue.patience_seconds, sla_seconds=queue.sla_seconds,
        external_id=queue.external_id, arrival_rate=stats.arrival_rate_per_second,
        arrivals_at=stats.arrivals_at, handle_time_seconds=stats.handle_time_seconds,
        waiting=stats.waiting, created_at=created_at,
    ))


def find_queue_row(session: Session, name_or_external_id: str, *, lock: bool = False
                   ) -> Row[Any] | None:
    """A queue row by name or external id (row-locked on PostgreSQL when `lock`)."""
    query = select(queues).where(
        (queues.c.name == name_or_external_id) | (queues.c.external_id == name_or_external_id)
    )
    if lock:
        query = query.with_for_update()
    return session.execute(query).first()


def all_queue_rows(session: Session) -> list[Row[Any]]:
    """Every queue row, by name."""
    return list(session.execute(select(queues).order_by(queues.c.name)))


def update_queue_stats(session: Session, queue_id: str, **values: Any) -> None:
    """Store new weighted figures for a queue."""
    session.execute(update(queues).where(queues.c.id == queue_id).values(**values))


def callback_load(session: Session, now: datetime) -> dict[str, tuple[int, int, int]]:
    """Queued callbacks per queue: (due by `now`, due within 15 minutes after it, within 30)."""
    due = callbacks.c.due_at
    in_15, in_30 = now + timedelta(minutes=15), now + timedelta(minutes=30)
    rows = session.execute(
        select(
            callbacks.c.queue,
            func.count().filter(due <= now),
            func.count().filter(due > now, due <= in_15),
            func.count().filter(due > now),
        ).where(callbacks.c.status == CallbackStatus.QUEUED.value, due <= in_30)
        .group_by(callbacks.c.queue)
    )
    return {queue: (int(now_), int(soon), int(later)) for queue, now_, soon, later in rows}


# ---------------------------------------------------------------- callbacks


def callback_from_row(row: Row[Any]) -> Callback:
    """A Callback from a cc_callbacks row."""
    return Callback(
        id=row.id, queue=row.queue, customer_id=row.customer_id, phone=row.phone,
        context=dict(row.context), status=CallbackStatus(row.status), due_at=row.due_at,
        sla_deadline=row.sla_deadline, attempts=row.attempts, max_attempts=row.max_attempts,
        created_at=row.created_at, offered_agent_id=row.offered_agent_id,
        agent_id=row.agent_id, interaction_id=row.interaction_id,
    )


def insert_callback(session: Session, callback: Callback) -> None:
    """Add a callback."""
    session.execute(callbacks.insert().values(
        id=callback.id, queue=callback.queue, customer_id=callback.customer_id,
        phone=callback.phone, context=callback.context, status=callback.status.value,
        due_at=callback.due_at, sla_deadline=callback.sla_deadline, attempts=callback.attempts,
        max_attempts=callback.max_attempts, offered_agent_id=callback.offered_agent_id,
        agent_id=callback.agent_id, interaction_id=callback.interaction_id,
        created_at=callback.created_at, updated_at=callback.created_at,
    ))


def find_callback(session: Session, callback_id: str) -> Callback | None:
    """A callback by id."""
    row = session.execute(select(callbacks).where(callbacks.c.id == callback_id)).first()
    return None if row is None else callback_from_row(row)


def select_callbacks(session: Session, *, status: str | None, queues_: list[str] | None,
                     due_by: datetime | None = None, limit: int = 200) -> list[Callback]:
    """Callbacks, longest-waiting (earliest due) first."""
    query = select(callbacks).order_by(callbacks.c.due_at, callbacks.c.id).limit(limit)
    if status is not None:
        query = query.where(callbacks.c.status == status)
    if queues_ is not None:
        query = query.where(callbacks.c.queue.in_(queues_))
    if due_by is not None:
        query = query.where(callbacks.c.due_at <= due_by)
    return [callback_from_row(r) for r in session.execute(query)]


def claim_callback(session: Session, callback_id: str, *, agent_id: str, interaction_id: str,
                   at: datetime) -> bool:
    """Assign a still-queued callback to an agent (check-and-change in one statement)."""
    result = session.execute(
        update(callbacks).where(callbacks.c.id == callback_id,
                                callbacks.c.status == CallbackStatus.QUEUED.value)
        .values(status=CallbackStatus.ASSIGNED.value, agent_id=agent_id,
                interaction_id=interaction_id, attempts=callbacks.c.attempts + 1, updated_at=at)
    )
    return rowcount(result) == 1


def update_callback(session: Session, callback_id: str, *, at: datetime, **values: Any) -> None:
    """Change a callback's columns."""
    session.execute(update(callbacks).where(callbacks.c.id == callback_id)
                    .values(updated_at=at, **values))


# ---------------------------------------------------------------- interactions


def interaction_from_row(row: Row[Any]) -> Interaction:
    """An Interaction from a cc_interactions row."""
    return Interaction(
        id=row.id, kind=InteractionKind(row.kind), agent_id=row.agent_id,
        customer_id=row.customer_id, queue=row.queue, callback_id=row.callback_id,
        started_at=row.started_at, ended_at=row.ended_at, handle_seconds=row.handle_seconds,
        outcome=None if row.outcome is None else Outcome(row.outcome),
        sale_value=_dec(row.sale_value), upsell_value=_dec(row.upsell_value),
        quote=_dec(row.quote), currency=row.currency, notes=row.notes,
        external_id=row.external_id, identities=dict(row.identities or {}),
        queued_at=row.queued_at, wait_seconds=row.wait_seconds, dialed_number=row.dialed_number,
    )


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def insert_interaction(session: Session, interaction: Interaction, *, created_at: datetime
                       ) -> None:
    """Add an interaction."""
    session.execute(interactions.insert().values(
        id=interaction.id, kind=interaction.kind.value, agent_id=interaction.agent_id,
        customer_id=interaction.customer_id, queue=interaction.queue,
        callback_id=interaction.callback_id, external_id=interaction.external_id,
        started_at=interaction.started_at, ended_at=interaction.ended_at,
        handle_seconds=interaction.handle_seconds,
        outcome=None if interaction.outcome is None else interaction.outcome.value,
        sale_value=interaction.sale_value, upsell_value=interaction.upsell_value,
        quote=interaction.quote, currency=interaction.currency, notes=interaction.notes,
        identities=interaction.identities or None, created_at=created_at,
        queued_at=interaction.queued_at, wait_seconds=interaction.wait_seconds,
        dialed_number=interaction.dialed_number,
    ))


def find_interaction(session: Session, *, interaction_id: str | None = None,
                     external_id: str | None = None, lock: bool = False) -> Interaction | None:
    """An interaction by id or external id."""
    query = select(interactions)
    query = query.where(interactions.c.id == interaction_id) if interaction_id is not None \
        else query.where(interactions.c.external_id == external_id)
    if lock:
        query = query.with_for_update()
    row = session.execute(query).first()
    return None if row is None else interaction_from_row(row)


def complete_interaction(session: Session, interaction_id: str, **values: Any) -> bool:
    """Record the end and outcome of a still-open interaction."""
    result = session.execute(
        update(interactions).where(interactions.c.id == interaction_id,
                                   interactions.c.ended_at.is_(None)).values(**values)
    )
    return rowcount(result) == 1


def set_interaction_customer(session: Session, interaction_id: str, customer_id: str) -> None:
    """Attach an interaction to the customer its identities stitched to."""
    session.execute(update(interactions).where(interactions.c.id == interaction_id)
                    .values(customer_id=customer_id))


def open_interactions_of(session: Session, agent_id: str, *,
                         kinds: tuple[str, ...] | None = None) -> int:
    """How many interactions (of `kinds`) an agent has not finished."""
    query = select(func.count()).select_from(interactions).where(
        interactions.c.agent_id == agent_id, interactions.c.ended_at.is_(None))
    if kinds is not None:
        query = query.where(interactions.c.kind.in_(kinds))
    return int(session.execute(query).scalar_one())


# ---------------------------------------------------------------- tasks and ACD


def insert_task(session: Session, **values: Any) -> None:
    """Add a task."""
    session.execute(tasks.insert().values(**values))


def select_tasks(session: Session, *, status: str | None, queue: str | None,
                 store_id: str | None, limit: int) -> list[dict[str, Any]]:
    """Tasks, newest first."""
    query = select(tasks).order_by(tasks.c.created_at.desc(), tasks.c.id.desc()).limit(limit)
    if status is not None:
        query = query.where(tasks.c.status == status)
    if queue is not None:
        query = query.where(tasks.c.queue == queue)
    if store_id is not None:
        query = query.where(tasks.c.store_id == store_id)
    return [dict(r._mapping) for r in session.execute(query)]


def acd_secrets(session: Session) -> list[str]:
    """Signing secrets of every admin-created ACD integration."""
    return [r.secret for r in session.execute(select(acd_integrations.c.secret))]


def event_seen(session: Session, event_id: str) -> bool:
    """True when an ACD event id was applied before."""
    found = session.execute(select(acd_events.c.event_id).where(acd_events.c.event_id == event_id))
    return found.first() is not None


# ---------------------------------------------------------------- queued calls and waits


def remember_queued_call(session: Session, *, call_id: str, queue: str,
                         dialed_number: str | None, queued_at: datetime) -> None:
    """Note when an ACD call joined its queue (a repeated call.queued keeps the first time).

    Calls whose answer or abandonment never arrived are forgotten after a day.
    """
    session.execute(queued_calls.delete().where(
        queued_calls.c.queued_at < queued_at - timedelta(days=1)))
    exists = session.execute(select(queued_calls.c.call_id).where(
        queued_calls.c.call_id == call_id)).first()
    if exists is None:
        session.execute(queued_calls.insert().values(
            call_id=call_id, queue=queue, dialed_number=dialed_number, queued_at=queued_at))


def take_queued_call(session: Session, call_id: str) -> Row[Any] | None:
    """The queued call's row, removed: it was answered or abandoned."""
    row = session.execute(select(queued_calls).where(queued_calls.c.call_id == call_id)).first()
    if row is not None:
        session.execute(queued_calls.delete().where(queued_calls.c.call_id == call_id))
    return row


def answered_waits(session: Session, since: datetime) -> dict[str, list[float]]:
    """Actual waits (seconds) of interactions answered since `since`, per queue."""
    rows = session.execute(select(interactions.c.queue, interactions.c.wait_seconds).where(
        interactions.c.started_at >= since, interactions.c.wait_seconds.is_not(None),
        interactions.c.queue.is_not(None)))
    waits: dict[str, list[float]] = {}
    for queue, wait in rows:
        waits.setdefault(queue, []).append(float(wait))
    return waits


def calls_to_numbers(session: Session, numbers: list[str], since: datetime,
                     until: datetime) -> list[Interaction]:
    """Calls that dialed one of `numbers` and started in [since, until], oldest first."""
    if not numbers:
        return []
    query = select(interactions).where(
        interactions.c.kind == InteractionKind.CALL.value,
        interactions.c.dialed_number.in_(numbers), interactions.c.started_at >= since,
        interactions.c.started_at <= until).order_by(interactions.c.started_at, interactions.c.id)
    return [interaction_from_row(r) for r in session.execute(query)]
