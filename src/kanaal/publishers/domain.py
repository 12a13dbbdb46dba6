"""Pure rules of pretargeting: prospect selection, the campaign period, channel choice,
calendars and the report (its attribution window)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from kanaal.core.errors import InvalidInput

HANDLE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,59}$")
CHANNEL_TYPES = ("phone", "callback", "chat")
# The engine's action for each channel a campaign can invite to.
ENGINE_ACTION = {"phone": "show_phone", "callback": "callback_offer", "chat": "chat_invite"}
EVENT_KINDS = ("impression", "click", "contact")
DEFAULT_ATTRIBUTION_DAYS = 30
MAX_ATTRIBUTION_DAYS = 365


@dataclass(frozen=True, slots=True)
class Rules:
    """Who a campaign invites: publisher segments, a minimum score, page context."""

    segments: tuple[str, ...] = ()
    min_score: float | None = None
    page_types: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class InviteChannel:
    """A way to reach the contact center: a tracked inbound number, a callback or a chat queue."""

    type: str
    queue: str
    number: str | None = None


@dataclass(frozen=True, slots=True)
class Calendar:
    """The store or agent whose shared calendar (kanaal.calendars) a campaign books.

    The hours only seed a calendar for a resource that has none yet (in UTC); a stored
    campaign keeps the reference alone, so its hours here are the defaults, never read.
    """

    resource_kind: str
    resource_id: str
    slot_minutes: int = 30
    opens: time = time(9, 0)
    closes: time = time(17, 0)
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4, 5)


@dataclass(frozen=True, slots=True)
class Campaign:
    """A pretargeting campaign on one publisher's site."""

    id: str
    handle: str
    name: str
    publisher: str
    sku: str | None
    expected_value: Decimal
    currency: str
    headline: str
    body: str
    rules: Rules
    channels: tuple[InviteChannel, ...]
    calendar: Calendar | None
    cost_per_mille: Decimal
    cost_per_click: Decimal
    created_at: datetime
    # The period the campaign runs in: [starts_at, ends_at), each optional (aware UTC).
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    # Orders placed this many days after a customer's first reach are the campaign's sales.
    attribution_days: int = DEFAULT_ATTRIBUTION_DAYS
    extra: dict[str, Any] = field(default_factory=dict)


def check_handle(handle: str) -> str:
    """A campaign handle: lower-case letters, digits and dashes."""
    if not HANDLE_RE.match(handle):
        raise InvalidInput("handle: 2-60 lower-case letters, digits or dashes",
                           code="invalid_handle")
    return handle


def check_calendar(calendar: Calendar) -> Calendar:
    """Refuse calendars without bookable time."""
    if calendar.resource_kind not in {"store", "agent"}:
        raise InvalidInput("calendar kind is store or agent", code="invalid_calendar")
    if not 5 <= calendar.slot_minutes <= 480 or calendar.opens >= calendar.closes:
        raise InvalidInput("slots of 5-480 minutes between opening and closing",
                           code="invalid_calendar")
    if not calendar.weekdays or any(d not in range(7) for d in calendar.weekdays):
        raise InvalidInput("weekdays are 0 (Monday) to 6 (Sunday)", code="invalid_calendar")
    return calendar


def check_period(starts_at: datetime | None, ends_at: datetime | None,
                 created_at: datetime) -> None:
    """A campaign's period: aware instants, and its end after its start (the start being
    `starts_at`, or its creation when it has none)."""
    for name, at in (("starts_at", starts_at), ("ends_at", ends_at)):
        if at is not None and at.utcoffset() is None:
            raise InvalidInput(f"{name}: a date-time with a time zone", code="invalid_period",
                               details=[{"loc": ["body", name], "message": "no time zone"}])
    start = starts_at if starts_at is not None else created_at
    if ends_at is not None and ends_at <= start:
        what = "starts_at" if starts_at is not None else "the campaign's creation"
        raise InvalidInput(f"ends_at: must be after {what} ({start.isoformat()})",
                           code="invalid_period",
                           details=[{"loc": ["body", "ends_at"],
                                     "message": f"not after {what}"}])


def check_attribution_days(days: int) -> int:
    """The attribution window: 1 to 365 days."""
    if isinstance(days, bool) or not 1 <= days <= MAX_ATTRIBUTION_DAYS:
        raise InvalidInput(f"attribution_days: 1 to {MAX_ATTRIBUTION_DAYS}",
                           code="invalid_attribution_days",
                           details=[{"loc": ["body", "attribution_days"],
                                     "message": f"not within 1..{MAX_ATTRIBUTION_DAYS}"}])
    return days


def period_miss(campaign: Campaign, now: datetime) -> str | None:
    """Why the campaign does not run at `now`: "campaign_not_started" before its start,
    "campaign_ended" from its end on (None while it runs; no start or end: no bound)."""
    if campaign.starts_at is not None and now < campaign.starts_at:
        return "campaign_not_started"
    if campaign.ends_at is not None and now >= campaign.ends_at:
        return "campaign_ended"
    return None


def campaign_status(campaign: Campaign, now: datetime) -> str:
    """scheduled, running or ended."""
    miss = period_miss(campaign, now)
    return {"campaign_not_started": "scheduled", "campaign_ended": "ended"}.get(miss or "",
                                                                               "running")


def running_since(campaign: Campaign) -> datetime:
    """When the campaign began to run: its start, never before it was created."""
    if campaign.starts_at is None:
        return campaign.created_at
    return max(campaign.starts_at, campaign.created_at)


def attributed(first_reach: datetime, placed_at: datetime, days: int) -> bool:
    """Whether an order placed at `placed_at` is a sale of a campaign that first reached the
    customer at `first_reach`: at or after that reach and less than `days` days after it."""
    return first_reach <= placed_at < first_reach + timedelta(days=days)


def selection_miss(rules: Rules, context: dict[str, Any]) -> str | None:
    """Why a prospect is not selected (None when the campaign's rules select them)."""
    if rules.segments and context.get("segment") not in rules.segments:
        return "segment"
    score = context.get("score")
    if rules.min_score is not None and (score is None or float(score) < rules.min_score):
        return "score"
    page = context.get("page") or {}
    if rules.page_types and page.get("type") not in rules.page_types:
        return "page_type"
    words = {str(w).lower() for w in context.get("keywords") or []}
    if rules.keywords and not words & {k.lower() for k in rules.keywords}:
        return "keywords"
    return None


def choose_channel(channels: tuple[InviteChannel, ...],
                   capacity: dict[str, Any]) -> InviteChannel | None:
    """The first channel whose queue has an available agent and meets its target now."""
    for channel in channels:
        queue = capacity.get(channel.queue)
        if queue is not None and queue.available_agents > 0 and not queue.over_target:
            return channel
    return None


def campaign_cost(campaign: Campaign, impressions: int, clicks: int) -> Decimal:
    """What the publisher is paid: CPM on impressions plus CPC on clicks, in cents."""
    cost = campaign.cost_per_mille * impressions / 1000 + campaign.cost_per_click * clicks
    return cost.quantize(Decimal("0.01"))


def cost_per_sale(cost: Decimal, sales: int) -> Decimal | None:
    """Cost per sale (None without sales)."""
    return None if sales == 0 else (cost / sales).quantize(Decimal("0.01"))
