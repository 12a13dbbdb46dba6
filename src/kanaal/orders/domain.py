"""Orders: the aggregate, its status lifecycle, totals, shipments and returns. Pure rules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from kanaal.core.errors import Conflict, InvalidInput
from kanaal.core.money import quantize

MAX_LINES = 200
MAX_LINE_QUANTITY = 10_000
# The money columns hold 12 digits before the point; unit prices carry at most 4 decimals.
MAX_AMOUNT = Decimal("999999999999.99")
UNIT_PRICE_PLACES = 4


class OrderStatus(StrEnum):
    """Where an order is in its life."""

    PLACED = "placed"
    ALLOCATED = "allocated"
    PARTIALLY_FULFILLED = "partially_fulfilled"
    FULFILLED = "fulfilled"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    RETURNED = "returned"


S = OrderStatus
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PLACED: frozenset({S.ALLOCATED, S.CANCELLED}),
    S.ALLOCATED: frozenset({S.PARTIALLY_FULFILLED, S.FULFILLED, S.CANCELLED}),
    S.PARTIALLY_FULFILLED: frozenset({S.PARTIALLY_FULFILLED, S.FULFILLED}),
    S.FULFILLED: frozenset({S.DELIVERED, S.RETURNED}),
    S.DELIVERED: frozenset({S.RETURNED}),
    S.CANCELLED: frozenset(),
    S.RETURNED: frozenset(),
}
TERMINAL = frozenset(s for s, nexts in TRANSITIONS.items() if not nexts)
CANCELLABLE = frozenset({S.PLACED, S.ALLOCATED})
RETURNABLE = frozenset({S.PARTIALLY_FULFILLED, S.FULFILLED, S.DELIVERED})


def can_transition(current: OrderStatus, target: OrderStatus) -> bool:
    """Whether the lifecycle allows `current` → `target`."""
    return target in TRANSITIONS[current]


def ensure_transition(current: OrderStatus, target: OrderStatus) -> None:
    """Raise Conflict `invalid_status_transition` unless `current` → `target` is allowed."""
    if not can_transition(current, target):
        raise Conflict(
            f"an order that is {current.value} cannot become {target.value}",
            code="invalid_status_transition",
            details=[{"status": current.value, "requested": target.value}],
        )


class ShipmentStatus(StrEnum):
    """A parcel's journey, as the carrier reports it."""

    SHIPPED = "shipped"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    FAILED = "failed"


_SH = ShipmentStatus
SHIPMENT_TRANSITIONS: dict[ShipmentStatus, frozenset[ShipmentStatus]] = {
    _SH.SHIPPED: frozenset({_SH.IN_TRANSIT, _SH.OUT_FOR_DELIVERY, _SH.DELIVERED, _SH.FAILED}),
    _SH.IN_TRANSIT: frozenset({_SH.IN_TRANSIT, _SH.OUT_FOR_DELIVERY, _SH.DELIVERED, _SH.FAILED}),
    _SH.OUT_FOR_DELIVERY: frozenset({_SH.IN_TRANSIT, _SH.DELIVERED, _SH.FAILED}),
    _SH.FAILED: frozenset({_SH.IN_TRANSIT, _SH.OUT_FOR_DELIVERY, _SH.DELIVERED}),
    _SH.DELIVERED: frozenset(),
}


def ensure_shipment_transition(current: ShipmentStatus, target: ShipmentStatus) -> None:
    """Raise Conflict `invalid_shipment_transition` unless the carrier update is allowed."""
    if target not in SHIPMENT_TRANSITIONS[current]:
        raise Conflict(
            f"a shipment that is {current.value} cannot become {target.value}",
            code="invalid_shipment_transition",
            details=[{"status": current.value, "requested": target.value}],
        )


class Fulfilment(StrEnum):
    """How the goods reach the customer."""

    SHIP = "ship"
    CLICK_AND_COLLECT = "click_and_collect"
    IN_STORE = "in_store"  # POS sale: handed over at the counter


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One priced line; `shipped` and `returned` count units so far."""

    id: str
    sku: str
    quantity: int
    unit_price: Decimal
    title: str = ""
    brand: str | None = None
    unit_cost: Decimal | None = None
    reservation_id: str | None = None
    shipped: int = 0
    returned: int = 0

    @property
    def line_total(self) -> Decimal:
        """Unit price times quantity, rounded to cents."""
        return quantize(self.unit_price * self.quantity)


@dataclass(frozen=True, slots=True)
class Totals:
    """An order's money: revenue is the goods only; total adds shipping."""

    subtotal: Decimal
    shipping: Decimal
    total: Decimal


