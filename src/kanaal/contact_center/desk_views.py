"""Desk use cases: what the agent's pages show and the actions they take, via the services."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from kanaal.contact_center import service as cc
from kanaal.contact_center.desk import (
    OUTCOME_LABELS,
    category_counts,
    customer_facts,
    parse_outcome_form,
    timeline,
)
from kanaal.contact_center.domain import (
    TRANSITIONS,
    Agent,
    AgentState,
    Callback,
    CallbackStatus,
    Interaction,
    QueueChannel,
)
from kanaal.core.context import AppContext
from kanaal.core.errors import Conflict, InvalidInput, NotFound
from kanaal.customers.service import get_profile, recent_events

LIVE_CHANNEL = cc.LIVE_CHANNEL
TIMELINE_LIMIT = 50
# Rows of the queue table; the agent takes work with "accept next", not by scrolling.
QUEUE_ROWS = 50
# Calls in progress scanned to find the agent's own (the service has no per-agent lookup).
ASSIGNED_SCAN = 5000

STATE_LABELS = {
    AgentState.AVAILABLE.value: "Available",
    AgentState.BUSY.value: "On a call",
    AgentState.WRAP_UP.value: "Wrap-up",
    AgentState.AWAY.value: "Away",
    AgentState.OFFLINE.value: "Offline",
}
# States an agent picks by hand; "busy" follows from accepting work.
MANUAL_STATES = (AgentState.AVAILABLE, AgentState.WRAP_UP, AgentState.AWAY, AgentState.OFFLINE)


def state_choices(agent: Agent) -> list[str]:
    """The states the agent may switch to from the current one, in a fixed order."""
    allowed = TRANSITIONS[agent.state]
    return [s.value for s in MANUAL_STATES if s in allowed]


def _queue_names(ctx: AppContext, agent: Agent) -> set[str]:
    return {
        q.name for q in cc.list_queues(ctx)
        if q.channel is QueueChannel.CALLBACK and agent.has_skill(q.skill)
    }


def _active_interaction(ctx: AppContext, agent: Agent) -> str | None:
    """The interaction of the callback this agent is on (assigned and not yet completed)."""
    assigned = cc.list_callbacks(ctx, status=CallbackStatus.ASSIGNED.value, limit=ASSIGNED_SCAN)
    for callback in assigned:
        if callback.agent_id == agent.id and callback.interaction_id:
            return callback.interaction_id
    return None


def desk_context(ctx: AppContext, agent_id: str, *, queue: bool = True) -> dict[str, Any]:
    """What the desk page shows for one agent (`queue=False`: only their state, for a refresh)."""
    agent = cc.get_agent(ctx, agent_id)
    values: dict[str, Any] = {
        "agent": agent,
        "state_labels": STATE_LABELS,
        "state_choices": state_choices(agent),
        # Only an agent on a call has one open (accepting a callback makes the agent busy).
        "active": None,
        "now": ctx.clock.now(),
    }
    if agent.state is AgentState.BUSY:
        active = _active_interaction(ctx, agent)
        values["active"] = {"id": active} if active else None
    if queue:
        values.update(_queue_context(ctx, agent, values["now"]))
    return values


def _queue_context(ctx: AppContext, agent: Agent, now: datetime) -> dict[str, Any]:
    callbacks: list[Callback] = []
    for name in sorted(_queue_names(ctx, agent)):
        callbacks.extend(cc.list_callbacks(
            ctx, status=CallbackStatus.QUEUED.value, queue=name, limit=QUEUE_ROWS))
    callbacks.sort(key=lambda c: (c.due_at, c.id))
    due = [c for c in callbacks if c.due_at <= now]
    if agent.state is not AgentState.AVAILABLE:
        hint = "Set yourself to Available to take callbacks."
    elif not due:
        hint = "Nothing is due right now."
    else:
        hint = ""
    return {
        "callbacks": callbacks[:QUEUE_ROWS],
        "more_callbacks": max(0, len(callbacks) - QUEUE_ROWS),
        "due_count": len(due),
        "can_accept": not hint,
        "accept_hint": hint,
    }


def change_state(ctx: AppContext, agent_id: str, state: str) -> Agent:
    """Set a hand-picked state (InvalidInput `invalid_state` for anything else)."""
    if state not in {s.value for s in MANUAL_STATES}:
        raise InvalidInput("choose available, wrap-up, away or offline", code="invalid_state")
    return cc.set_agent_state(ctx, agent_id, state)


def accept_next(ctx: AppContext, agent_id: str) -> str | None:
    """Take the next callback; the id of the call that starts, or None when none is due."""
    callback = cc.accept_next_callback(ctx, agent_id)
    return None if callback is None else callback.interaction_id


def go_offline(ctx: AppContext, agent_id: str) -> None:
    """On sign-out: go offline when the agent may (an agent on a call stays as they are)."""
    try:
        agent = cc.get_agent(ctx, agent_id)
        if AgentState.OFFLINE in TRANSITIONS[agent.state]:
            cc.set_agent_state(ctx, agent_id, AgentState.OFFLINE)
    except (Conflict, NotFound):
        return


def _own_interaction(ctx: AppContext, agent_id: str, interaction_id: str) -> Interaction:
    interaction = cc.get_interaction(ctx, interaction_id)
    if interaction.agent_id != agent_id:
        # Other agents' calls are not this desk's business: same answer as a missing one.
        raise NotFound(f"no interaction {interaction_id!r}", code="unknown_interaction")
    return interaction


def _context_items(callback: Callback | None) -> list[tuple[str, str]]:
    if callback is None:
        return []
    items = []
    for key, value in list(callback.context.items())[:12]:
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        label = str(key).replace("_", " ").capitalize()
        items.append((label[:60], text[:300]))
    return items


def interaction_context(ctx: AppContext, agent_id: str, interaction_id: str) -> dict[str, Any]:
    """The customer panel of one of the agent's calls: who, why, and their timeline."""
    agent = cc.get_agent(ctx, agent_id)
    interaction = _own_interaction(ctx, agent_id, interaction_id)
    callback = cc.get_callback(ctx, interaction.callback_id) if interaction.callback_id else None
    events: list[dict[str, Any]] = []
    facts: list[tuple[str, str]] = []
    if interaction.customer_id:
        with ctx.db.reader() as session:
            events = recent_events(session, interaction.customer_id, limit=TIMELINE_LIMIT)
        try:
            profile = get_profile(ctx, interaction.customer_id)
        except NotFound:  # erased since the call started: the panel shows what the call knows
            pass
        else:
            facts = customer_facts(profile.traits, profile.identities, profile.channels)
    items = timeline(events)
    return {
        "agent": agent,
        "interaction": interaction,
        "callback": callback,
        "context_items": _context_items(callback),
        "customer_facts": facts,
        "items": items,
        "counts": category_counts(items),
        "outcome_choices": [(o.value, label) for o, label in OUTCOME_LABELS.items()],
        "outcome_labels": dict(OUTCOME_LABELS),
        "not_reached_choices": list(NOT_REACHED_LABELS.items()),
    }


