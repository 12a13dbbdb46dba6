"""Pure rules of pretargeting: prospect selection, channel choice, calendars and the report."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal
from typing import Any

from kanaal.core.errors import InvalidInput

HANDLE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,59}$")
CHANNEL_TYPES = ("phone", "callback", "chat")
# The engine's action for each channel a campaign can invite to.
ENGINE_ACTION = {"phone": "show_phone", "callback": "callback_offer", "chat": "chat_invite"}
EVENT_KINDS = ("impression", "click", "contact")


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
