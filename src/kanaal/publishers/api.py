"""Pretargeting: campaigns, the publisher tag (/publisher/tag.js) and its browser endpoints."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from kanaal.core.http import AnyKey, Ctx, IdempotencyKey, ReadKey, WriteKey
from kanaal.publishers import appointments, service
from kanaal.publishers.domain import Campaign, campaign_status
from kanaal.publishers.schemas import (
    AppointmentIn,
    AppointmentOut,
    CallbackIn,
    CampaignChangeIn,
    CampaignIn,
    CampaignOut,
    ClickIn,
    InvitationIn,
    InvitationOut,
    ReportOut,
    SlotsOut,
)

TAG = Path(__file__).parent / "static" / "tag.js"
router = APIRouter(tags=["publishers"])


def _out(c: Campaign, now: datetime) -> dict[str, Any]:
    return {"id": c.id, "handle": c.handle, "name": c.name, "publisher": c.publisher,
            "sku": c.sku, "headline": c.headline, "has_calendar": c.calendar is not None,
            "channels": [{"type": ch.type, "queue": ch.queue, "number": ch.number}
                         for ch in c.channels], "created_at": c.created_at,
            "starts_at": c.starts_at, "ends_at": c.ends_at,
            "attribution_days": c.attribution_days, "status": campaign_status(c, now)}


@router.get("/publisher/tag.js", include_in_schema=False)
def tag() -> Response:
    """The script a publisher embeds (data-campaign, data-key on the script element)."""
    return Response(TAG.read_bytes(), media_type="text/javascript; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=300",
                             "Cross-Origin-Resource-Policy": "cross-origin"})


@router.post("/v1/publisher-campaigns", status_code=201, response_model=CampaignOut)
def create_campaign(body: CampaignIn, ctx: Ctx, _key: WriteKey) -> dict[str, Any]:
    """A campaign: selection rules, channels by capacity, a calendar, costs, its period
    (`starts_at`, `ends_at`; 422 `invalid_period` when the end is not after the start) and its
    attribution window (`attribution_days`, 1-365, default 30)."""
    return _out(service.create_campaign(ctx, body.model_dump(mode="json")), ctx.clock.now())


@router.get("/v1/publisher-campaigns", response_model=list[CampaignOut])
def list_campaigns(ctx: Ctx, _key: ReadKey) -> list[dict[str, Any]]:
    """Every campaign, newest first."""
    now = ctx.clock.now()
    return [_out(c, now) for c in service.list_campaigns(ctx)]


@router.patch("/v1/publisher-campaigns/{ref}", response_model=CampaignOut)
def change_campaign(ref: str, body: CampaignChangeIn, ctx: Ctx, _key: WriteKey
                    ) -> dict[str, Any]:
    """Change a campaign's `starts_at`, `ends_at` or `attribution_days` (only the fields sent;
    null removes a start or an end; 422 `invalid_period` when the end would not be after the
    start). Sending the same values again changes nothing."""
    changed = service.update_campaign(ctx, ref, body.model_dump(mode="json", exclude_unset=True))
    return _out(changed, ctx.clock.now())


@router.post("/v1/publisher-campaigns/{ref}/end", response_model=CampaignOut)
def end_campaign(ref: str, ctx: Ctx, _key: WriteKey) -> dict[str, Any]:
    """End the campaign now: no more invitations or bookings. A campaign that has already ended
    keeps its end (a retry answers the same); one not started yet answers 409
    `campaign_not_started`."""
    ended, _now_ended = service.end_campaign(ctx, ref)
    return _out(ended, ctx.clock.now())


@router.get("/v1/publisher-campaigns/{ref}/report", response_model=ReportOut)
def report(ref: str, ctx: Ctx, _key: ReadKey) -> dict[str, Any]:
    """Impressions, clicks, contacts, appointments, sales and cost per sale."""
    return service.report(ctx, ref)


@router.get("/v1/publisher-campaigns/{ref}/appointments", response_model=list[AppointmentOut])
def list_appointments(ref: str, ctx: Ctx, _key: ReadKey) -> list[dict[str, Any]]:
    """A campaign's appointments."""
    rows = appointments.list_appointments(ctx, ref)
    return [{**r, "campaign": ref} for r in rows]


@router.post("/v1/publisher/invitations", response_model=InvitationOut)
def invitation(body: InvitationIn, ctx: Ctx, _key: AnyKey) -> dict[str, Any]:
    """Whether the tag shows an invitation now (selection, live capacity, the engine)."""
    return service.invitation(ctx, body.model_dump(mode="json"))


@router.post("/v1/publisher/clicks")
def click(body: ClickIn, ctx: Ctx, _key: AnyKey) -> dict[str, Any]:
    """A click on an invitation (opening the chat also counts as a contact)."""
    return service.record_click(ctx, body.model_dump())


@router.post("/v1/publisher/callbacks", status_code=201)
def callback(body: CallbackIn, ctx: Ctx, _key: AnyKey) -> dict[str, Any]:
    """A callback from an invitation."""
    return service.request_callback(ctx, body.model_dump())


@router.get("/v1/publisher/campaigns/{ref}/slots", response_model=SlotsOut)
def slots(ref: str, ctx: Ctx, _key: AnyKey,
          day: Annotated[date, Query(alias="date")]) -> dict[str, Any]:
    """Free appointment slots of one day."""
    return appointments.free_slots(ctx, ref, day)


@router.post("/v1/publisher/appointments", status_code=201, response_model=AppointmentOut)
def book(body: AppointmentIn, ctx: Ctx, _key: AnyKey, key: IdempotencyKey,
         response: Response) -> dict[str, Any]:
    """Book a slot; the confirmation email goes out through the outbox (409 slot_taken).
    A retry with the same Idempotency-Key answers the first booking again."""
    booked, replayed = appointments.book(ctx, body.model_dump(), idempotency_key=key)
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return booked
