"""Segment-compatible event intake: POST /v1/{identify,track,page,screen,group,alias,batch}."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from kanaal.collect import service
from kanaal.collect.domain import MAX_BATCH_BYTES
from kanaal.collect.schemas import SegmentAccepted, SegmentBatch, SegmentMessage
from kanaal.core.context import AppContext
from kanaal.core.http import Ctx, read_capped

router = APIRouter(prefix="/v1", tags=["collect"])


def _body_doc(model: type[SegmentMessage] | type[SegmentBatch]) -> dict[str, Any]:
    schema = model.model_json_schema()
    if schema.pop("$defs", None) is not None:  # inline the message schema into the batch
        schema["properties"]["batch"]["items"] = SegmentMessage.model_json_schema()
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _intake_thread(ctx: AppContext) -> ThreadPoolExecutor:
    """SQLite: one dedicated intake thread; queued requests wait idle instead of taking turns
    on the GIL in the shared threadpool (they would wait for the single writer anyway)."""
    executor = ctx.state.get("collect.executor")
    if not isinstance(executor, ThreadPoolExecutor):
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="intake")
        ctx.state["collect.executor"] = executor
    return executor


async def _collect(kind: str, request: Request, ctx: AppContext) -> SegmentAccepted:
    raw = await read_capped(request, MAX_BATCH_BYTES, code="payload_too_large")
    work = partial(
        service.collect, ctx, kind, raw, authorization=request.headers.get("authorization"),
        content_encoding=request.headers.get("content-encoding"),
    )
    if ctx.db.is_sqlite:
        await asyncio.get_running_loop().run_in_executor(_intake_thread(ctx), work)
    else:
        await run_in_threadpool(work)
    return SegmentAccepted()


def on_shutdown(ctx: AppContext) -> None:
    """Stop the intake thread (pending requests finish first)."""
    executor = ctx.state.pop("collect.executor", None)
    if executor is not None:
        executor.shutdown(wait=True)


def _route(kind: str) -> None:
    async def endpoint(request: Request, ctx: Ctx) -> SegmentAccepted:
        return await _collect(kind, request, ctx)

    endpoint.__name__ = f"collect_{kind}"
    endpoint.__doc__ = (
        f"Segment `{kind}`: write key as Basic username or `writeKey`; gzip accepted; "
        "a repeated messageId is accepted and stores nothing."
    )
    model = SegmentBatch if kind == "batch" else SegmentMessage
    router.add_api_route(f"/{kind}", endpoint, methods=["POST"], response_model=SegmentAccepted,
                         openapi_extra=_body_doc(model), summary=f"Collect {kind}")


for _kind in ("identify", "track", "page", "screen", "group", "alias", "batch"):
    _route(_kind)

