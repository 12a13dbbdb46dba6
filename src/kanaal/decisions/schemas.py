"""Request and response bodies of the decision endpoints."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ActionName = Literal["none", "show_phone", "call_now", "callback_offer", "chat_invite", "offer",
                     "store_appointment", "hot_prospect_alert"]
Id = Field(default=None, min_length=1, max_length=255)


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Page(_In):
    """The page the prospect is on."""

    type: str | None = Field(default=None, max_length=40)
    url: str | None = Field(default=None, max_length=2048)


class CartItem(_In):
    """One cart line."""

    sku: str = Field(min_length=1, max_length=100)
    quantity: int = Field(default=1, ge=1, le=1000)
    price: Decimal | None = Field(default=None, allow_inf_nan=False, max_digits=14)


class Cart(_In):
    """The prospect's cart."""

    value: Decimal | None = Field(default=None, allow_inf_nan=False, max_digits=14)
    currency: str | None = Field(default=None, pattern="^[A-Z]{3}$")
    items: list[CartItem] = Field(default_factory=list, max_length=100)


class Product(_In):
    """The product in view."""

    sku: str | None = Field(default=None, max_length=100)


class SessionInfo(_In):
    """Engagement in this visit."""

    pageviews: int | None = Field(default=None, ge=0, le=100_000)
    seconds_on_site: float | None = Field(default=None, ge=0, le=86_400 * 7)
    is_returning: bool | None = None


class DecisionContextIn(_In):
    """What the touchpoint knows about the visit."""

    page: Page | None = None
    cart: Cart | None = None
    product: Product | None = None
    session: SessionInfo | None = None
    store_id: str | None = Field(default=None, max_length=60)
    brand: str | None = Field(default=None, max_length=100)
    segment: str | None = Field(default=None, max_length=60)


class DecisionIn(_In):
    """Ask for the next best channel of one prospect."""

    anonymousId: str | None = Id  # noqa: N815 - the Segment field name
    userId: str | None = Id  # noqa: N815 - the Segment field name
    channel: str = Field(max_length=30, description="web, mobile, store, chat, publisher, "
                         "shop_in_shop")
    context: DecisionContextIn = Field(default_factory=DecisionContextIn)
    allowed_actions: list[ActionName] | None = Field(default=None, max_length=8)


class ActionOut(BaseModel):
    """The proposed action."""

    type: ActionName
    queue: str | None
    predicted_wait_seconds: float | None
    message: str | None
    offer_code: str | None
    expires_at: datetime | None


class ExpectedOut(BaseModel):
    """What the engine expects of the action (margins in the cart currency)."""

    incremental_margin: Decimal
    contact_cost: Decimal
    p_buy_nothing: float
    p_buy_action: float


class AlternativeOut(BaseModel):
    """A candidate that was scored but not chosen."""

    type: ActionName
    queue: str | None
    feasible: bool
    incremental_margin: Decimal
    contact_cost: Decimal
    p_buy_nothing: float
    p_buy_action: float
    p_accept: float


class ExperimentOut(BaseModel):
    """The experiment and arm this decision ran under."""

    name: str
    arm: str


class DecisionOut(BaseModel):
    """One decision of the engine."""

    decision_id: str
    action: ActionOut
    expected: ExpectedOut
    alternatives: list[AlternativeOut]
    reasons: list[str]
    experiment: ExperimentOut


class OutcomeIn(_In):
    """What happened after a decision."""

    event: Literal["shown", "accepted", "dismissed", "contacted", "converted"]
    revenue: Decimal | None = Field(default=None, ge=0, allow_inf_nan=False, max_digits=14)
    margin: Decimal | None = Field(default=None, allow_inf_nan=False, max_digits=14)


class OutcomeOut(BaseModel):
    """The outcome as joined to its decision."""

    decision_id: str
    event: str
    recorded: bool = Field(description="false when this event was already recorded")
    events: list[str]
