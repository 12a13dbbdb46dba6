"""Callbacks, interactions and tasks, and their events on the customer's timeline."""

from __future__ import annotations

import importlib
import logging
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import phonenumbers
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kanaal.contact_center import store
from kanaal.contact_center.agents import get_agent_in, move_agent_in
from kanaal.contact_center.capacity import (
    after_change,
    get_queue_in,
    record_arrival_in,
    record_handle_time_in,
)
from kanaal.contact_center.domain import (
    COMPLETED_EVENT,
    INTERACTION_CHANNEL,
    Agent,
    AgentState,
    Callback,
    CallbackStatus,
    Interaction,
    InteractionKind,
    QueueChannel,
    check_outcome,
)
from kanaal.core.context import AppContext
from kanaal.core.errors import Conflict, InvalidInput, NotFound
from kanaal.core.idempotency import run_idempotent

log = logging.getLogger(__name__)
SLOT_GRACE = timedelta(seconds=60)
MAX_SLOT_AHEAD = timedelta(days=60)


def normalise_phone(ctx: AppContext, phone: str) -> str:
    """The phone number in E.164, read in settings.default_phone_region when it has no +."""
    try:
        parsed = phonenumbers.parse(phone, ctx.settings.default_phone_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(f"{phone!r} is not a phone number", code="invalid_phone") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidInput(f"{phone!r} is not a valid phone number", code="invalid_phone")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _timeline(session: Session, ctx: AppContext, *, event: str, customer_id: str | None,
              identities: dict[str, str], properties: dict[str, Any], message_id: str,
              channel: str) -> str | None:
    """Write an event on the customer's timeline through the collect feature."""
    if customer_id is None and not identities:
        return None
    try:
        collect = importlib.import_module("kanaal.collect.service")
    except ModuleNotFoundError:
        # The collect feature is not installed in this build: the interaction still counts.
        log.warning("kanaal.collect is missing; %s not written to a timeline", event)
        return customer_id
    customer: str = collect.record_event(
        session, ctx, type="track", event=event, identities=identities,
        customer_id=customer_id, properties=properties, channel=channel,
        source="contact_center", message_id=message_id, timestamp=ctx.clock.now(),
    )
    return customer


# ---------------------------------------------------------------- callbacks


def create_callback_in(
    session: Session,
    ctx: AppContext,
    *,
    customer_id: str | None,
    phone: str,
    queue: str,
    slot_start: datetime | None,
    context: dict[str, Any],
    max_attempts: int | None = None,
) -> Callback:
    """Queue a callback now or for a future slot, in the caller's transaction."""
    e164 = normalise_phone(ctx, phone)
    target = get_queue_in(session, queue)
    if target.channel is not QueueChannel.CALLBACK:
        raise InvalidInput(f"queue {queue!r} is not a callback queue", code="not_a_callback_queue")
    now = ctx.clock.now()
    if slot_start is not None and slot_start.tzinfo is None:
        raise InvalidInput("slot_start needs a timezone", code="invalid_slot")
    if slot_start is not None and slot_start < now - SLOT_GRACE:
        raise InvalidInput("the callback slot is in the past", code="slot_in_past")
    if slot_start is not None and slot_start > now + MAX_SLOT_AHEAD:
        raise InvalidInput("the callback slot is too far ahead", code="slot_too_far")
    attempts = max_attempts if max_attempts is not None else int(
        ctx.param("contact_center.callback_attempts", 3))
    if not 1 <= attempts <= 10:
        raise InvalidInput("max_attempts must be 1..10", code="invalid_attempts")
    due = max(now, slot_start) if slot_start is not None else now
    callback_id = ctx.ids.new("cbk")
    customer = _timeline(
        session, ctx, event="Callback Requested", customer_id=customer_id,
        identities={"phone": e164},
        properties={"callback_id": callback_id, "queue": target.name, "due_at": due.isoformat(),
                    "context": context},
        message_id=f"cc:{callback_id}:requested", channel="phone",
    )
    callback = Callback(
        id=callback_id, queue=target.name, customer_id=customer or customer_id, phone=e164,
        context=context, status=CallbackStatus.QUEUED, due_at=due,
        sla_deadline=due + timedelta(seconds=target.sla_seconds), attempts=0,
        max_attempts=attempts, created_at=now,
        offered_agent_id=_longest_idle(session, target.skill, exclude_offered=True)
        if due <= now else None,
    )
    store.insert_callback(session, callback)
    if due <= now:
        record_arrival_in(session, ctx, target.name)
    return callback


def create_callback(ctx: AppContext, *, idempotency_key: str | None = None,
                    **fields: Any) -> tuple[Callback, bool]:
    """Queue a callback in its own transaction; a retried Idempotency-Key gets the first one.

    Returns (callback, replayed).
    """
    def work(session: Session) -> dict[str, Any]:
        return {"callback_id": create_callback_in(session, ctx, **fields).id}

    request = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in fields.items()}
    result, replayed = run_idempotent(ctx.db, ctx.clock, scope="contact_center.callbacks",
                                      key=idempotency_key, request=request, work=work)
    callback = get_callback(ctx, result["callback_id"])
    if not replayed:
        after_change(ctx, {"type": "callback.created", **callback_message(callback)})
    return callback, replayed


