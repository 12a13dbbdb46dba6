"""Interactions (calls, chats, store visits), their outcomes, and tasks for agents."""

from __future__ import annotations

import importlib
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kanaal.contact_center import store
from kanaal.contact_center.agents import get_agent_in, move_agent_in
from kanaal.contact_center.capacity import after_change, get_queue_in, record_handle_time_in
from kanaal.contact_center.domain import (
    COMPLETED_EVENT,
    INTERACTION_CHANNEL,
    Agent,
    AgentState,
    CallbackStatus,
    Interaction,
    InteractionKind,
    check_e164,
    check_outcome,
    wait_between,
    wait_summary,
)
from kanaal.contact_center.timeline import (
    check_context,
    currency,
    normalise_phone,
    record_on_timeline_in,
)
from kanaal.core.context import AppContext
from kanaal.core.errors import Conflict, InvalidInput, NotFound


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
    queued_at: datetime | None = None,
    dialed_number: str | None = None,
) -> Interaction:
    """Open an interaction (its agent becomes busy), or log a finished one when `outcome` is set.

    A finished interaction runs from `started_at` to now and writes its timeline event at once.
    `queued_at` (when the customer joined the queue) gives the actual wait until it started;
    `dialed_number` (a call's DNIS, E.164) ties the call to a tracked number.
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
    begin = started_at or now
    if queued_at is not None and (queued_at.tzinfo is None or queued_at > begin):
        raise InvalidInput("queued_at must be a timezone-aware time not after the start",
                           code="invalid_queued_at")
    if dialed_number is not None:
        if interaction_kind is not InteractionKind.CALL:
            raise InvalidInput("only a call has a dialed number", code="invalid_dialed_number")
        dialed_number = check_e164(dialed_number)

    known = _stitchable(ctx, identities)

    def work(session: Session) -> Interaction:
        customer = resolve_customer_in(session, ctx, customer_id, known)
        if queue is not None:
            get_queue_in(session, queue)
        interaction = Interaction(
            id=ctx.ids.new("int"), kind=interaction_kind, agent_id=agent_id,
            customer_id=customer, queue=queue, callback_id=None, started_at=begin, ended_at=None,
            handle_seconds=None, outcome=None, sale_value=None, upsell_value=None, quote=None,
            currency=currency(ctx), notes="", external_id=external_id,
            identities={} if customer is not None else known,
            queued_at=queued_at, wait_seconds=wait_between(queued_at, begin),
            dialed_number=dialed_number,
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
        return finish_interaction_in(session, ctx, interaction.id)

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
    """The customer id given, or the existing customer an identity points at.

    Identities are normalised by the customers feature (e-mail case, phone in E.164); an
    unusable value is `422 invalid_identity`.
    """
    del session  # the lookup reads committed identities through the customers service
    if customer_id is not None or not identities:
        return customer_id
    customers = importlib.import_module("kanaal.customers.service")
    for kind, value in identities.items():
        try:
            match: str = customers.lookup_customer(ctx, kind, value)
        except NotFound:
            continue
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
    """Handle-time average, callback status, agent wrap-up and the timeline event.

    The event is stitched by the customer id, else by the identities kept on the interaction
    (plus `identities`, e.g. the caller's number an ACD sent at the end of the call).
    """
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
    customer = record_on_timeline_in(
        session, ctx, event=COMPLETED_EVENT[done.kind], customer_id=done.customer_id,
        identities={**done.identities, **(identities or {})},
        properties=interaction_properties(done),
        message_id=f"cc:{done.id}:completed", channel=INTERACTION_CHANNEL[done.kind],
    )
    if customer is not None and done.customer_id is None:
        # The identities stitched to a customer: the interaction now belongs to them.
        store.set_interaction_customer(session, done.id, customer)
        return replace(done, customer_id=customer)
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



def create_task_in(session: Session, ctx: AppContext, *, kind: str, customer_id: str | None,
                   queue: str | None, store_id: str | None, context: dict[str, Any]) -> str:
    """Queue a task for agents or store staff (e.g. hot_prospect_alert); returns its id."""
    if not kind or len(kind) > 60:
        raise InvalidInput("a task needs a kind of at most 60 characters", code="invalid_kind")
    check_context(context)
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


def answered_wait(ctx: AppContext, *, window_seconds: float = 900.0
                  ) -> dict[str, dict[str, float | int | None]]:
    """Actual waits per queue over the last `window_seconds`: answered, mean and p90 seconds.

    Every queue is listed; one with no answered contact in the window has no figures.
    """
    since = ctx.clock.now() - timedelta(seconds=window_seconds)
    with ctx.db.reader() as session:
        waits = store.answered_waits(session, since)
        names = [r.name for r in store.all_queue_rows(session)]
    return {name: wait_summary(waits.get(name, [])) for name in names}


def calls_to_numbers(ctx: AppContext, numbers: list[str], *, since: datetime,
                     until: datetime) -> list[Interaction]:
    """Calls that dialed one of `numbers` (E.164) and were answered in [since, until]."""
    with ctx.db.reader() as session:
        return store.calls_to_numbers(session, numbers, since, until)
