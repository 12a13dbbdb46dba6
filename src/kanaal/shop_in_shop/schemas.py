"""Request and response bodies of the shop-in-shop endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Text = Field(min_length=1, max_length=200)


class BrandIn(BaseModel):
    """A brand's section in the retailer's site."""

    model_config = ConfigDict(extra="forbid")

    handle: str = Field(min_length=1, max_length=60)
    name: str = Text
    retailer: str = Text
    channel: str = Field(min_length=1, max_length=64, description="a shop_in_shop channel")
    question_queue: str = Field(min_length=1, max_length=60,
                                description="a callback queue with skill brand:<handle>")
    logo_url: str | None = Field(
        default=None, max_length=20_000,
        pattern=r"^(https?://|data:image/(png|jpeg|svg\+xml);base64,)",
        description="an http(s) URL or a base64 data URL of a PNG, JPEG or SVG image")
    primary_colour: str = Field(min_length=7, max_length=7)
    accent_colour: str = Field(min_length=7, max_length=7)
    headline: str = Text
    copy_text: str = Field(min_length=1, max_length=4000)
    skus: list[str] = Field(min_length=1, max_length=500)


class BrandOut(BaseModel):
    """A brand section."""

    id: str
    handle: str
    name: str
    retailer: str
    channel_id: str
    question_queue: str
    logo_url: str | None
    primary_colour: str
    accent_colour: str
    headline: str
    copy_text: str
    skus: list[str]
    page_url: str
    created_at: datetime


class QuestionIn(BaseModel):
    """A presales question from the brand's section."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=2000)
    phone: str = Field(min_length=3, max_length=40)
    sku: str | None = Field(default=None, min_length=1, max_length=100)
    anonymousId: str | None = Field(default=None, min_length=1, max_length=100)  # noqa: N815


class QuestionOut(BaseModel):
    """The question, queued for the brand's agents."""

    id: str
    brand: str
    callback_id: str
    queue: str
    customer_id: str


class OrderIn(BaseModel):
    """An order from the brand's section (one product)."""

    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=100)
    quantity: int = Field(ge=1, le=100)
    email: str = Field(max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    anonymousId: str | None = Field(default=None, min_length=1, max_length=100)  # noqa: N815


class ReportOut(BaseModel):
    """Both parties' view of the brand's section."""

    brand: str
    retailer: str
    currency: str | None
    since: datetime | None = None
    until: datetime | None = None
    brand_view: dict[str, Any]
    retailer_view: dict[str, Any]
    revenue_by_currency: dict[str, str]
    orders: list[dict[str, Any]] = Field(description="the newest of the period's orders")
