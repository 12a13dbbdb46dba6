"""Marketing endpoints: segments, channel mix, triggers, audiences and unsubscribe links."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Body, Query, status
from fastapi.responses import HTMLResponse, PlainTextResponse

from kanaal.core.context import AppContext
from kanaal.core.http import AdminKey, Ctx, ReadKey
from kanaal.marketing import audience_service, segments, triggers
from kanaal.marketing.consumer import marketing_worker
from kanaal.marketing.delivery import EmailSender, SmsSender
from kanaal.marketing.messaging import read_unsubscribe_token
from kanaal.marketing.schemas import (
    ChannelShare,
    MembersOut,
    RefreshOut,
    SegmentIn,
    SegmentOut,
    TriggerOut,
)
from kanaal.web.secrets import secret_key

router = APIRouter(tags=["marketing"])
workers = [marketing_worker]


def on_startup(ctx: AppContext) -> None:
    """Deliver email and SMS from the outbox."""
    dispatcher = ctx.state["outbox"]
    dispatcher.register("email", EmailSender(ctx.settings).send)
    dispatcher.register("sms", SmsSender(ctx.settings).send)


@router.post("/v1/segments", status_code=status.HTTP_201_CREATED, response_model=SegmentOut)
def create_segment(body: SegmentIn, ctx: Ctx, _key: AdminKey) -> Any:
    """Define a segment; its members are computed at once."""
    return segments.create_segment(ctx, name=body.name, description=body.description,
                                   rule=body.rule)


@router.get("/v1/segments", response_model=list[SegmentOut])
def list_segments(ctx: Ctx, _key: ReadKey) -> Any:
    """Every segment with its member count."""
    return segments.list_segments(ctx)


@router.get("/v1/segments/{segment_id}", response_model=SegmentOut)
def get_segment(segment_id: str, ctx: Ctx, _key: ReadKey) -> Any:
    """One segment."""
    return segments.get_segment(ctx, segment_id)


@router.get("/v1/segments/{segment_id}/members", response_model=MembersOut)
def members(segment_id: str, ctx: Ctx, _key: ReadKey, cursor: str | None = None,
            limit: int = Query(100, ge=1, le=1000)) -> Any:
    """Member customer ids, paged."""
    ids = segments.segment_member_ids(ctx, segment_id, limit=limit, after=cursor)
    return MembersOut(customer_ids=ids, next_cursor=ids[-1] if len(ids) == limit else None)


@router.get("/v1/segments/{segment_id}/channels", response_model=list[ChannelShare])
def channels(segment_id: str, ctx: Ctx, _key: ReadKey) -> Any:
    """Contacts, orders, revenue, margin and new customers of the segment per channel."""
    rows = segments.segment_channels(ctx, segment_id)
    return [{**row, "revenue": str(row["revenue"]), "margin": str(row["margin"])} for row in rows]


@router.post("/v1/segments/refresh", response_model=RefreshOut)
def refresh(ctx: Ctx, _key: AdminKey) -> Any:
    """Recompute RFM scores and every membership."""
    changes = segments.refresh_all(ctx)
    return RefreshOut(entered=len(changes.entered), exited=len(changes.exited))


@router.post("/v1/triggers", status_code=status.HTTP_201_CREATED, response_model=TriggerOut)
def create_trigger(ctx: Ctx, _key: AdminKey, body: dict[str, Any] = Body(...)) -> Any:
    """Define a behavioural trigger (event, condition, delay, action, caps, quiet hours)."""
    return triggers.create_trigger(ctx, body)


@router.get("/v1/triggers", response_model=list[TriggerOut])
def list_triggers(ctx: Ctx, _key: ReadKey) -> Any:
    """Every trigger."""
    return triggers.list_triggers(ctx)


@router.get("/v1/audiences/{segment_id}.csv", response_class=PlainTextResponse)
def audience(segment_id: str, ctx: Ctx, _key: ReadKey,
             platform: Literal["google", "meta"] = "google") -> Any:
    """The segment as a hashed customer list for Google Customer Match or Meta."""
    text = audience_service.export_audience(ctx, segment_id, platform)
    return PlainTextResponse(text, media_type="text/csv")


_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Unsubscribed</title>
</head><body><main><h1>You are unsubscribed</h1><p>You will get no more {channel} messages
from us.</p></main></body></html>"""


@router.get("/v1/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_link(token: str, ctx: Ctx) -> Any:
    """Follow an unsubscribe link from an email."""
    return _unsubscribe(token, ctx)


@router.post("/v1/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_one_click(token: str, ctx: Ctx) -> Any:
    """One-click unsubscribe (RFC 8058 List-Unsubscribe-Post)."""
    return _unsubscribe(token, ctx)


def _unsubscribe(token: str, ctx: AppContext) -> HTMLResponse:
    customer_id, channel = read_unsubscribe_token(secret_key(ctx.settings), token)
    triggers.unsubscribe(ctx, customer_id, channel)
    return HTMLResponse(_PAGE.format(channel="email" if channel == "email" else "text"))
