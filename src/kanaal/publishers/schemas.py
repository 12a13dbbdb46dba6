"""Request and response bodies of the pretargeting endpoints."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Text = Field(min_length=1, max_length=200)
STARTS_AT = ("When the campaign starts showing invitations (ISO 8601 with a time zone); none: "
             "from its creation.")
ENDS_AT = ("When it stops: no invitation and no booking from this instant on (ISO 8601 with a "
           "time zone, after starts_at, or after now without one); none: no end.")
ATTRIBUTION_DAYS = ("An order is a sale of the campaign when placed at or after the customer's "
                    "first reach by it and less than this many days after that reach.")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RulesIn(_In):
    """Prospect selection: publisher segments, a minimum score, page types, keywords."""

    segments: list[str] = Field(default_factory=list, max_length=50)
    min_score: float | None = Field(default=None, ge=0, le=1)
    page_types: list[str] = Field(default_factory=list, max_length=50)
    keywords: list[str] = Field(default_factory=list, max_length=100)


class ChannelIn(_In):
    """A tracked inbound number (phone, E.164), a callback queue or a chat queue."""

    type: Literal["phone", "callback", "chat"]
    queue: str = Field(min_length=1, max_length=60)
    number: str | None = Field(default=None, min_length=3, max_length=40)


class CalendarIn(_In):
    """The store's or agent's bookable slots (UTC)."""

    resource_kind: Literal["store", "agent"]
    resource_id: str = Field(min_length=1, max_length=40)
    slot_minutes: int = Field(default=30, ge=5, le=480)
    opens: str = Field(default="09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    closes: str = Field(default="17:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    weekdays: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4, 5], max_length=7)


class CampaignIn(_In):
    """A pretargeting campaign on a publisher's site."""

    handle: str = Field(min_length=2, max_length=60)
    name: str = Text
    publisher: str = Text
    sku: str | None = Field(default=None, min_length=1, max_length=100)
    expected_value: Decimal = Field(ge=0, max_digits=14, decimal_places=2)
    currency: str = Field(pattern="^[A-Z]{3}$")
    headline: str = Text
    body: str = Field(min_length=1, max_length=1000)
    rules: RulesIn = Field(default_factory=RulesIn)
    channels: list[ChannelIn] = Field(default_factory=list, max_length=5)
    calendar: CalendarIn | None = None
    cost_per_mille: Decimal = Field(default=Decimal("0"), ge=0, max_digits=14, decimal_places=2)
    cost_per_click: Decimal = Field(default=Decimal("0"), ge=0, max_digits=14, decimal_places=2)
    starts_at: AwareDatetime | None = Field(default=None, description=STARTS_AT)
    ends_at: AwareDatetime | None = Field(default=None, description=ENDS_AT)
    attribution_days: int = Field(default=30, ge=1, le=365, description=ATTRIBUTION_DAYS)


class CampaignChangeIn(_In):
    """Change a campaign's period or attribution window: only the fields sent change; null
    removes a start or an end."""

    starts_at: AwareDatetime | None = Field(default=None, description=STARTS_AT)
    ends_at: AwareDatetime | None = Field(default=None, description=ENDS_AT)
    attribution_days: int = Field(default=30, ge=1, le=365, description=ATTRIBUTION_DAYS)


class CampaignOut(BaseModel):
    """A campaign."""

    id: str
    handle: str
    name: str
    publisher: str
    sku: str | None
    headline: str
    channels: list[dict[str, str | None]]
    has_calendar: bool
    created_at: datetime
    starts_at: datetime | None = Field(description=STARTS_AT)
    ends_at: datetime | None = Field(description=ENDS_AT)
    attribution_days: int = Field(description=ATTRIBUTION_DAYS)
    status: Literal["scheduled", "running", "ended"] = Field(
        description="scheduled before starts_at, ended from ends_at on, running in between")


class InvitationContextIn(BaseModel):
    """What the publisher's page knows: its segment, a score, the page and keywords."""

    model_config = ConfigDict(extra="ignore")

    segment: str | None = Field(default=None, max_length=60)
    score: float | None = Field(default=None, ge=0, le=1)
    page: dict[str, str] | None = None
    keywords: list[str] = Field(default_factory=list, max_length=50)


class InvitationIn(_In):
    """The tag asks whether to invite this visitor."""

    campaign: str = Field(min_length=1, max_length=60)
    anonymousId: str = Field(min_length=1, max_length=100)  # noqa: N815
    context: InvitationContextIn = Field(default_factory=InvitationContextIn)


class InvitationOut(BaseModel):
    """Show an invitation (with its channel) or not, and why."""

    show: bool
    campaign: str
    reason: str | None = None
    decision_id: str | None = None
    headline: str | None = None
    body: str | None = None
    action: str | None = None
    channel: dict[str, object] | None = None
    appointments: bool = False


class ClickIn(_In):
    """A click on an invitation."""

    campaign: str = Field(min_length=1, max_length=60)
    decision_id: str = Field(min_length=1, max_length=40)
    target: Literal["phone", "callback", "chat", "appointment"]


class CallbackIn(_In):
    """A callback asked for from an invitation."""

    campaign: str = Field(min_length=1, max_length=60)
    decision_id: str = Field(min_length=1, max_length=40)
    anonymousId: str = Field(min_length=1, max_length=100)  # noqa: N815
    phone: str = Field(min_length=3, max_length=40)


class AppointmentIn(_In):
    """Book a slot."""

    campaign: str = Field(min_length=1, max_length=60)
    anonymousId: str = Field(min_length=1, max_length=100)  # noqa: N815
    decision_id: str | None = Field(default=None, min_length=1, max_length=40)
    slot_start: datetime
    name: str = Text
    email: str = Field(max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str | None = Field(default=None, min_length=3, max_length=40)


class AppointmentOut(BaseModel):
    """A booked appointment."""

    id: str
    campaign: str
    resource_kind: str
    resource_id: str
    slot_start: datetime
    slot_end: datetime
    customer_id: str
    where: str | None = None
    status: str


class SlotsOut(BaseModel):
    """Free slots of one day."""

    campaign: str
    date: str
    slot_minutes: int
    slots: list[datetime]


class ReportOut(BaseModel):
    """A campaign's funnel and economics."""

    campaign: str
    publisher: str
    impressions: int
    clicks: int
    contacts: int
    calls: int
    appointments: int
    sales: int
    revenue: str
    currency: str
    cost: str
    cost_per_sale: str | None
