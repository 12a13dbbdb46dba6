"""Contact-center HTTP API: agents, queues, capacity, callbacks, interactions, ACD webhooks."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from kanaal.contact_center import acd_service, service
from kanaal.contact_center.domain import Queue
from kanaal.contact_center.schemas import (
    AcceptedOut,
    AgentIn,
    AgentOut,
    CallbackIn,
    CallbackOut,
    CapacityOut,
    CapacitySnapshotOut,
    IntegrationIn,
    IntegrationOut,
    InteractionIn,
    InteractionOut,
    NotReachedIn,
    OutcomeIn,
    QueueIn,
    QueueOut,
    QueueWaitOut,
    StateIn,
    TaskOut,
    WaitsOut,
)
from kanaal.core.context import AppContext
from kanaal.core.http import AdminKey, Ctx, IdempotencyKey, ReadKey, WriteKey

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["contact center"])


@router.post("/agents", status_code=status.HTTP_201_CREATED, response_model=AgentOut)
def create_agent(body: AgentIn, ctx: Ctx, _key: AdminKey) -> AgentOut:
    """Add an agent (starts offline); the password is stored as an argon2 hash only."""
    return AgentOut.of(service.create_agent(ctx, **body.model_dump()))


@router.get("/agents", response_model=list[AgentOut])
def list_agents(ctx: Ctx, _key: ReadKey) -> list[AgentOut]:
    """Every agent with their state."""
    return [AgentOut.of(agent) for agent in service.list_agents(ctx)]


@router.get("/agents/{agent_id}", response_model=AgentOut)
def get_agent(agent_id: str, ctx: Ctx, _key: ReadKey) -> AgentOut:
    """One agent."""
    return AgentOut.of(service.get_agent(ctx, agent_id))


@router.put("/agents/{agent_id}/state", response_model=AgentOut)
def set_agent_state(agent_id: str, body: StateIn, ctx: Ctx, _key: WriteKey) -> AgentOut:
    """Change an agent's state (409 invalid_state_transition when not allowed)."""
    return AgentOut.of(service.set_agent_state(ctx, agent_id, body.state))


@router.post("/agents/{agent_id}/accept-next-callback", response_model=AcceptedOut)
def accept_next_callback(agent_id: str, ctx: Ctx, _key: WriteKey) -> AcceptedOut:
    """Assign the agent the next callback they can take; a call starts."""
    callback = service.accept_next_callback(ctx, agent_id)
    return AcceptedOut(callback=None if callback is None else CallbackOut.of(callback))


@router.post("/contact-center/queues", status_code=status.HTTP_201_CREATED,
             response_model=QueueOut)
def create_queue(body: QueueIn, ctx: Ctx, _key: AdminKey) -> QueueOut:
    """Add a queue for one skill and channel with its service-level target."""
    return QueueOut.model_validate(_queue_dict(service.create_queue(ctx, **body.model_dump())))


@router.get("/contact-center/queues", response_model=list[QueueOut])
def list_queues(ctx: Ctx, _key: ReadKey) -> list[QueueOut]:
    """Every queue."""
    return [QueueOut.model_validate(_queue_dict(q)) for q in service.list_queues(ctx)]


def _queue_dict(queue: Queue) -> dict[str, object]:
    return {**{f: getattr(queue, f) for f in QueueOut.model_fields},
            "channel": queue.channel.value}


@router.get("/contact-center/capacity", response_model=CapacitySnapshotOut)
def capacity(ctx: Ctx, _key: ReadKey) -> CapacitySnapshotOut:
    """The live capacity of every queue (Erlang C, or Erlang A with a patience)."""
    snapshot = service.capacity_snapshot(ctx)
    return CapacitySnapshotOut(computed_at=service.snapshot_computed_at(ctx),
                               queues=[CapacityOut.of(cap) for cap in snapshot.values()])


@router.get("/contact-center/waits", response_model=WaitsOut)
def waits(ctx: Ctx, _key: ReadKey, window_minutes: Annotated[float, Query(
        gt=0, le=1440, description="how far back answered contacts count")] = 15) -> WaitsOut:
    """Actual waits (queued to answered) per queue: answered, mean and 90th percentile."""
    found = service.answered_wait(ctx, window_seconds=window_minutes * 60)
    return WaitsOut(window_seconds=window_minutes * 60, queues=[
        QueueWaitOut.model_validate({"queue": name, **figures}) for name, figures in found.items()])


