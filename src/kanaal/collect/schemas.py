"""Request/response models of the Segment HTTP Tracking API (for validation docs and OpenAPI)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class SegmentMessage(BaseModel):
    """One Segment message; unknown fields are kept in the stored event's context."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    type: Literal["identify", "track", "page", "screen", "group", "alias"] | None = Field(
        None, description="required inside /v1/batch; implied by the path otherwise"
    )
    userId: str | int | None = None  # noqa: N815 - Segment's wire names
    anonymousId: str | None = None  # noqa: N815
    previousId: str | None = Field(None, description="alias only")  # noqa: N815
    groupId: str | None = Field(None, description="group only")  # noqa: N815
    event: str | None = Field(None, description="track only, required there")
    name: str | None = Field(None, description="page/screen name")
    messageId: str | None = Field(None, description="dedupe key per source")  # noqa: N815
    timestamp: str | None = None
    originalTimestamp: str | None = None  # noqa: N815
    sentAt: str | None = None  # noqa: N815
    properties: dict[str, Any] | None = None
    traits: dict[str, Any] | None = None
    context: dict[str, Any] | None = Field(
        None, description="channel, traits, device.id, externalIds, consent"
    )
    writeKey: str | None = Field(None, description="instead of HTTP Basic auth")  # noqa: N815


class SegmentBatch(BaseModel):
    """A batch: up to 2,500 events and 500 KB; stored all or nothing."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    batch: list[SegmentMessage]
    sentAt: str | None = None  # noqa: N815
    writeKey: str | None = None  # noqa: N815


class SegmentAccepted(BaseModel):
    """Segment's answer to an accepted request (also for duplicates and suppressed events)."""

    success: bool = True
