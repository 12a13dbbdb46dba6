"""ACD webhooks, use cases: verify, de-duplicate and apply agent-state and call events."""

from __future__ import annotations

import secrets as random_secrets
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kanaal.contact_center import store
from kanaal.contact_center.acd import (
    AcdEvent,
    decode_json,
    from_genesys,
    from_twilio,
    parse_generic,
    verify_signature,
)
from kanaal.contact_center.agents import move_agent_in
from kanaal.contact_center.capacity import after_change, change_waiting_in, record_arrival_in
from kanaal.contact_center.domain import (
    Agent,
    AgentState,
    Interaction,
    InteractionKind,
    Outcome,
    wait_between,
)
from kanaal.contact_center.interactions import finish_interaction_in, resolve_customer_in
from kanaal.contact_center.timeline import currency, normalise_phone
from kanaal.core.context import AppContext
from kanaal.core.errors import InvalidInput, NotFound, PayloadTooLarge

MAX_BODY_BYTES = 64 * 1024
PARSERS = {"generic": parse_generic, "twilio": from_twilio, "genesys": from_genesys}


def create_integration(ctx: AppContext, name: str) -> dict[str, str]:
    """Register an ACD integration; its signing secret is returned only here."""
    if not name.strip() or len(name) > 100:
        raise InvalidInput("an integration needs a name of 1..100 characters",
                           code="invalid_name")
    integration = {"id": ctx.ids.new("acd"), "name": name.strip(),
                   "secret": "acdsec_" + random_secrets.token_urlsafe(24)}
    with ctx.db.transaction() as session:
        session.execute(store.acd_integrations.insert().values(
            **integration, created_at=ctx.clock.now()))
    return integration


def _secrets(ctx: AppContext) -> list[str]:
    configured = ctx.param("contact_center.acd_secret", None)
    with ctx.db.reader() as session:
        found = store.acd_secrets(session)
    return ([str(configured)] if configured else []) + found


def receive_acd_event(ctx: AppContext, *, body: bytes, signature: str | None,
                      source: str = "generic") -> dict[str, Any]:
    """Apply one signed ACD event; replays (same id, stale timestamp) answer `duplicate`."""
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"an ACD event is limited to {MAX_BODY_BYTES} bytes",
                              code="payload_too_large")
    signed_at = verify_signature(signature, body, _secrets(ctx))
    if source not in PARSERS:
        raise InvalidInput(f"unknown ACD source {source!r} (generic, twilio, genesys)",
                           code="invalid_acd_source")
    tolerance = float(ctx.param("contact_center.acd_tolerance_seconds", 300))
    if abs(ctx.clock.now().timestamp() - signed_at) > tolerance:
        return {"status": "duplicate", "reason": "stale_timestamp"}
    event = PARSERS[source](decode_json(body))
    if event is None:
        return {"status": "ignored"}

    def work(session: Session) -> dict[str, Any]:
        if store.event_seen(session, event.id):
            return {"status": "duplicate", "reason": "seen"}
        session.execute(store.acd_events.insert().values(
            event_id=event.id, type=event.type, received_at=ctx.clock.now()))
        return _apply(session, ctx, event)

    try:
        result = ctx.db.run(work)
    except IntegrityError:
        return {"status": "duplicate", "reason": "seen"}  # a concurrent delivery won
    if result["status"] == "applied":
        after_change(ctx, {"type": _LIVE_TYPE[event.type], "acd_event": event.type, **{
            k: v for k, v in result.items() if k != "status"}})
    return result


_LIVE_TYPE = {"agent.state": "agent.state", "call.queued": "call.queued",
              "call.answered": "call.answered", "call.abandoned": "call.abandoned",
              "call.completed": "interaction.completed"}


def _agent(session: Session, event: AcdEvent) -> Agent:
    agent = store.find_agent(session, agent_id=event.agent_id, email=event.agent_email,
                             external_id=event.agent_external_id)
    if agent is None:
        raise NotFound("the event names an unknown agent", code="unknown_agent")
    return agent