@router.post("/callbacks", status_code=status.HTTP_201_CREATED, response_model=CallbackOut)
def create_callback(body: CallbackIn, ctx: Ctx, _key: WriteKey, key: IdempotencyKey,
                    response: Response) -> CallbackOut:
    """Queue a callback now or for a future slot (Idempotency-Key supported)."""
    callback, replayed = service.create_callback(ctx, idempotency_key=key, **body.model_dump())
    if replayed:
        response.status_code = status.HTTP_200_OK
    return CallbackOut.of(callback)


@router.get("/callbacks", response_model=list[CallbackOut])
def list_callbacks(ctx: Ctx, _key: ReadKey, status_: Annotated[str | None, Query(
        alias="status")] = "queued", queue: str | None = None) -> list[CallbackOut]:
    """Callbacks (queued by default), longest-waiting first."""
    return [CallbackOut.of(c) for c in service.list_callbacks(ctx, status=status_, queue=queue)]


@router.get("/callbacks/{callback_id}", response_model=CallbackOut)
def get_callback(callback_id: str, ctx: Ctx, _key: ReadKey) -> CallbackOut:
    """One callback."""
    return CallbackOut.of(service.get_callback(ctx, callback_id))


@router.post("/callbacks/{callback_id}/not-reached", response_model=CallbackOut)
def callback_not_reached(callback_id: str, body: NotReachedIn, ctx: Ctx, _key: WriteKey
                         ) -> CallbackOut:
    """The customer was not reached: the callback is retried later or fails."""
    return CallbackOut.of(service.callback_not_reached(ctx, callback_id, reason=body.reason))


@router.post("/interactions", status_code=status.HTTP_201_CREATED,
             response_model=InteractionOut)
def create_interaction(body: InteractionIn, ctx: Ctx, _key: WriteKey) -> InteractionOut:
    """Open a call, chat or store visit, or log a finished one (with `outcome`)."""
    return InteractionOut.of(service.record_interaction(ctx, **body.model_dump()))


@router.post("/interactions/{interaction_id}/outcome", response_model=InteractionOut)
def log_outcome(interaction_id: str, body: OutcomeIn, ctx: Ctx, _key: WriteKey
                ) -> InteractionOut:
    """End an open interaction with its outcome; the customer's timeline gets the event."""
    return InteractionOut.of(service.log_interaction_outcome(ctx, interaction_id,
                                                             **body.model_dump()))


@router.get("/interactions/{interaction_id}", response_model=InteractionOut)
def get_interaction(interaction_id: str, ctx: Ctx, _key: ReadKey) -> InteractionOut:
    """One interaction."""
    return InteractionOut.of(service.get_interaction(ctx, interaction_id))


@router.get("/contact-center/tasks", response_model=list[TaskOut])
def list_tasks(ctx: Ctx, _key: ReadKey, status_: Annotated[str | None, Query(
        alias="status")] = "open", queue: str | None = None, store_id: str | None = None
               ) -> list[TaskOut]:
    """Tasks for agents and store staff, newest first."""
    rows = service.list_tasks(ctx, status=status_, queue=queue, store_id=store_id)
    return [TaskOut.model_validate(row) for row in rows]


@router.post("/contact-center/acd/integrations", status_code=status.HTTP_201_CREATED,
             response_model=IntegrationOut)
def create_integration(body: IntegrationIn, ctx: Ctx, _key: AdminKey) -> IntegrationOut:
    """Register an ACD; the returned secret signs its webhooks."""
    return IntegrationOut(**acd_service.create_integration(ctx, body.name))


@router.post("/contact-center/acd/events")
async def acd_event(
    request: Request, ctx: Ctx,
    signature: Annotated[str | None, Header(alias="Kanaal-Signature")] = None,
    source: Annotated[str, Query(description="generic, twilio or genesys")] = "generic",
) -> dict[str, object]:
    """An HMAC-signed agent-state or call event from an ACD; replays answer `duplicate`."""
    body = await request.body()
    return await run_in_threadpool(acd_service.receive_acd_event, ctx, body=body,
                                   signature=signature, source=source)


async def refresh_worker(ctx: AppContext, stop: asyncio.Event) -> None:
    """Recompute the snapshot every few seconds: due slots and decaying rates stay current."""
    interval = float(ctx.param("contact_center.refresh_seconds", 5.0))
    while not stop.is_set():
        try:
            await asyncio.to_thread(service.refresh_capacity, ctx)
        except Exception:  # noqa: BLE001 - keep the loop alive; the next round retries
            log.warning("capacity refresh failed", exc_info=True)
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            continue


workers = [refresh_worker]
