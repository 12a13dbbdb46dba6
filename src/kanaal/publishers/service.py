"""Pretargeting use cases: campaigns (and their period), invitations, clicks, callbacks and
the report."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
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
    DEFAULT_ATTRIBUTION_DAYS,
    ENGINE_ACTION,
    Calendar,
    Campaign,
    InviteChannel,
    Rules,
    attributed,
    campaign_cost,
    check_attribution_days,
    check_calendar,
    check_handle,
    check_period,
    choose_channel,
    cost_per_sale,
    period_miss,
    running_since,
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


def _instant(raw: Any) -> datetime | None:
    """A date-time from a request body (already validated as aware ISO 8601), in UTC."""
    if raw is None:
        return None
    at = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw))
    return at if at.utcoffset() is None else at.astimezone(UTC)


def create_campaign(ctx: AppContext, fields: dict[str, Any]) -> Campaign:
    """A new campaign; its queues, product and calendar resource must exist; its end after its
    start (or after now, without a start)."""
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
    now = ctx.clock.now()
    starts_at, ends_at = _instant(fields.get("starts_at")), _instant(fields.get("ends_at"))
    check_period(starts_at, ends_at, now)
    days = fields.get("attribution_days")
    attribution_days = check_attribution_days(
        DEFAULT_ATTRIBUTION_DAYS if days is None else int(days))
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
        cost_per_click=Decimal(fields["cost_per_click"]), created_at=now,
        starts_at=starts_at, ends_at=ends_at, attribution_days=attribution_days)
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


PERIOD_FIELDS = ("starts_at", "ends_at", "attribution_days")


def update_campaign(ctx: AppContext, ref: str, changes: dict[str, Any]) -> Campaign:
    """Change a campaign's period or attribution window: only the fields given (null clears a
    start or an end). Setting the same values again changes nothing, so a retry is harmless."""
    unknown = set(changes) - set(PERIOD_FIELDS)
    if unknown:
        raise InvalidInput(f"only {', '.join(PERIOD_FIELDS)} can change",
                           code="invalid_change")
    if "attribution_days" in changes:
        if changes["attribution_days"] is None:
            raise InvalidInput("attribution_days: 1 to 365, not null",
                               code="invalid_attribution_days",
                               details=[{"loc": ["body", "attribution_days"],
                                         "message": "null"}])
        check_attribution_days(int(changes["attribution_days"]))
    values: dict[str, Any] = {k: _instant(v) if k != "attribution_days" else int(v)
                              for k, v in changes.items()}
    with ctx.db.transaction() as session:
        campaign = store.find_campaign(session, ref, lock="update")
        if campaign is None:
            raise NotFound(f"no campaign {ref!r}", code="unknown_campaign")
        changed = replace(campaign, **values)
        if (changed.starts_at, changed.ends_at) != (campaign.starts_at, campaign.ends_at):
            check_period(changed.starts_at, changed.ends_at, campaign.created_at)
        if changed != campaign:
            store.update_campaign(session, campaign.id, **values)
    return changed


def end_campaign(ctx: AppContext, ref: str) -> tuple[Campaign, bool]:
    """End a running campaign now; returns it and whether this call ended it. One that has
    already ended keeps its end (a retry answers the same); one that has not started yet
    cannot end (Conflict `campaign_not_started`: change its period instead)."""
    with ctx.db.transaction() as session:
        campaign = store.find_campaign(session, ref, lock="update")
        if campaign is None:
            raise NotFound(f"no campaign {ref!r}", code="unknown_campaign")
        now = ctx.clock.now()
        miss = period_miss(campaign, now)
        if miss == "campaign_ended":
            return campaign, False
        if miss == "campaign_not_started":
            raise Conflict("the campaign has not started; change its starts_at and ends_at "
                           "(PATCH) instead", code="campaign_not_started")
        ended = replace(campaign, ends_at=now)
        check_period(ended.starts_at, ended.ends_at, campaign.created_at)
        store.update_campaign(session, campaign.id, ends_at=now)
    return ended, True


def _iso(at: datetime | None) -> str:
    return "" if at is None else at.isoformat()


def check_running(campaign: Campaign, now: datetime) -> None:
    """Conflict `campaign_ended` / `campaign_not_started` outside the campaign's period."""
    miss = period_miss(campaign, now)
    if miss == "campaign_ended":
        raise Conflict(f"campaign {campaign.handle!r} ended at {_iso(campaign.ends_at)}",
                       code="campaign_ended")
    if miss == "campaign_not_started":
        raise Conflict(f"campaign {campaign.handle!r} starts at {_iso(campaign.starts_at)}",
                       code="campaign_not_started")


