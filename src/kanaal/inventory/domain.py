"""Inventory rules: locations, the stock ledger per (sku, location), availability, reservations.

Pure code: no database, no web framework. The store applies the same rules in SQL (conditional
UPDATEs under row locks) and a database CHECK constraint guards the invariants a last time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from kanaal.core.errors import Conflict, InvalidInput

MAX_QUANTITY = 1_000_000_000
MIN_TTL_SECONDS = 1
MAX_TTL_SECONDS = 7 * 24 * 3600
_SKU = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,99}")


class LocationKind(StrEnum):
    """Where stock is kept."""

    WAREHOUSE = "warehouse"
    STORE = "store"
    THREE_PL = "3pl"


class MovementReason(StrEnum):
    """Why a ledger row changed; every change appends one movement with one of these."""

    RECEIPT = "receipt"
    SALE = "sale"
    RETURN = "return"
    ADJUSTMENT = "adjustment"
    TRANSFER = "transfer"
    COUNT = "count"
    RESERVATION = "reservation"
    RELEASE = "release"
    EXPIRY = "expiry"
    ALLOCATION = "allocation"
    DEALLOCATION = "deallocation"
    SETTING = "setting"  # safety stock or incoming changed; on hand untouched


class ReservationStatus(StrEnum):
    """A reservation is active until it is confirmed, released or expires."""

    ACTIVE = "active"
    CONFIRMED = "confirmed"
    RELEASED = "released"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Location:
    """A warehouse, store or 3PL site that holds stock."""

    id: str
    name: str
    kind: LocationKind
    latitude: float | None
    longitude: float | None
    address: str


class StockChannel(Protocol):
    """What inventory needs of a channel (kanaal.channels.domain.Channel satisfies it)."""

    @property
    def id(self) -> str: ...
    @property
    def location_ids(self) -> tuple[str, ...]: ...
    @property
    def stock_buffer(self) -> int: ...
    @property
    def quota(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class StockLevel:
    """One ledger row: the counts of one sku at one location."""

    sku: str
    location_id: str
    on_hand: int = 0
    reserved: int = 0
    allocated: int = 0
    incoming: int = 0
    safety_stock: int = 0

    @property
    def free(self) -> int:
        """Units not reserved or allocated, before safety stock (may be negative)."""
        return self.on_hand - self.reserved - self.allocated - self.safety_stock

    @property
    def available(self) -> int:
        """Units that can still be promised from this location (never below zero)."""
        return max(0, self.free)

    def problems(self) -> list[str]:
        """Broken invariants (empty for a valid row); mirrors the database CHECK constraint."""
        found = []
        for name in ("on_hand", "reserved", "allocated", "incoming", "safety_stock"):
            if getattr(self, name) < 0:
                found.append(f"{name} < 0")
        if self.reserved + self.allocated > self.on_hand:
            found.append("reserved + allocated > on_hand")
        return found

    def changed(self, **deltas: int) -> StockLevel:
        """A copy with the given counts moved by the deltas; Conflict if it breaks a rule."""
        moved = replace(self, **{k: getattr(self, k) + v for k, v in deltas.items()})
        if moved.problems():
            raise Conflict(
                f"not enough stock of {self.sku!r} at {self.location_id!r}",
                code="insufficient_stock",
                details=[{"sku": self.sku, "location_id": self.location_id,
                          "available": self.available}],
            )
        return moved


@dataclass(frozen=True, slots=True)
class ReservationLine:
    """The part of a reservation drawn from one location."""

    location_id: str
    quantity: int


@dataclass(frozen=True, slots=True)
class Reservation:
    """Stock held for a cart or checkout until it is confirmed, released or expires."""

    id: str
    sku: str
    quantity: int
    channel_id: str
    status: ReservationStatus
    lines: tuple[ReservationLine, ...]
    reference: str | None
    order_id: str | None
    expires_at: datetime
    created_at: datetime
    closed_at: datetime | None


def offered(available: int, *, stock_buffer: int, quota: int | None) -> int:
    """Units a channel may offer: less its buffer (never below zero), capped by its quota."""
    units = max(0, available - max(0, stock_buffer))
    return units if quota is None else min(units, max(0, quota))


def channel_availability(levels: Iterable[StockLevel], channel: StockChannel) -> int:
    """Sum of per-location availability over the channel's locations, less buffer, capped."""
    wanted = set(channel.location_ids)
    total = sum(level.available for level in levels if level.location_id in wanted)
    return offered(total, stock_buffer=channel.stock_buffer, quota=channel.quota)