def log_outcome(
    ctx: AppContext, agent_id: str, interaction_id: str, fields: dict[str, str]
) -> Interaction:
    """Validate the outcome form and end the agent's call with it."""
    interaction = _own_interaction(ctx, agent_id, interaction_id)
    form = parse_outcome_form(fields)
    return cc.log_interaction_outcome(
        ctx, interaction.id, outcome=form.outcome.value, sale_value=form.sale_value,
        upsell_value=form.upsell_value, quote=form.quote, notes=form.notes,
    )


NOT_REACHED_LABELS = {
    "no_answer": "No answer",
    "busy": "Line busy",
    "voicemail": "Voicemail",
    "wrong_number": "Wrong number",
}


def not_reached(ctx: AppContext, agent_id: str, interaction_id: str, reason: str) -> Callback:
    """The agent could not reach the customer: the callback is retried later or fails."""
    interaction = _own_interaction(ctx, agent_id, interaction_id)
    if reason not in NOT_REACHED_LABELS:
        raise InvalidInput("choose why the customer was not reached", code="invalid_reason",
                           details=[{"field": "reason", "message": "choose a reason"}])
    if interaction.callback_id is None:
        raise InvalidInput("only a callback can be marked not reached", code="not_a_callback")
    return cc.callback_not_reached(ctx, interaction.callback_id, reason=reason)
