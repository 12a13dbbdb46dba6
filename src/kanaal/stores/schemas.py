"""Request and response bodies of the QR code and store presence endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class QrCodeIn(BaseModel):
    """A code for one product in one store."""

    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=100)
    store_id: str = Field(min_length=1, max_length=40)
    label: str | None = Field(default=None, min_length=1, max_length=200)
    expires_at: datetime | None = None


class QrCodeOut(BaseModel):
    """A code with its short link and image URLs."""

    token: str
    sku: str
    store_id: str
    label: str
    url: str
    png_url: str
    svg_url: str
    created_at: datetime
    expires_at: datetime | None


class ScanOut(BaseModel):
    """One recorded scan with the engine's answer."""

    id: str
    token: str
    sku: str
    store_id: str
    customer_id: str
    anonymous_id: str
    decision_id: str | None
    action: str
    action_message: str | None
    offer_code: str | None
    scanned_at: datetime


class ScanListOut(BaseModel):
    """Scans of one code, oldest first."""

    scans: list[ScanOut]


class PresenceIn(BaseModel):
    """A store presence event from the app or the store Wi-Fi portal."""

    model_config = ConfigDict(extra="forbid")

    event: str = Field(min_length=1, max_length=40, description="Store Entered or Store Left")
    store_id: str = Field(min_length=1, max_length=40)
    source: Literal["app", "wifi_portal"]
    anonymousId: str | None = Field(default=None, min_length=1, max_length=100)  # noqa: N815
    userId: str | None = Field(default=None, min_length=1, max_length=255)  # noqa: N815
    consent: bool | None = Field(default=None, description="explicit consent given just now; "
                                 "else traits.consent.tracking decides")
    messageId: str | None = Field(default=None, min_length=1, max_length=100)  # noqa: N815


class PresenceOut(BaseModel):
    """The recorded presence event."""

    id: str
    customer_id: str
    store_id: str
    event: str
    source: str
    at: datetime
    product_sku: str | None = Field(description="on Store Entered: the product last viewed "
                                    "online, which the engine was asked about")
    decision_id: str | None
    action: str | None = Field(description="the engine's action, e.g. hot_prospect_alert")
