"""Pretargeting use cases: campaigns, invitations, clicks, callbacks and the report."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from typing import Any

from kanaal.catalog.service import get_variant
from kanaal.collect.service import record_event
from kanaal.contact_center import service as contact_center
from kanaal.core.context import AppContext
from kanaal.core.errors import Conflict, InvalidInput, NotFound
from kanaal.orders.service import customer_orders_since
from kanaal.publishers import store, store_reports
from kanaal.publishers.domain import (
    CHANNEL_TYPES,
    ENGINE_ACTION,
    Calendar,
    Campaign,
    InviteChannel,
    Rules,
    campaign_cost,
    check_calendar,
    check_handle,
    choose_channel,
    cost_per_sale,
    selection_miss,
)

SOURCE = "publishers"


def _calendar(raw: dict[str, Any] | None) -> Calendar | None:
    if raw is None:
        return None
    return check_calendar(Calendar(
        resource_kind=raw["resource_kind"], resource_id=raw["resource_id"],
        slot_minutes=raw["slot_minutes"], opens=time.fromisoformat(raw["opens"]),
        closes=time.fromisoformat(raw["closes"]), weekdays=tuple(raw["weekdays"])))


def create_campaign(ctx: AppContext, fields: dict[str, Any]) -> Campaign:
    """A new campaign; its queues, product and calendar resource must exist."""
    channels = tuple(InviteChannel(**c) for c in fields["channels"])
    if not channels and fields.get("calendar") is None:
        raise InvalidInput("a campaign invites to a channel or to an appointment",
                           code="no_invitation_channel")
    if any(c.type not in CHANNEL_TYPES for c in channels):
        raise InvalidInput(f"channel types are {', '.join(CHANNEL_TYPES)}",
                           code="invalid_channel_type")
    if any(c.type == "phone" and not c.number for c in channels):
        raise InvalidInput("a phone channel needs its tracked inbound number",
                           code="missing_number")
    for c in channels:
        if c.type == "phone" and c.number:
            # Calls are matched to the campaign by this number: it must be a real one.
            contact_center.check_e164(c.number, "number")
        elif c.number:
            raise InvalidInput(f"only a phone channel has a number (not {c.type})",
                               code="unexpected_number")
    rules = fields.get("rules") or {}
    campaign = Campaign(
        id=ctx.ids.new("pcm"), handle=check_handle(fields["handle"]), name=fields["name"],
        publisher=fields["publisher"], sku=fields.get("sku"),
        expected_value=Decimal(fields["expected_value"]), currency=fields["currency"],
        headline=fields["headline"], body=fields["body"],
        rules=Rules(segments=tuple(rules.get("segments") or ()),
                    min_score=rules.get("min_score"),
                    page_types=tuple(rules.get("page_types") or ()),
                    keywords=tuple(rules.get("keywords") or ())),
        channels=channels, calendar=_calendar(fields.get("calendar")),
        cost_per_mille=Decimal(fields["cost_per_mille"]),
        cost_per_click=Decimal(fields["cost_per_click"]), created_at=ctx.clock.now())
    if campaign.sku is not None:
        get_variant(ctx, campaign.sku)
    with ctx.db.transaction() as session:
        for channel in channels:
            queue = contact_center.get_queue_in(session, channel.queue)
            if queue.channel.value != channel.type:
                raise InvalidInput(f"queue {channel.queue!r} takes {queue.channel.value}, "
                                   f"not {channel.type}", code="queue_channel_mismatch")
        if campaign.calendar is not None:
            from kanaal.publishers.appointments import adopt_calendar_in  # imports this module

            adopt_calendar_in(session, ctx, campaign.calendar)
        if store.find_campaign(session, campaign.handle) is not None:
            raise Conflict(f"campaign {campaign.handle!r} exists", code="campaign_exists")
        store.insert_campaign(session, campaign)
    return campaign


def get_campaign(ctx: AppContext, ref: str) -> Campaign:
    """A campaign by id or handle (NotFound `unknown_campaign`)."""
    with ctx.db.reader() as session:
        campaign = store.find_campaign(session, ref)
    if campaign is None:
        raise NotFound(f"no campaign {ref!r}", code="unknown_campaign")
    return campaign


def list_campaigns(ctx: AppContext) -> list[Campaign]:
    """Every campaign, newest first."""
    with ctx.db.reader() as session:
        return store.all_campaigns(session)


def invitation(ctx: AppContext, body: dict[str, Any]) -> dict[str, Any]:
    """Whether to invite this prospect now, to which channel; an impression when shown."""
    from kanaal.decisions.service import make_decision

    campaign = get_campaign(ctx, body["campaign"])
    context = body.get("context") or {}
    miss = selection_miss(campaign.rules, context)
    if miss is not None:
        return {"show": False, "reason": f"not_selected:{miss}", "campaign": campaign.handle}
    channel = choose_channel(campaign.channels, contact_center.capacity_snapshot(ctx))
    if channel is None and (campaign.channels or campaign.calendar is None):
        return {"show": False, "reason": "no_capacity", "campaign": campaign.handle}
    allowed = [ENGINE_ACTION[channel.type]] if channel else []
    if campaign.calendar is not None:
        allowed.append("store_appointment")
    request: dict[str, Any] = {
        "anonymousId": body["anonymousId"], "channel": "publisher", "allowed_actions": allowed,
        "context": {"page": context.get("page") or {"type": "article"},
                    "segment": context.get("segment"),
                    "cart": {"value": str(campaign.expected_value),
                             "currency": campaign.currency}}}
    if campaign.sku:
        request["context"]["product"] = {"sku": campaign.sku}
    decision = make_decision(ctx, request)
    action = decision["action"]
    if action["type"] == "none":
        return {"show": False, "reason": "engine_declined", "campaign": campaign.handle,
                "decision_id": decision["decision_id"]}
    chosen = channel
    with ctx.db.transaction() as session:
        customer_id = record_event(
            session, ctx, event="Invitation Shown", identities={"anonymous_id":
                                                                 body["anonymousId"]},
            properties={"campaign": campaign.handle, "publisher": campaign.publisher,
                        "decision_id": decision["decision_id"], "action": action["type"]},
            channel="publisher", source=SOURCE)
        store.insert_event(session, id=ctx.ids.new("pev"), campaign_id=campaign.id,
                           kind="impression", customer_id=customer_id,
                           decision_id=decision["decision_id"],
                           channel=chosen.type if chosen else "appointment",
                           at=ctx.clock.now())
    return {"show": True, "campaign": campaign.handle, "decision_id": decision["decision_id"],
            "headline": campaign.headline, "body": campaign.body, "action": action["type"],
            "channel": None if chosen is None else {
                "type": chosen.type, "queue": chosen.queue, "number": chosen.number,
                "predicted_wait_seconds": action["predicted_wait_seconds"]},
            "appointments": campaign.calendar is not None}


def _impression(session: Any, campaign: Campaign, decision_id: str) -> Any:
    row = store.find_event(session, decision_id, "impression")
    if row is None or row.campaign_id != campaign.id:
        raise NotFound("no invitation of this campaign with that decision id",
                       code="unknown_invitation")
    return row


def record_click(ctx: AppContext, body: dict[str, Any]) -> dict[str, Any]:
    """A click on an invitation; opening the chat from it is also a contact.

    A click on the tracked number is only a click: the call, when it reaches the number, is
    the contact (see `report`).
    """
    campaign = get_campaign(ctx, body["campaign"])
    if body["target"] in CHANNEL_TYPES and not any(
            c.type == body["target"] for c in campaign.channels):
        raise InvalidInput(f"this campaign does not invite to {body['target']}",
                           code="channel_not_offered")
    with ctx.db.transaction() as session:
        shown = _impression(session, campaign, body["decision_id"])
        kinds = ["click"] + (["contact"] if body["target"] == "chat" else [])
        for kind in kinds:
            store.insert_event(session, id=ctx.ids.new("pev"), campaign_id=campaign.id,
                               kind=kind, customer_id=shown.customer_id,
                               decision_id=body["decision_id"], channel=body["target"],
                               at=ctx.clock.now())
    return {"campaign": campaign.handle, "recorded": kinds}


def request_callback(ctx: AppContext, body: dict[str, Any]) -> dict[str, Any]:
    """A callback asked for from an invitation, in the campaign's callback queue."""
    campaign = get_campaign(ctx, body["campaign"])
    queue = next((c.queue for c in campaign.channels if c.type == "callback"), None)
    if queue is None:
        raise Conflict("this campaign does not offer callbacks", code="no_callback_channel")
    phone = contact_center.normalise_phone(ctx, body["phone"])
    with ctx.db.transaction() as session:
        shown = _impression(session, campaign, body["decision_id"])
        customer_id = record_event(
            session, ctx, type="identify", event=None,
            identities={"anonymous_id": body["anonymousId"], "phone": phone},
            traits={"phone": phone}, channel="publisher", source=SOURCE)
        callback = contact_center.create_callback_in(
            session, ctx, customer_id=customer_id, phone=phone, queue=queue, slot_start=None,
            context={"source": "publisher", "campaign": campaign.handle,
                     "publisher": campaign.publisher, "decision_id": body["decision_id"],
                     "reason": campaign.headline})
        store.insert_event(session, id=ctx.ids.new("pev"), campaign_id=campaign.id,
                           kind="contact", customer_id=shown.customer_id or customer_id,
                           decision_id=body["decision_id"], channel="callback",
                           at=ctx.clock.now())
    return {"id": callback.id, "queue": callback.queue, "phone": callback.phone}