def _apply(session: Session, ctx: AppContext, event: AcdEvent) -> dict[str, Any]:
    """The effect of one event, in the transaction that records its id."""
    if event.type == "agent.state":
        try:
            state = AgentState(event.state or "")
        except ValueError as exc:
            raise InvalidInput(f"unknown state {event.state!r}", code="invalid_state") from exc
        agent = _agent(session, event)
        # The telephony platform is the source of truth for its agents: no transition table.
        move_agent_in(session, ctx, agent.id, state, force=True)
        return {"status": "applied", "agent_id": agent.id, "state": state.value}
    if event.type == "call.queued":
        record_arrival_in(session, ctx, event.queue or "", waiting_delta=1)
        store.remember_queued_call(session, call_id=event.call_id or "",
                                   queue=_queue_name(session, event.queue) or "",
                                   dialed_number=event.dialed_number, queued_at=ctx.clock.now())
        return {"status": "applied", "queue": event.queue, "call_id": event.call_id}
    if event.type == "call.abandoned":
        change_waiting_in(session, event.queue or "", -1)
        store.take_queued_call(session, event.call_id or "")
        return {"status": "applied", "queue": event.queue, "call_id": event.call_id}
    if event.type == "call.answered":
        return _answered(session, ctx, event)
    return _completed(session, ctx, event)


def _answered(session: Session, ctx: AppContext, event: AcdEvent) -> dict[str, Any]:
    agent = _agent(session, event)
    change_waiting_in(session, event.queue or "", -1)
    existing = store.find_interaction(session, external_id=event.call_id)
    if existing is None:
        now = ctx.clock.now()
        identities = _phone_identity(ctx, event.phone)
        customer = resolve_customer_in(session, ctx, event.customer_id, identities)
        queued = store.take_queued_call(session, event.call_id or "")
        queued_at = None if queued is None else queued.queued_at
        # The ACD's own figure wins (it saw the whole wait); else Kanaal's queued -> answered.
        wait = event.wait_seconds if event.wait_seconds is not None else wait_between(
            queued_at, now)
        existing = Interaction(
            id=ctx.ids.new("int"), kind=InteractionKind.CALL, agent_id=agent.id,
            customer_id=customer, queue=_queue_name(session, event.queue), callback_id=None,
            started_at=now, ended_at=None, handle_seconds=None, outcome=None, sale_value=None,
            upsell_value=None, quote=None, currency=currency(ctx), notes="",
            external_id=event.call_id, identities={} if customer else identities,
            queued_at=queued_at, wait_seconds=wait,
            dialed_number=event.dialed_number or (None if queued is None
                                                  else queued.dialed_number),
        )
        store.insert_interaction(session, existing, created_at=now)
    move_agent_in(session, ctx, agent.id, AgentState.BUSY, force=True)
    return {"status": "applied", "agent_id": agent.id, "interaction_id": existing.id,
            "call_id": event.call_id}


def _phone_identity(ctx: AppContext, phone: str | None) -> dict[str, str]:
    """The caller's number as an identity, when the ACD sent a valid one."""
    if not phone:
        return {}
    try:
        return {"phone": normalise_phone(ctx, phone)}
    except InvalidInput:
        return {}  # an ACD may send "anonymous" or an internal extension: not an identity


def _queue_name(session: Session, name_or_external: str | None) -> str | None:
    if name_or_external is None:
        return None
    row = store.find_queue_row(session, name_or_external)
    if row is None:
        raise NotFound(f"no queue {name_or_external!r}", code="unknown_queue")
    return str(row.name)


def _completed(session: Session, ctx: AppContext, event: AcdEvent) -> dict[str, Any]:
    current = store.find_interaction(session, external_id=event.call_id, lock=True)
    if current is None:
        raise NotFound(f"no answered call {event.call_id!r}", code="unknown_interaction")
    if current.ended_at is not None:
        return {"status": "duplicate", "reason": "already_completed"}
    now = ctx.clock.now()
    handle = event.handle_seconds if event.handle_seconds is not None else max(
        0.0, (now - current.started_at).total_seconds())
    outcome = None
    if event.outcome is not None:
        try:
            outcome = Outcome(event.outcome).value
        except ValueError as exc:
            raise InvalidInput(f"unknown outcome {event.outcome!r}",
                               code="invalid_outcome") from exc
    store.complete_interaction(
        session, current.id, ended_at=now,
        handle_seconds=handle, outcome=outcome, sale_value=event.sale_value, quote=event.quote,
    )
    done = finish_interaction_in(session, ctx, current.id,
                                 identities=_phone_identity(ctx, event.phone))
    return {"status": "applied", "interaction_id": done.id, "agent_id": done.agent_id,
            "customer_id": done.customer_id, "outcome": outcome}