def order_totals(lines: Iterable[OrderLine], shipping: Decimal = Decimal("0")) -> Totals:
    """Sum the lines (each rounded to cents) and add shipping."""
    if shipping < 0:
        raise InvalidInput("shipping must not be negative", code="invalid_amount")
    subtotal = quantize(sum((line.line_total for line in lines), Decimal("0")))
    shipping = quantize(shipping)
    total = subtotal + shipping
    if total > MAX_AMOUNT:
        raise InvalidInput(f"an order total is at most {MAX_AMOUNT}", code="amount_too_large")
    return Totals(subtotal=subtotal, shipping=shipping, total=total)


def check_unit_price(price: Decimal, *, where: str) -> None:
    """A unit price is 0 or more, below MAX_AMOUNT, with at most 4 decimals."""
    exponent = price.as_tuple().exponent
    if price < 0 or price > MAX_AMOUNT or (isinstance(exponent, int)
                                           and exponent < -UNIT_PRICE_PLACES):
        raise InvalidInput(
            f"{where}: a unit price is 0 to {MAX_AMOUNT} with at most "
            f"{UNIT_PRICE_PLACES} decimals", code="invalid_amount",
            details=[{"loc": [where, "unit_price"], "value": str(price)}])


@dataclass(frozen=True, slots=True)
class AllocationState:
    """Units of one line held at one location, and how many of them have shipped."""

    line_id: str
    sku: str
    location_id: str
    quantity: int
    shipped: int = 0

    @property
    def open(self) -> int:
        """Units still waiting to ship."""
        return self.quantity - self.shipped


@dataclass(frozen=True, slots=True)
class Order:
    """An order from any channel."""

    id: str
    channel_id: str
    channel_kind: str
    status: OrderStatus
    currency: str
    lines: tuple[OrderLine, ...]
    totals: Totals
    created_at: datetime
    fulfilment: Fulfilment = Fulfilment.SHIP
    customer_id: str | None = None
    external_id: str | None = None
    agent_id: str | None = None
    credited_to: str | None = None
    attributed_brand: str | None = None
    customer_group: str | None = None
    pickup_location_id: str | None = None
    shipping_address: Mapping[str, Any] | None = None
    allocations: tuple[AllocationState, ...] = field(default_factory=tuple)

    def line(self, line_id: str) -> OrderLine:
        """The line with this id; InvalidInput `unknown_line` otherwise."""
        for line in self.lines:
            if line.id == line_id:
                return line
        raise InvalidInput(f"order {self.id} has no line {line_id!r}", code="unknown_line")


def validate_quantity(quantity: int, *, where: str) -> None:
    """Quantities are whole units from 1 to MAX_LINE_QUANTITY."""
    if not 1 <= quantity <= MAX_LINE_QUANTITY:
        raise InvalidInput(
            f"{where}: quantity must be between 1 and {MAX_LINE_QUANTITY}",
            code="invalid_quantity",
            details=[{"loc": [where, "quantity"], "value": quantity}],
        )


def _missing(field: str, message: str, code: str) -> InvalidInput:
    return InvalidInput(message, code=code, details=[{"loc": ["body", field]}])


def check_channel_fields(
    kind: str, *, method: Fulfilment, external_id: str | None, agent_id: str | None,
    credited_to: str | None, customer_group: str | None,
) -> None:
    """What each channel kind must say about an order (InvalidInput with a stable code)."""
    if kind == "marketplace" and not external_id:
        raise _missing("external_id", "a marketplace import needs the marketplace's order id",
                       "missing_external_id")
    if kind == "phone" and not agent_id:
        raise _missing("agent_id", "a phone order records the agent who took it",
                       "missing_agent")
    if kind == "shop_in_shop" and not credited_to:
        raise _missing("credited_to", "a shop-in-shop order is credited to a retailer",
                       "missing_retailer")
    if kind == "b2b" and not customer_group:
        raise _missing("customer_group", "a B2B order is priced for a customer group",
                       "missing_customer_group")
    if method is Fulfilment.IN_STORE and kind != "store":
        raise _missing("fulfilment", "only a store channel sells over the counter",
                       "invalid_fulfilment")


def attributed_brand(brands: Sequence[str | None]) -> str | None:
    """The single brand all lines share (shop-in-shop attribution), else None."""
    distinct = {b for b in brands if b}
    return distinct.pop() if len(distinct) == 1 and all(brands) else None


