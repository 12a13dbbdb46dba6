"""Channel rules: kinds, handles, currencies, stock locations, allocation, buffer and quota."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from kanaal.core.auth import ChannelKind
from kanaal.core.errors import InvalidInput

# The glossary's sales/contact channel kinds; email, SMS (marketing) and the like are not ones.
SALES_KINDS: frozenset[ChannelKind] = frozenset({
    ChannelKind.WEB, ChannelKind.MOBILE, ChannelKind.STORE, ChannelKind.PHONE, ChannelKind.CHAT,
    ChannelKind.PUBLISHER, ChannelKind.MARKETPLACE, ChannelKind.SOCIAL, ChannelKind.B2B,
    ChannelKind.SHOP_IN_SHOP,
})

_HANDLE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
_CURRENCY = re.compile(r"[A-Z]{3}")
MAX_LOCATIONS = 200


class AllocationStrategy(StrEnum):
    """How an order's lines are routed to the channel's stock locations."""

    PRIORITY = "priority"
    NEAREST = "nearest"
    FEWEST_SPLITS = "fewest_splits"


@dataclass(frozen=True, slots=True)
class Channel:
    """A sales channel instance of one kind, with currency, price list and stock locations."""

    id: str
    handle: str
    name: str
    kind: ChannelKind
    currency: str
    price_list_id: str | None
    location_ids: tuple[str, ...]
    allocation_strategy: AllocationStrategy
    stock_buffer: int = 0
    quota: int | None = None

    def offered(self, available: int) -> int:
        """Units this channel may offer out of `available`: less the buffer, capped by quota."""
        return offered_quantity(available, stock_buffer=self.stock_buffer, quota=self.quota)


def offered_quantity(available: int, *, stock_buffer: int, quota: int | None) -> int:
    """`available` less the withheld buffer, never below zero, capped at `quota` when set."""
    offered = max(0, available - stock_buffer)
    return offered if quota is None else min(offered, quota)


def _problem(field: str, message: str) -> dict[str, Any]:
    return {"loc": [field], "message": message}


def check_handle(handle: str) -> list[dict[str, Any]]:
    """Problems with a channel handle (a lower-case slug of 1 to 64 characters)."""
    if not _HANDLE.fullmatch(handle):
        return [_problem("handle", "use 1-64 lower-case letters, digits and inner hyphens")]
    return []


def check_currency(currency: str, field: str = "currency") -> list[dict[str, Any]]:
    """Problems with an ISO 4217 currency code."""
    if not _CURRENCY.fullmatch(currency):
        return [_problem(field, f"{currency!r} is not an ISO 4217 code such as EUR")]
    return []


def parse_kind(kind: str) -> ChannelKind:
    """The sales channel kind named `kind`, or InvalidInput code invalid_channel_kind."""
    try:
        parsed = ChannelKind(kind)
    except ValueError:
        parsed = None
    if parsed is None or parsed not in SALES_KINDS:
        names = ", ".join(sorted(k.value for k in SALES_KINDS))
        raise InvalidInput(f"channel kind {kind!r} is not one of {names}",
                           code="invalid_channel_kind")
    return parsed


def parse_strategy(strategy: str) -> AllocationStrategy:
    """The allocation strategy named `strategy`, or InvalidInput code invalid_strategy."""
    try:
        return AllocationStrategy(strategy)
    except ValueError as exc:
        raise InvalidInput(
            f"allocation strategy {strategy!r} is not priority, nearest or fewest_splits",
            code="invalid_strategy",
        ) from exc


def validate_channel(channel: Channel) -> Channel:
    """Return `channel` when every field obeys the rules, else raise InvalidInput with details."""
    problems = check_handle(channel.handle) + check_currency(channel.currency)
    if not channel.name.strip():
        problems.append(_problem("name", "must not be blank"))
    if channel.kind not in SALES_KINDS:
        problems.append(_problem("kind", f"{channel.kind!r} is not a sales channel kind"))
    if len(set(channel.location_ids)) != len(channel.location_ids):
        problems.append(_problem("location_ids", "a location may appear only once"))
    if len(channel.location_ids) > MAX_LOCATIONS:
        problems.append(_problem("location_ids", f"at most {MAX_LOCATIONS} locations"))
    if any(not loc.strip() for loc in channel.location_ids):
        problems.append(_problem("location_ids", "location ids must not be blank"))
    if channel.stock_buffer < 0:
        problems.append(_problem("stock_buffer", "must be zero or more"))
    if channel.quota is not None and channel.quota < 0:
        problems.append(_problem("quota", "must be zero or more"))
    if problems:
        raise InvalidInput(problems[0]["loc"][0] + ": " + problems[0]["message"],
                           code="invalid_channel", details=problems)
    return channel