def invitation(ctx: AppContext, body: dict[str, Any]) -> dict[str, Any]:
    """Whether to invite this prospect now, to which channel; an impression when shown."""
    from kanaal.decisions.service import make_decision

    campaign = get_campaign(ctx, body["campaign"])
    outside = period_miss(campaign, ctx.clock.now())
    if outside is not None:
        return {"show": False, "reason": outside, "campaign": campaign.handle}
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
    """Calls that reached the campaign's tracked numbers while it ran (from its start, or its
    creation, until its end or now)."""
    numbers = sorted({contact_center.check_e164(c.number, "number")
                      for c in campaign.channels if c.type == "phone" and c.number})
    now = ctx.clock.now()
    until = now if campaign.ends_at is None else min(now, campaign.ends_at)
    since = running_since(campaign)
    if until <= since:
        return []
    calls = contact_center.calls_to_numbers(ctx, numbers, since=since, until=until)
    # [since, until] there; the end itself is outside the period
    return [c for c in calls if campaign.ends_at is None or c.started_at < campaign.ends_at]


def report(ctx: AppContext, ref: str) -> dict[str, Any]:
    """Impressions, clicks, contacts, appointments, sales, revenue, cost and cost per sale.

    Contacts are callbacks, chats and appointments asked for from an invitation plus the calls
    that reached the campaign's tracked number while it ran. Sales are the orders of every
    customer the campaign reached (an impression, click or contact, or a tracked call) placed
    in the attribution window: at or after that first reach and less than `attribution_days`
    days after it; plus tracked calls in that window that ended in a sale and were not followed
    by an attributed order of the same customer (an agent's sale that became an order counts
    once, as the order).
    """
    campaign = get_campaign(ctx, ref)
    with ctx.db.reader() as session:
        counts = store_reports.funnel_counts(session, campaign.id)
        reached = store_reports.first_reaches(session, campaign.id)
        booked = store.appointments_of(session, campaign_id=campaign.id)
    calls = _tracked_calls(ctx, campaign)
    for call in calls:
        if call.customer_id is not None and (call.customer_id not in reached
                                             or call.started_at < reached[call.customer_id]):
            reached[call.customer_id] = call.started_at
    days = campaign.attribution_days
    sales, revenue = 0, Decimal("0")
    ordered_at: dict[str, list[datetime]] = {}
    since = min(reached.values(), default=None)
    # No order after the last reach's window closed can count: the query stops there.
    until = None if since is None else max(reached.values()) + timedelta(days=days)
    placed = [] if since is None else customer_orders_since(ctx, list(reached), since, until)
    for order in placed:
        customer_id = order["customer_id"]
        if attributed(reached[customer_id], order["created_at"], days) \
                and order["currency"] == campaign.currency:
            sales += 1
            revenue += order["total"]
            ordered_at.setdefault(customer_id, []).append(order["created_at"])
    for call in calls:
        if call.outcome is None or call.outcome.value != "sale" or call.sale_value is None \
                or call.currency != campaign.currency:
            continue
        if call.customer_id is not None and not attributed(
                reached[call.customer_id], call.started_at, days):
            continue  # sold on the phone after the window of the caller's first reach
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
