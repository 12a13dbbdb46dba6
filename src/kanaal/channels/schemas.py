"""Channel request and response bodies."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from kanaal.channels.domain import Channel


class ChannelIn(BaseModel):
    """A new channel."""

    model_config = ConfigDict(extra="forbid")

    handle: str = Field(max_length=64, examples=["webshop-nl"])
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(description="web, mobile, store, phone, chat, publisher, marketplace, "
                      "social, b2b or shop_in_shop")
    currency: str = Field(min_length=3, max_length=3, examples=["EUR"])
    price_list_id: str | None = None
    location_ids: list[str] = Field(default_factory=list, description="by priority, first first")
    allocation_strategy: str = Field("priority", description="priority, nearest or fewest_splits")
    stock_buffer: int = Field(0, ge=0, description="units withheld from availability")
    quota: int | None = Field(None, ge=0, description="most units offered at any time")


class ChannelPatch(BaseModel):
    """A partial change; omitted fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    handle: str | None = Field(None, max_length=64)
    name: str | None = Field(None, min_length=1, max_length=200)
    currency: str | None = Field(None, min_length=3, max_length=3)
    price_list_id: str | None = None
    location_ids: list[str] | None = None
    allocation_strategy: str | None = None
    stock_buffer: int | None = Field(None, ge=0)
    quota: int | None = Field(None, ge=0)


class ChannelOut(BaseModel):
    """A channel as stored."""

    id: str
    handle: str
    name: str
    kind: str
    currency: str
    price_list_id: str | None
    location_ids: list[str]
    allocation_strategy: str
    stock_buffer: int
    quota: int | None

    @classmethod
    def of(cls, channel: Channel) -> ChannelOut:
        """Response body for a domain channel."""
        return cls(
            id=channel.id, handle=channel.handle, name=channel.name, kind=channel.kind.value,
            currency=channel.currency, price_list_id=channel.price_list_id,
            location_ids=list(channel.location_ids),
            allocation_strategy=channel.allocation_strategy.value,
            stock_buffer=channel.stock_buffer, quota=channel.quota,
        )