def callback_message(callback: Callback) -> dict[str, Any]:
    """The fields of a callback a live listener needs."""
    return {"callback_id": callback.id, "queue": callback.queue, "phone": callback.phone,
            "customer_id": callback.customer_id, "due_at": callback.due_at.isoformat(),
            "offered_agent_id": callback.offered_agent_id, "agent_id": callback.agent_id,
            "status": callback.status.value}


def _longest_idle(session: Session, skill: str, *, exclude_offered: bool) -> str | None:
    """The available agent with `skill` who has been idle longest (and holds no offer)."""
    offered: set[str] = set()
    if exclude_offered:
        offered = {c.offered_agent_id for c in store.select_callbacks(
            session, status=CallbackStatus.QUEUED.value, queues_=None) if c.offered_agent_id}
    idle = [a for a in store.all_agents(session)
            if a.state is AgentState.AVAILABLE and a.has_skill(skill) and a.id not in offered]
    idle.sort(key=lambda a: (a.state_since, a.id))
    return idle[0].id if idle else None


def offer_callbacks_to(ctx: AppContext, agent: Agent) -> Callback | None:
    """Offer a newly available agent the longest-waiting due callback nobody holds."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        names = _queues_for(session, agent)
        for callback in store.select_callbacks(session, status=CallbackStatus.QUEUED.value,
                                               queues_=names, due_by=now):
            holder = callback.offered_agent_id
            if holder is None or get_agent_in(session, holder).state is not AgentState.AVAILABLE:
                store.update_callback(session, callback.id, at=now, offered_agent_id=agent.id)
                return callback
    return None


def _queues_for(session: Session, agent: Agent) -> list[str]:
    """Callback queues whose skill the agent has."""
    return [r.name for r in store.all_queue_rows(session)
            if r.channel == QueueChannel.CALLBACK.value and agent.has_skill(r.skill)]


def list_callbacks(ctx: AppContext, *, status: str | None = "queued", queue: str | None = None,
                   limit: int = 200) -> list[Callback]:
    """Callbacks (queued by default), longest-waiting first."""
    if status is not None and status not in {s.value for s in CallbackStatus}:
        raise InvalidInput(f"unknown callback status {status!r}", code="invalid_status")
    with ctx.db.reader() as session:
        return store.select_callbacks(session, status=status,
                                      queues_=None if queue is None else [queue], limit=limit)


def get_callback(ctx: AppContext, callback_id: str) -> Callback:
    """A callback by id, or NotFound `unknown_callback`."""
    with ctx.db.reader() as session:
        callback = store.find_callback(session, callback_id)
    if callback is None:
        raise NotFound(f"no callback {callback_id!r}", code="unknown_callback")
    return callback


def accept_next_callback(ctx: AppContext, agent_id: str) -> Callback | None:
    """Give the agent the callback offered to them, else the longest-waiting one they can take.

    The callback is assigned, an interaction (a call) starts and the agent becomes busy.
    """
    def work(session: Session) -> Callback | None:
        agent = get_agent_in(session, agent_id)
        if agent.state is not AgentState.AVAILABLE:
            raise Conflict("only an available agent can accept a callback",
                           code="agent_not_available")
        now = ctx.clock.now()
        due = store.select_callbacks(session, status=CallbackStatus.QUEUED.value,
                                     queues_=_queues_for(session, agent), due_by=now)
        due.sort(key=lambda c: (c.offered_agent_id != agent.id, c.due_at, c.id))
        for callback in due:
            interaction_id = ctx.ids.new("int")
            if not store.claim_callback(session, callback.id, agent_id=agent.id,
                                        interaction_id=interaction_id, at=now):
                continue  # another agent took it a moment ago
            store.insert_interaction(session, Interaction(
                id=interaction_id, kind=InteractionKind.CALL, agent_id=agent.id,
                customer_id=callback.customer_id, queue=callback.queue, callback_id=callback.id,
                started_at=now, ended_at=None, handle_seconds=None, outcome=None,
                sale_value=None, upsell_value=None, quote=None, currency=_currency(ctx),
                notes="",
            ), created_at=now)
            move_agent_in(session, ctx, agent.id, AgentState.BUSY)
            return store.find_callback(session, callback.id)
        return None

    callback = ctx.db.run(work)
    if callback is not None:
        after_change(ctx, {"type": "callback.assigned", **callback_message(callback),
                           "interaction_id": callback.interaction_id})
    return callback


def _currency(ctx: AppContext) -> str:
    return str(ctx.param("contact_center.currency", "EUR"))


# ---------------------------------------------------------------- interactions


def record_interaction(
    ctx: AppContext,
    *,
    kind: str,
    agent_id: str | None,
    customer_id: str | None,
    identities: dict[str, str],
    queue: str | None,
    external_id: str | None = None,
    outcome: str | None = None,
    sale_value: Decimal | None = None,
    upsell_value: Decimal | None = None,
    quote: Decimal | None = None,
    notes: str = "",
    started_at: datetime | None = None,
) -> Interaction:
    """Open an interaction (its agent becomes busy), or log a finished one when `outcome` is set.

    A finished interaction runs from `started_at` to now and writes its timeline event at once.
    """
    try:
        interaction_kind = InteractionKind(kind)
    except ValueError as exc:
        raise InvalidInput(f"unknown interaction kind {kind!r}", code="invalid_kind") from exc
    values = None if outcome is None else check_outcome(
        outcome, sale_value=sale_value, upsell_value=upsell_value, quote=quote, notes=notes)
    now = ctx.clock.now()
    if started_at is not None and (started_at.tzinfo is None or started_at > now):
        raise InvalidInput("started_at must be a timezone-aware time not in the future",
                           code="invalid_started_at")
    if started_at is not None and values is None:
        raise InvalidInput("started_at is only for logging a finished interaction",
                           code="invalid_started_at")

    def work(session: Session) -> Interaction:
        customer = resolve_customer_in(session, ctx, customer_id, identities)
        if queue is not None:
            get_queue_in(session, queue)
        begin = started_at or now
        interaction = Interaction(
            id=ctx.ids.new("int"), kind=interaction_kind, agent_id=agent_id,
            customer_id=customer, queue=queue, callback_id=None, started_at=begin, ended_at=None,
            handle_seconds=None, outcome=None, sale_value=None, upsell_value=None, quote=None,
            currency=_currency(ctx), notes="", external_id=external_id,
        )
        if agent_id is not None:
            agent = get_agent_in(session, agent_id)
            if values is None:
                _check_room(session, agent, interaction_kind)
                if agent.state is not AgentState.BUSY:
                    move_agent_in(session, ctx, agent.id, AgentState.BUSY)
        store.insert_interaction(session, interaction, created_at=now)
        if values is None:
            return interaction
        store.complete_interaction(
            session, interaction.id, ended_at=now, handle_seconds=(now - begin).total_seconds(),
            outcome=values.outcome.value, sale_value=values.sale_value,
            upsell_value=values.upsell_value, quote=values.quote, notes=values.notes,
        )
        return finish_interaction_in(session, ctx, interaction.id, identities=identities)

    try:
        interaction = ctx.db.run(work)
    except IntegrityError as exc:
        raise Conflict("an interaction with this external_id exists",
                       code="interaction_exists") from exc
    kind_ = "interaction.completed" if interaction.ended_at else "interaction.started"
    after_change(ctx, {"type": kind_, "interaction_id": interaction.id,
                       "agent_id": agent_id, "customer_id": interaction.customer_id})
    return interaction


def _check_room(session: Session, agent: Agent, kind: InteractionKind) -> None:
    """An agent takes one call at a time and chats up to their chat concurrency."""
    channel = "chat" if kind is InteractionKind.CHAT else "phone"
    if store.open_interactions_of(session, agent.id, kinds=_KINDS[channel]) >= \
            agent.servers(channel):
        raise Conflict(f"the agent has no room for another {kind.value}",
                       code="agent_at_capacity")
    if channel == "phone" and store.open_interactions_of(session, agent.id) > 0:
        raise Conflict("the agent is in another interaction", code="agent_at_capacity")


_KINDS = {"chat": ("chat",), "phone": ("call", "store_visit")}


def resolve_customer_in(session: Session, ctx: AppContext, customer_id: str | None,
                      identities: dict[str, str]) -> str | None:
    """The customer id given, or the one an identity points at (phone in E.164)."""
    if customer_id is not None or not identities:
        return customer_id
    found = importlib.import_module("kanaal.customers.service")
    for kind, value in identities.items():
        key = normalise_phone(ctx, value) if kind == "phone" else value
        match: str | None = found.find_customer_id(session, kind, key)
        if match is not None:
            return match
    return None


def log_interaction_outcome(
    ctx: AppContext,
    interaction_id: str,
    *,
    outcome: str,
    sale_value: Decimal | None = None,
    upsell_value: Decimal | None = None,
    quote: Decimal | None = None,
    notes: str = "",
) -> Interaction:
    """End an open interaction with its outcome; the timeline gets "Call Completed" etc."""
    values = check_outcome(outcome, sale_value=sale_value, upsell_value=upsell_value,
                           quote=quote, notes=notes)

    def work(session: Session) -> Interaction:
        current = store.find_interaction(session, interaction_id=interaction_id, lock=True)
        if current is None:
            raise NotFound(f"no interaction {interaction_id!r}", code="unknown_interaction")
        now = ctx.clock.now()
        handle = max(0.0, (now - current.started_at).total_seconds())
        if not store.complete_interaction(
            session, current.id, ended_at=now, handle_seconds=handle,
            outcome=values.outcome.value, sale_value=values.sale_value,
            upsell_value=values.upsell_value, quote=values.quote, notes=values.notes,
        ):
            raise Conflict("this interaction is already completed",
                           code="interaction_already_completed")
        return finish_interaction_in(session, ctx, current.id)

    interaction = ctx.db.run(work)
    after_change(ctx, {"type": "interaction.completed", "interaction_id": interaction.id,
                       "agent_id": interaction.agent_id, "customer_id": interaction.customer_id,
                       "outcome": interaction.outcome.value if interaction.outcome else None})
    return interaction


def finish_interaction_in(session: Session, ctx: AppContext, interaction_id: str, *,
                          identities: dict[str, str] | None = None) -> Interaction:
    """Handle-time average, callback status, agent wrap-up and the timeline event."""
    done = store.find_interaction(session, interaction_id=interaction_id)
    assert done is not None and done.ended_at is not None
    if done.queue is not None and done.handle_seconds is not None:
        record_handle_time_in(session, ctx, done.queue, done.handle_seconds)
    if done.callback_id is not None:
        store.update_callback(session, done.callback_id, at=done.ended_at,
                              status=CallbackStatus.COMPLETED.value)
    if done.agent_id is not None and store.open_interactions_of(session, done.agent_id) == 0:
        agent = get_agent_in(session, done.agent_id)
        if agent.state is AgentState.BUSY:
            move_agent_in(session, ctx, agent.id, AgentState.WRAP_UP)
    _timeline(
        session, ctx, event=COMPLETED_EVENT[done.kind], customer_id=done.customer_id,
        identities=_stitchable(ctx, identities or {}), properties=interaction_properties(done),
        message_id=f"cc:{done.id}:completed", channel=INTERACTION_CHANNEL[done.kind],
    )
    return done


def _stitchable(ctx: AppContext, identities: dict[str, str]) -> dict[str, str]:
    """Identities as the identity graph stores them (phone numbers in E.164)."""
    return {k: normalise_phone(ctx, v) if k == "phone" else v for k, v in identities.items()}


def interaction_properties(interaction: Interaction) -> dict[str, Any]:
    """What the timeline event of a completed interaction says (money as strings)."""
    def money(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    return {
        "interaction_id": interaction.id, "kind": interaction.kind.value,
        "outcome": interaction.outcome.value if interaction.outcome else None,
        "sale_value": money(interaction.sale_value),
        "upsell_value": money(interaction.upsell_value), "quote": money(interaction.quote),
        "currency": interaction.currency, "handle_seconds": interaction.handle_seconds,
        "agent_id": interaction.agent_id, "queue": interaction.queue,
        "callback_id": interaction.callback_id,
    }


def get_interaction(ctx: AppContext, interaction_id: str) -> Interaction:
    """An interaction by id, or NotFound `unknown_interaction`."""
    with ctx.db.reader() as session:
        found = store.find_interaction(session, interaction_id=interaction_id)
    if found is None:
        raise NotFound(f"no interaction {interaction_id!r}", code="unknown_interaction")
    return found


# ---------------------------------------------------------------- tasks


def create_task_in(session: Session, ctx: AppContext, *, kind: str, customer_id: str | None,
                   queue: str | None, store_id: str | None, context: dict[str, Any]) -> str:
    """Queue a task for agents or store staff (e.g. hot_prospect_alert); returns its id."""
    if not kind or len(kind) > 60:
        raise InvalidInput("a task needs a kind of at most 60 characters", code="invalid_kind")
    if queue is not None:
        get_queue_in(session, queue)
    task_id = ctx.ids.new("tsk")
    store.insert_task(session, id=task_id, kind=kind, customer_id=customer_id, queue=queue,
                      store_id=store_id, context=context, status="open",
                      created_at=ctx.clock.now())
    return task_id


def create_task(ctx: AppContext, **fields: Any) -> str:
    """Queue a task in its own transaction and tell live listeners."""
    task_id = ctx.db.run(lambda session: create_task_in(session, ctx, **fields))
    ctx.live.publish("contact_center", {"type": "task.created", "task_id": task_id,
                                        "kind": fields.get("kind"), "queue": fields.get("queue"),
                                        "store_id": fields.get("store_id")})
    return task_id


def list_tasks(ctx: AppContext, *, status: str | None = "open", queue: str | None = None,
               store_id: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Tasks (open by default), newest first."""
    with ctx.db.reader() as session:
        return store.select_tasks(session, status=status, queue=queue, store_id=store_id,
                                  limit=limit)
