"""Request and response bodies of the orders API."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kanaal.orders.domain import Fulfilment, ShipmentStatus


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CustomerIn(_In):
    """Who bought: any of these identities (none for an anonymous till sale)."""

    customer_id: str | None = Field(None, max_length=40)
    user_id: str | None = Field(None, max_length=200)
    anonymous_id: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=40)
    loyalty_card: str | None = Field(None, max_length=100)


class AddressIn(_In):
    """Where a parcel goes; coordinates let the `nearest` strategy measure distance."""

    name: str | None = Field(None, max_length=200)
    line1: str | None = Field(None, max_length=300)
    line2: str | None = Field(None, max_length=300)
    postal_code: str | None = Field(None, max_length=20)
    city: str | None = Field(None, max_length=100)
    country: str | None = Field(None, min_length=2, max_length=2)
    latitude: float | None = None
    longitude: float | None = None


class FulfilmentIn(_In):
    """`ship` (routed by the channel's strategy), `click_and_collect` or `in_store` (POS)."""

    method: Fulfilment = Fulfilment.SHIP
    location_id: str | None = Field(None, max_length=40, description="the store for "
                                    "click_and_collect and in_store")
    address: AddressIn | None = None
    allow_split: bool = Field(True, description="false: one location must ship everything")


class OrderLineIn(_In):
    """A line; `unit_price` only for marketplace imports, `reservation_id` for checkouts."""

    sku: str = Field(min_length=1, max_length=100)
    quantity: int
    unit_price: Decimal | None = None
    reservation_id: str | None = Field(None, max_length=40)


class OrderIn(_In):
    """A new order from any channel."""

    channel: str = Field(min_length=1, max_length=64, description="channel id or handle")
    currency: str = Field(min_length=3, max_length=3)
    lines: list[OrderLineIn] = Field(max_length=200)
    external_id: str | None = Field(None, min_length=1, max_length=200)
    customer: CustomerIn | None = None
    fulfilment: FulfilmentIn | None = None
    shipping: Decimal = Decimal("0")
    agent_id: str | None = Field(None, max_length=100, description="phone orders")
    credited_to: str | None = Field(None, max_length=200, description="shop-in-shop retailer")
    customer_group: str | None = Field(None, max_length=100, description="B2B price tiers")


class OrderLineOut(BaseModel):
    """A priced line with its progress."""

    id: str
    sku: str
    title: str
    brand: str | None
    quantity: int
    unit_price: str
    line_total: str
    shipped: int
    returned: int
    reservation_id: str | None


class AllocationOut(BaseModel):
    """Units of a line held at a location."""

    line_id: str
    sku: str
    location_id: str
    quantity: int
    shipped: int


class ShipmentOut(BaseModel):
    """A parcel."""

    id: str
    order_id: str
    location_id: str
    carrier: str
    tracking_number: str | None
    status: ShipmentStatus
    lines: list[dict[str, Any]]
    created_at: str
    updated_at: str


class OrderOut(BaseModel):
    """An order with lines, allocations and shipments; money as decimal strings."""

    id: str
    channel_id: str
    channel_kind: str
    status: str
    currency: str
    subtotal: str
    shipping: str
    total: str
    refunded: str
    fulfilment: str
    pickup_location_id: str | None
    shipping_address: dict[str, Any] | None
    customer_id: str | None
    external_id: str | None
    agent_id: str | None
    credited_to: str | None
    attributed_brand: str | None
    customer_group: str | None
    cancel_reason: str | None
    created_at: str
    lines: list[OrderLineOut]
    allocations: list[AllocationOut]
    shipments: list[ShipmentOut]


class OrderListOut(BaseModel):
    """Orders, newest first."""

    orders: list[OrderOut]


class CancelIn(_In):
    """Why the order is cancelled."""

    reason: str | None = Field(None, max_length=500)


class ReturnLineIn(_In):
    """Units of one line coming back."""

    line_id: str = Field(min_length=1, max_length=40)
    quantity: int


class ReturnIn(_In):
    """A return; without `location_id` goods go back where they shipped from."""

    lines: list[ReturnLineIn] = Field(max_length=200)
    location_id: str | None = Field(None, max_length=40)
    reason: str | None = Field(None, max_length=500)


class ReturnOut(BaseModel):
    """A recorded return and its refund."""

    id: str
    order_id: str
    location_id: str
    refund: str
    currency: str
    lines: list[dict[str, Any]]
    order_status: str


class ShipmentLineIn(_In):
    """Units of one line in a parcel."""

    line_id: str = Field(min_length=1, max_length=40)
    quantity: int


class ShipmentIn(_In):
    """A parcel leaving a location; without `lines` it takes everything open there."""

    carrier: str = Field(min_length=1, max_length=100)
    tracking_number: str | None = Field(None, min_length=1, max_length=200)
    location_id: str | None = Field(None, max_length=40)
    lines: list[ShipmentLineIn] | None = Field(None, max_length=200)


class ShipmentStatusIn(_In):
    """A carrier update."""

    status: Literal["in_transit", "out_for_delivery", "delivered", "failed"]
