"""Request and response models of the marketing API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class SegmentIn(BaseModel):
    """A segment definition; `rule` uses the language in docs/marketing.md."""

    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    rule: dict[str, Any]


class SegmentOut(BaseModel):
    """A segment and how many customers are in it now."""

    id: str
    name: str
    description: str
    rule: dict[str, Any]
    created_at: datetime
    members: int


class MembersOut(BaseModel):
    """A page of member customer ids."""

    customer_ids: list[str]
    next_cursor: str | None


class ChannelShare(BaseModel):
    """One channel's figures within a segment."""

    channel: str
    contacts: int
    orders: int
    revenue: str
    margin: str
    new_customers: int
    contacts_share: float
    orders_share: float
    revenue_share: float
    margin_share: float
    new_customers_share: float


class TriggerOut(BaseModel):
    """A saved trigger."""

    id: str
    name: str
    event: str
    definition: dict[str, Any]
    active: bool
    created_at: datetime


class RefreshOut(BaseModel):
    """What a bulk refresh changed."""

    entered: int
    exited: int
