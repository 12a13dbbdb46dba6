"""Request and response bodies of the widget endpoints."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

Id = Field(default=None, min_length=1, max_length=255)


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CartLine(_In):
    """One cart line as the shop knows it."""

    sku: str = Field(min_length=1, max_length=100)
    name: str | None = Field(default=None, max_length=200)
    quantity: int = Field(default=1, ge=1, le=1000)
    price: Decimal | None = Field(default=None, ge=0, allow_inf_nan=False, max_digits=14)


class CartIn(_In):
    """The visitor's cart."""

    value: Decimal | None = Field(default=None, ge=0, allow_inf_nan=False, max_digits=14)
    currency: str | None = Field(default=None, pattern="^[A-Z]{3}$")
    items: list[CartLine] = Field(default_factory=list, max_length=100)


class PageSeen(_In):
    """A page the visitor saw in this visit."""

    title: str | None = Field(default=None, max_length=300)
    url: str | None = Field(default=None, max_length=2048)
    at: datetime | None = None


class WidgetCallbackIn(_In):
    """A callback asked for in the callback widget."""

    anonymousId: str | None = Id  # noqa: N815 - the Segment field name
    userId: str | None = Id  # noqa: N815 - the Segment field name
    phone: str = Field(min_length=1, max_length=40)
    decision_id: str | None = Field(default=None, max_length=60)
    queue: str | None = Field(default=None, max_length=100)
    cart: CartIn | None = None
    pages: list[PageSeen] = Field(default_factory=list, max_length=50)
    lang: str | None = Field(default=None, max_length=20)


class WidgetCallbackOut(BaseModel):
    """The queued callback, as the widget confirms it."""

    id: str
    queue: str
    phone: str
    due_at: datetime
    customer_id: str | None


class OfferCodeIn(_In):
    """An offer code typed at checkout."""

    code: str = Field(min_length=1, max_length=40)
    anonymousId: str | None = Id  # noqa: N815 - the Segment field name
    userId: str | None = Id  # noqa: N815 - the Segment field name


class OfferCodeOut(BaseModel):
    """A valid offer: the discount checkout applies."""

    code: str
    discount_percent: Decimal
    currency: str
    expires_at: datetime
