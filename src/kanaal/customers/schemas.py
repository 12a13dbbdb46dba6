"""Customer API response models."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class IdentityOut(BaseModel):
    """One identity of a customer and the source that first sent it."""

    type: str
    value: str
    source: str
    created_at: datetime


class TraitOut(BaseModel):
    """A trait's value with the source that last set it and when."""

    value: Any
    source: str
    updated_at: datetime


class CustomerOut(BaseModel):
    """A customer profile: identities, traits, first/last seen and the channels used."""

    id: str
    created_at: datetime
    first_seen_at: datetime | None
    last_seen_at: datetime | None
    identities: list[IdentityOut]
    traits: dict[str, TraitOut]
    channels: list[str]


class EventOut(BaseModel):
    """One event of a customer's timeline."""

    id: str
    type: str
    event: str | None
    name: str | None
    channel: str
    source: str
    message_id: str
    properties: dict[str, Any]
    traits: dict[str, Any]
    context: dict[str, Any]
    timestamp: datetime
    received_at: datetime


class TimelineOut(BaseModel):
    """A page of events, newest first; pass `next_cursor` as `cursor` for the next page."""

    events: list[EventOut]
    next_cursor: str | None


class ErasedOut(BaseModel):
    """The result of an erasure."""

    id: str
    erased: bool
    suppressed_identities: int