def plan_reservation(
    levels: Sequence[StockLevel], channel: StockChannel, quantity: int
) -> list[ReservationLine]:
    """Draw `quantity` from the channel's locations in priority order (Conflict if short)."""
    by_location = {level.location_id: level for level in levels}
    if channel_availability(levels, channel) < quantity:
        raise Conflict(
            f"only {channel_availability(levels, channel)} of {quantity} available",
            code="insufficient_stock",
            details=[{"available": channel_availability(levels, channel),
                      "requested": quantity}],
        )
    lines: list[ReservationLine] = []
    remaining = quantity
    for location_id in channel.location_ids:
        level = by_location.get(location_id)
        if level is None or remaining == 0:
            continue
        take = min(level.available, remaining)
        if take > 0:
            lines.append(ReservationLine(location_id, take))
            remaining -= take
    if remaining:  # unreachable while availability >= quantity; kept as a guard
        raise Conflict("not enough stock", code="insufficient_stock")
    return lines


# ---------------------------------------------------------------- input rules


def check_quantity(quantity: Any, field: str = "quantity") -> int:
    """A positive whole number of units, or InvalidInput code invalid_quantity."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not (
        0 < quantity <= MAX_QUANTITY
    ):
        raise InvalidInput(
            f"{field} must be a whole number from 1 to {MAX_QUANTITY}",
            code="invalid_quantity", details=[{"loc": [field], "value": quantity}],
        )
    return quantity


def check_count(value: Any, field: str) -> int:
    """A whole number of units >= 0, or InvalidInput code invalid_quantity."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_QUANTITY:
        raise InvalidInput(
            f"{field} must be a whole number from 0 to {MAX_QUANTITY}",
            code="invalid_quantity", details=[{"loc": [field], "value": value}],
        )
    return value


def check_ttl(ttl_seconds: Any) -> int:
    """A reservation lifetime in seconds (1 second to 7 days)."""
    if isinstance(ttl_seconds, bool) or not isinstance(ttl_seconds, int) or not (
        MIN_TTL_SECONDS <= ttl_seconds <= MAX_TTL_SECONDS
    ):
        raise InvalidInput(
            f"ttl_seconds must be from {MIN_TTL_SECONDS} to {MAX_TTL_SECONDS}",
            code="invalid_ttl", details=[{"loc": ["ttl_seconds"], "value": ttl_seconds}],
        )
    return ttl_seconds


def check_sku(sku: str) -> str:
    """A sku of 1-100 letters, digits and . _ / - (InvalidInput code invalid_sku)."""
    if not _SKU.fullmatch(sku):
        raise InvalidInput(f"{sku!r} is not a valid sku", code="invalid_sku",
                           details=[{"loc": ["sku"]}])
    return sku


def check_location(
    name: str, kind: str, latitude: float | None, longitude: float | None
) -> LocationKind:
    """Validate a location's fields; returns its kind (InvalidInput on any problem)."""
    problems: list[dict[str, Any]] = []
    if not name.strip() or len(name) > 200:
        problems.append({"loc": ["name"], "message": "1 to 200 characters"})
    try:
        parsed = LocationKind(kind)
    except ValueError:
        parsed = LocationKind.WAREHOUSE
        problems.append({"loc": ["kind"], "message": "one of warehouse, store, 3pl"})
    if (latitude is None) != (longitude is None):
        problems.append({"loc": ["latitude"], "message": "give both coordinates or neither"})
    if latitude is not None and not -90 <= latitude <= 90:
        problems.append({"loc": ["latitude"], "message": "from -90 to 90"})
    if longitude is not None and not -180 <= longitude <= 180:
        problems.append({"loc": ["longitude"], "message": "from -180 to 180"})
    if problems:
        raise InvalidInput("invalid location", code="invalid_location", details=problems)
    return parsed

