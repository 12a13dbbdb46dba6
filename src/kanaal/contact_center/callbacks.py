"""Callbacks: requested now or for a slot, offered to the longest-idle agent, accepted."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from kanaal.contact_center import store
from kanaal.contact_center.agents import get_agent_in, move_agent_in
from kanaal.contact_center.capacity import after_change, get_queue_in, record_arrival_in
from kanaal.contact_center.domain import (
    Agent,
    AgentState,
    Callback,
    CallbackStatus,
    Interaction,
    InteractionKind,
    QueueChannel,
    wait_between,
)
from kanaal.contact_center.timeline import (
    check_context,
    currency,
    normalise_phone,
    record_on_timeline_in,
)
from kanaal.core.context import AppContext
from kanaal.core.errors import Conflict, InvalidInput, NotFound
from kanaal.core.idempotency import run_idempotent

SLOT_GRACE = timedelta(seconds=60)
MAX_SLOT_AHEAD = timedelta(days=60)


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
    check_context(context)
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
    customer = record_on_timeline_in(
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
        queued = store.select_callbacks(session, status=CallbackStatus.QUEUED.value,
                                        queues_=_queues_for(session, agent), due_by=now)
        if any(c.offered_agent_id == agent.id for c in queued):
            return None  # one offer at a time
        for callback in queued:
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
                sale_value=None, upsell_value=None, quote=None, currency=currency(ctx),
                notes="", queued_at=callback.due_at,
                # A callback waits from the moment it is due until an agent takes it.
                wait_seconds=wait_between(callback.due_at, now),
            ), created_at=now)
            move_agent_in(session, ctx, agent.id, AgentState.BUSY)
            return store.find_callback(session, callback.id)
        return None

    callback = ctx.db.run(work)
    if callback is not None:
        after_change(ctx, {"type": "callback.assigned", **callback_message(callback),
                           "interaction_id": callback.interaction_id})
    return callback


NOT_REACHED_REASONS = frozenset({"no_answer", "busy", "voicemail", "wrong_number"})


def callback_not_reached(ctx: AppContext, callback_id: str, *, reason: str) -> Callback:
    """The agent could not reach the customer: retry later or, out of attempts, fail.

    The attempt's call ends without an outcome (nothing goes on the timeline); the agent goes
    to wrap-up. A wrong number fails the callback at once.
    """
    if reason not in NOT_REACHED_REASONS:
        raise InvalidInput(f"reason must be one of {sorted(NOT_REACHED_REASONS)}",
                           code="invalid_reason")

    def work(session: Session) -> Callback:
        callback = store.find_callback(session, callback_id)
        if callback is None:
            raise NotFound(f"no callback {callback_id!r}", code="unknown_callback")
        if callback.status is not CallbackStatus.ASSIGNED or callback.interaction_id is None:
            raise Conflict("only an assigned callback can be marked not reached",
                           code="callback_not_assigned")
        now = ctx.clock.now()
        attempt = store.find_interaction(session, interaction_id=callback.interaction_id)
        if attempt is not None and attempt.ended_at is None:
            store.complete_interaction(
                session, attempt.id, ended_at=now,
                handle_seconds=max(0.0, (now - attempt.started_at).total_seconds()),
                notes=f"not reached: {reason}")
        retry = reason != "wrong_number" and callback.attempts < callback.max_attempts
        delay = timedelta(seconds=float(ctx.param("contact_center.callback_retry_seconds", 600)))
        store.update_callback(
            session, callback.id, at=now,
            status=(CallbackStatus.QUEUED if retry else CallbackStatus.FAILED).value,
            due_at=now + delay if retry else callback.due_at, agent_id=None,
            interaction_id=None, offered_agent_id=None,
        )
        if callback.agent_id is not None and store.open_interactions_of(
                session, callback.agent_id) == 0:
            if get_agent_in(session, callback.agent_id).state is AgentState.BUSY:
                move_agent_in(session, ctx, callback.agent_id, AgentState.WRAP_UP)
        found = store.find_callback(session, callback.id)
        assert found is not None
        return found

    callback = ctx.db.run(work)
    kind = "callback.retry" if callback.status is CallbackStatus.QUEUED else "callback.failed"
    after_change(ctx, {"type": kind, **callback_message(callback), "reason": reason})
    return callback