def status_after_shipping(lines: Iterable[OrderLine]) -> OrderStatus:
    """Allocated, partially fulfilled or fulfilled, from shipped units per line."""
    lines = tuple(lines)
    if all(line.shipped >= line.quantity for line in lines):
        return S.FULFILLED
    if any(line.shipped > 0 for line in lines):
        return S.PARTIALLY_FULFILLED
    return S.ALLOCATED


def plan_shipment(
    allocations: Sequence[AllocationState],
    requested: Mapping[str, int] | None,
    location_id: str | None,
) -> tuple[str, list[tuple[AllocationState, int]]]:
    """Pick the open allocations a shipment takes; returns (location_id, [(allocation, n)]).

    `requested` maps line id → units (None ships everything open at the location). Without
    `location_id` the lines' open units must all sit at one location.
    """
    open_allocs = [a for a in allocations if a.open > 0]
    if not open_allocs:
        raise Conflict("nothing is left to ship on this order", code="nothing_to_ship")
    wanted_lines = set(requested) if requested is not None else {a.line_id for a in open_allocs}
    if location_id is None:
        places = {a.location_id for a in open_allocs if a.line_id in wanted_lines}
        if len(places) != 1:
            raise InvalidInput(
                "these lines wait at several locations; say which one ships",
                code="location_required",
                details=[{"locations": sorted(places)}],
            )
        location_id = places.pop()
    here = [a for a in open_allocs if a.location_id == location_id]
    if not here:
        raise Conflict(f"nothing waits to ship at {location_id}", code="nothing_to_ship")
    if requested is None:
        return location_id, [(a, a.open) for a in here]
    taken: list[tuple[AllocationState, int]] = []
    for line_id, units in requested.items():
        validate_quantity(units, where=f"line {line_id}")
        available = sum(a.open for a in here if a.line_id == line_id)
        if units > available:
            raise Conflict(
                f"line {line_id} has {available} unit(s) waiting at {location_id}, not {units}",
                code="exceeds_open_quantity",
                details=[{"line_id": line_id, "requested": units, "open": available}],
            )
        left = units
        for alloc in (a for a in here if a.line_id == line_id):
            take = min(left, alloc.open)
            if take:
                taken.append((alloc, take))
                left -= take
    return location_id, taken


def plan_return(order: Order, requested: Mapping[str, int]) -> Decimal:
    """Check a return against shipped-but-not-returned units; returns the refund amount."""
    if order.status not in RETURNABLE:
        raise Conflict(
            f"an order that is {order.status.value} cannot take a return",
            code="order_not_returnable",
        )
    if not requested:
        raise InvalidInput("a return needs at least one line", code="empty_return")
    refund = Decimal("0")
    for line_id, units in requested.items():
        line = order.line(line_id)
        validate_quantity(units, where=f"line {line_id}")
        returnable = line.shipped - line.returned
        if units > returnable:
            raise Conflict(
                f"line {line_id} has {returnable} returnable unit(s), not {units}",
                code="exceeds_returnable_quantity",
                details=[{"line_id": line_id, "requested": units, "returnable": returnable}],
            )
        refund += quantize(line.unit_price * units)
    return quantize(refund)


def fully_returned(lines: Iterable[OrderLine]) -> bool:
    """Every ordered unit came back."""
    return all(line.returned >= line.quantity for line in lines)


def segment_products(lines: Iterable[OrderLine], units: Mapping[str, int] | None = None) -> list[
    dict[str, Any]
]:
    """Segment e-commerce `products` (sku, quantity, price), optionally for some units only."""
    products = []
    for line in lines:
        quantity = line.quantity if units is None else units.get(line.id, 0)
        if quantity <= 0:
            continue
        product: dict[str, Any] = {
            "product_id": line.sku,
            "sku": line.sku,
            "name": line.title,
            "quantity": quantity,
            "price": float(line.unit_price),
        }
        if line.brand:
            product["brand"] = line.brand
        products.append(product)
    return products


def order_completed_properties(order: Order) -> dict[str, Any]:
    """Segment "Order Completed" properties."""
    return {
        "order_id": order.id,
        "total": float(order.totals.total),
        "revenue": float(order.totals.subtotal),
        "shipping": float(order.totals.shipping),
        "currency": order.currency,
        "products": segment_products(order.lines),
        "channel_id": order.channel_id,
    }
