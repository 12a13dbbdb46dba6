"""Agents: creation with argon2-hashed passwords, sign-in, and state changes."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kanaal.contact_center import store
from kanaal.contact_center.capacity import after_change
from kanaal.contact_center.domain import (
    Agent,
    AgentState,
    check_concurrency,
    check_transition,
    normalise_skills,
)
from kanaal.core.context import AppContext
from kanaal.core.errors import Conflict, InvalidInput, NotFound, Unauthenticated

_HASHER = PasswordHasher()
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 10


def _parse_state(state: str) -> AgentState:
    try:
        return AgentState(state)
    except ValueError as exc:
        raise InvalidInput(
            f"unknown state {state!r} (available, busy, wrap_up, away, offline)",
            code="invalid_state",
        ) from exc


def create_agent(
    ctx: AppContext,
    *,
    name: str,
    email: str,
    password: str,
    skills: list[str],
    concurrency: dict[str, int] | None = None,
    external_id: str | None = None,
) -> Agent:
    """Add an agent (offline) whose password is stored only as an argon2 hash."""
    address = email.strip().lower()
    if not _EMAIL.match(address):
        raise InvalidInput(f"{email!r} is not an e-mail address", code="invalid_email")
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"passwords need at least {MIN_PASSWORD} characters",
                           code="weak_password")
    if not name.strip():
        raise InvalidInput("an agent needs a name", code="invalid_name")
    now = ctx.clock.now()
    agent = Agent(
        id=ctx.ids.new("agt"), name=name.strip(), email=address,
        password_hash=_HASHER.hash(password), skills=normalise_skills(skills),
        state=AgentState.OFFLINE, state_since=now,
        concurrency=check_concurrency(concurrency or {}), external_id=external_id,
    )
    try:
        with ctx.db.transaction() as session:
            store.insert_agent(session, agent, created_at=now)
    except IntegrityError as exc:
        raise Conflict(f"an agent with e-mail {address} (or that external id) exists",
                       code="agent_exists") from exc
    after_change(ctx, {"type": "agent.created", "agent_id": agent.id})
    return agent


def get_agent_in(session: Session, agent_id: str) -> Agent:
    """An agent by id, or NotFound `unknown_agent`."""
    agent = store.find_agent(session, agent_id=agent_id)
    if agent is None:
        raise NotFound(f"no agent {agent_id!r}", code="unknown_agent")
    return agent


def get_agent(ctx: AppContext, agent_id: str) -> Agent:
    """An agent by id, or NotFound `unknown_agent`."""
    with ctx.db.reader() as session:
        return get_agent_in(session, agent_id)


def get_agent_by_email_in(session: Session, email: str) -> Agent:
    """An agent by e-mail (case-insensitive), or NotFound `unknown_agent`."""
    agent = store.find_agent(session, email=email)
    if agent is None:
        raise NotFound("no agent with that e-mail", code="unknown_agent")
    return agent


def list_agents(ctx: AppContext) -> list[Agent]:
    """Every agent."""
    with ctx.db.reader() as session:
        return store.all_agents(session)


def authenticate_agent(ctx: AppContext, email: str, password: str) -> Agent:
    """The agent whose e-mail and password match, or Unauthenticated `invalid_credentials`."""
    with ctx.db.reader() as session:
        agent = store.find_agent(session, email=email)
    try:
        if agent is None:
            # Spend the same time as a real check so timing does not reveal e-mail addresses.
            _HASHER.verify(_DUMMY_HASH, password)
            raise VerificationError("unknown agent")
        _HASHER.verify(agent.password_hash, password)
    except (VerificationError, InvalidHashError) as exc:
        raise Unauthenticated("wrong e-mail or password", code="invalid_credentials") from exc
    return agent


_DUMMY_HASH = _HASHER.hash("kanaal-no-such-agent")


def move_agent_in(
    session: Session, ctx: AppContext, agent_id: str, state: AgentState, *, force: bool = False
) -> Agent:
    """Change an agent's state in the caller's transaction; `force` skips the table (ACD)."""
    agent = get_agent_in(session, agent_id)
    if agent.state == state:
        return agent
    if not force:
        check_transition(agent.state, state)
    now = ctx.clock.now()
    if not store.move_agent(session, agent.id, current=agent.state, target=state, at=now):
        raise Conflict("the agent's state changed meanwhile; retry", code="state_changed")
    return get_agent_in(session, agent_id)


def set_agent_state(ctx: AppContext, agent_id: str, state: str | AgentState) -> Agent:
    """Move an agent to `state` (409 `invalid_state_transition` when the table forbids it)."""
    target = _parse_state(str(state))
    with ctx.db.transaction() as session:
        before = get_agent_in(session, agent_id).state
        if target in (AgentState.OFFLINE, AgentState.AWAY) and \
                store.open_interactions_of(session, agent_id) > 0:
            raise Conflict("finish the open interactions first", code="open_interactions")
        agent = move_agent_in(session, ctx, agent_id, target)
    if before != agent.state:
        from kanaal.contact_center.callbacks import offer_callbacks_to

        if agent.state is AgentState.AVAILABLE:
            offer_callbacks_to(ctx, agent)
        after_change(ctx, {"type": "agent.state", "agent_id": agent.id,
                           "state": agent.state.value, "previous": before.value})
    return agent
