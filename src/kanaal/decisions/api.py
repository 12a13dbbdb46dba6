"""Decision endpoints: POST /v1/decisions and POST /v1/decisions/{id}/outcome."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from kanaal.core.auth import Principal
from kanaal.core.context import AppContext
from kanaal.core.errors import PayloadTooLarge
from kanaal.core.http import (
    AnyKey,
    Ctx,
    IdempotencyKey,
    ReadKey,
    any_key,
    get_ctx,
    key_from_header,
)
from kanaal.decisions import outcomes, report, service
from kanaal.decisions.read_cache import NeedsDatabase
from kanaal.decisions.schemas import DecisionIn, DecisionOut, OutcomeIn, OutcomeOut

MAX_BODY_BYTES = 16 * 1024
log = logging.getLogger(__name__)


async def body_limit(request: Request) -> None:
    """Refuse bodies over 16 KiB before they are parsed."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the body is over {MAX_BODY_BYTES} bytes", code="body_too_large")
    if len(await request.body()) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the body is over {MAX_BODY_BYTES} bytes", code="body_too_large")


router = APIRouter(prefix="/v1/decisions", tags=["decisions"],
                   dependencies=[Depends(body_limit)])


async def decision_caller(request: Request) -> tuple[AppContext, Principal]:
    """Context and any valid key (same checks as AnyKey, before the body is validated): on
    the event loop when the key is in the key cache, else in the threadpool (a database read)."""
    ctx = get_ctx(request)
    principal = ctx.keys.cached(key_from_header(request.headers.get("authorization")))
    if principal is None:
        return ctx, await run_in_threadpool(any_key, request, ctx)
    request.state.principal = principal
    return ctx, principal


@router.post("", response_model=DecisionOut)
async def decide(body: DecisionIn,
                 caller: Annotated[tuple[AppContext, Principal], Depends(decision_caller)]
                 ) -> dict[str, object]:
    """The next best channel for one prospect (a browser write key or a secret key).

    Answered on the event loop when the worker's read caches hold what it needs (a fraction of
    a millisecond of CPU and live-store calls): a hop to the threadpool and back costs more than
    that and adds the tail latency. A request that must read the database (a new visitor, an
    expired cache entry) runs in the threadpool instead."""
    ctx, request = caller[0], body.model_dump(mode="json")
    try:
        return service.make_decision(ctx, request, database=False)
    except NeedsDatabase:
        return await run_in_threadpool(service.make_decision, ctx, request)


@router.post("/{decision_id}/outcome", response_model=OutcomeOut)
def outcome(decision_id: str, body: OutcomeIn, ctx: Ctx, _principal: AnyKey,
            idempotency_key: IdempotencyKey, response: Response) -> dict[str, object]:
    """Join what happened (shown, accepted, dismissed, contacted, converted) to a decision."""
    result, replayed = outcomes.record_outcome(ctx, decision_id, body.model_dump(mode="json"),
                                               idempotency_key)
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return result


@router.get("/summary")
def summary(ctx: Ctx, _principal: ReadKey, experiment: str = "default") -> dict[str, object]:
    """Per arm of an experiment: customers, conversions and margin, against the holdout."""
    return report.arm_summary(ctx, experiment)


@router.get("/{decision_id}")
def get_decision(decision_id: str, ctx: Ctx, _principal: ReadKey) -> dict[str, object]:
    """One logged decision: features, scores, reasons, policy, arm and outcomes."""
    return report.get_decision(ctx, decision_id)


async def log_worker(ctx: AppContext, stop: asyncio.Event) -> None:
    """Write queued decisions in batches until shutdown."""
    await service.runtime(ctx).log.run(ctx.db, stop)


async def attribution_worker(ctx: AppContext, stop: asyncio.Event) -> None:
    """Attribute "Order Completed" events to recent decisions every 30 seconds."""
    interval = float(ctx.param("decisions.attribution_interval_seconds", 30))
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            try:
                await asyncio.to_thread(outcomes.attribute_conversions, ctx)
            except Exception:  # noqa: BLE001 - retried on the next tick
                log.warning("conversion attribution failed", exc_info=True)


async def model_worker(ctx: AppContext, stop: asyncio.Event) -> None:
    """Pick up new model versions off the request path (requests reuse the cached model)."""
    models = service.runtime(ctx).models
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=models.reload_seconds / 2)
        except TimeoutError:
            try:
                await asyncio.to_thread(models.get, ctx.db)
            except Exception:  # noqa: BLE001 - requests keep the last model
                log.warning("model refresh failed", exc_info=True)


workers = [log_worker, attribution_worker, model_worker]


def on_startup(ctx: AppContext) -> None:
    """Drop cached reads as soon as intake announces that a customer changed."""
    from kanaal.collect.service import CHANGED_CHANNEL

    reads = service.runtime(ctx).reads
    ctx.state["decisions.read_cache_listener"] = ctx.live.subscribe(CHANGED_CHANNEL, reads.forget)


def on_shutdown(ctx: AppContext) -> None:
    """Write every decision still queued; stop listening for intake announcements."""
    stop_listening = ctx.state.pop("decisions.read_cache_listener", None)
    if stop_listening is not None:
        stop_listening()
    service.runtime(ctx).log.flush(ctx.db)
