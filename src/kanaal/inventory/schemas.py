"""Request and response bodies of the inventory API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from kanaal.inventory.domain import Location, StockLevel


class LocationIn(BaseModel):
    """A new warehouse, store or 3PL location."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=200)
    kind: str = Field(description="warehouse, store or 3pl")
    latitude: float | None = None
    longitude: float | None = None
    address: str = Field(default="", max_length=1000)


class LocationOut(BaseModel):
    """A location."""

    id: str
    name: str
    kind: str
    latitude: float | None
    longitude: float | None
    address: str

    @classmethod
    def of(cls, location: Location) -> LocationOut:
        """From the domain object."""
        return cls(id=location.id, name=location.name, kind=location.kind.value,
                   latitude=location.latitude, longitude=location.longitude,
                   address=location.address)


class StockIn(BaseModel):
    """Counted on hand (a `count` movement), safety stock and/or incoming units."""

    model_config = ConfigDict(extra="forbid")

    on_hand: StrictInt | None = None
    safety_stock: StrictInt | None = None
    incoming: StrictInt | None = None


class StockOut(BaseModel):
    """One ledger row with its availability."""

    sku: str
    location_id: str
    on_hand: int
    reserved: int
    allocated: int
    incoming: int
    safety_stock: int
    available: int

    @classmethod
    def of(cls, level: StockLevel) -> StockOut:
        """From the domain object."""
        return cls(sku=level.sku, location_id=level.location_id, on_hand=level.on_hand,
                   reserved=level.reserved, allocated=level.allocated, incoming=level.incoming,
                   safety_stock=level.safety_stock, available=level.available)


class StockList(BaseModel):
    """A sku's ledger rows."""

    sku: str
    locations: list[StockOut]


class MovementIn(BaseModel):
    """A receipt, an adjustment (signed) or a transfer to another location."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(description="receipt, adjustment or transfer")
    quantity: StrictInt = Field(description="units; negative only for an adjustment")
    to_location_id: str | None = Field(default=None, description="target of a transfer")
    note: str | None = Field(default=None, max_length=1000)


class MovementsOut(BaseModel):
    """Ledger rows after a movement."""

    locations: list[StockOut]


class MovementOut(BaseModel):
    """One entry of the append-only movement log."""

    id: str
    sku: str
    location_id: str
    reason: str
    on_hand_delta: int
    reserved_delta: int
    allocated_delta: int
    incoming_delta: int
    safety_stock_delta: int
    on_hand: int
    reserved: int
    allocated: int
    reference: str | None
    note: str | None
    created_at: datetime


class LocationAvailability(BaseModel):
    """Available units at one of the channel's locations."""

    location_id: str
    available: int


class AvailabilityOut(BaseModel):
    """What a channel may promise of a sku."""

    sku: str
    channel_id: str
    available: int
    locations: list[LocationAvailability]


class ReservationIn(BaseModel):
    """Hold stock for a cart or checkout."""

    model_config = ConfigDict(extra="forbid")

    sku: str = Field(max_length=100)
    quantity: StrictInt
    channel: str = Field(max_length=64, description="channel id or handle")
    ttl_seconds: StrictInt = 900
    reference: str | None = Field(default=None, max_length=80, description="e.g. a cart id")


class ConfirmIn(BaseModel):
    """Confirm a reservation into an allocation to an order."""

    model_config = ConfigDict(extra="forbid")

    order_id: str | None = Field(default=None, min_length=1, max_length=80)


class ReservationLineOut(BaseModel):
    """Units held at one location."""

    location_id: str
    quantity: int


class ReservationOut(BaseModel):
    """A reservation and its lines per location."""

    id: str
    sku: str
    quantity: int
    channel_id: str
    status: str
    lines: list[ReservationLineOut]
    reference: str | None
    order_id: str | None
    expires_at: datetime
    created_at: datetime
    closed_at: datetime | None

    @classmethod
    def of(cls, data: dict[str, Any]) -> ReservationOut:
        """From the service's JSON form."""
        return cls.model_validate(data)