def _tracked_calls(ctx: AppContext, campaign: Campaign) -> list[Any]:
    """Calls that reached the campaign's tracked numbers since it started."""
    numbers = sorted({contact_center.check_e164(c.number, "number")
                      for c in campaign.channels if c.type == "phone" and c.number})
    return contact_center.calls_to_numbers(ctx, numbers, since=campaign.created_at,
                                           until=ctx.clock.now())


def report(ctx: AppContext, ref: str) -> dict[str, Any]:
    """Impressions, clicks, contacts, appointments, sales, revenue, cost and cost per sale.

    Contacts are callbacks, chats and appointments asked for from an invitation plus the calls
    that reached the campaign's tracked number since it started. Sales are the orders of every
    customer the campaign reached (an impression or a tracked call) placed after that first
    reach, plus tracked calls that ended in a sale and were not followed by an order of the
    same customer (an agent's sale that became an order counts once, as the order).
    """
    campaign = get_campaign(ctx, ref)
    with ctx.db.reader() as session:
        counts = store_reports.funnel_counts(session, campaign.id)
        reached = store_reports.first_impressions(session, campaign.id)
        booked = store.appointments_of(session, campaign_id=campaign.id)
    calls = _tracked_calls(ctx, campaign)
    for call in calls:
        if call.customer_id is not None and (call.customer_id not in reached
                                             or call.started_at < reached[call.customer_id]):
            reached[call.customer_id] = call.started_at
    sales, revenue = 0, Decimal("0")
    ordered_at: dict[str, list[datetime]] = {}
    since = min(reached.values(), default=None)
    placed = [] if since is None else customer_orders_since(ctx, list(reached), since)
    for order in placed:
        customer_id = order["customer_id"]
        if order["created_at"] >= reached[customer_id] \
                and order["currency"] == campaign.currency:
            sales += 1
            revenue += order["total"]
            ordered_at.setdefault(customer_id, []).append(order["created_at"])
    for call in calls:
        if call.outcome is None or call.outcome.value != "sale" or call.sale_value is None \
                or call.currency != campaign.currency:
            continue
        after = ordered_at.get(call.customer_id or "", [])
        if any(at >= call.started_at for at in after):
            continue  # the sale became an order, counted above
        sales += 1
        revenue += call.sale_value
    impressions, clicks = counts.get("impression", 0), counts.get("click", 0)
    cost = campaign_cost(campaign, impressions, clicks)
    return {"campaign": campaign.handle, "publisher": campaign.publisher,
            "impressions": impressions, "clicks": clicks,
            "contacts": counts.get("contact", 0) + len(calls), "calls": len(calls),
            "appointments": len(booked), "sales": sales, "revenue": str(revenue),
            "currency": campaign.currency, "cost": str(cost),
            "cost_per_sale": None if (c := cost_per_sale(cost, sales)) is None else str(c)}
