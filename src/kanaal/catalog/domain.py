"""Catalog rules: skus, GTIN check digits, variants, listings and B2B quantity tiers."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from kanaal.core.errors import InvalidInput

_SKU = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,63}")
_HANDLE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,118}[a-z0-9])?")
_CURRENCY = re.compile(r"[A-Z]{3}")
GTIN_LENGTHS = frozenset({8, 12, 13, 14})
MAX_AMOUNT = Decimal("9999999999.9999")
MAX_SCALE = 4
MAX_ATTRIBUTES_BYTES = 16_384


class Condition(StrEnum):
    """Item condition as the marketplaces and Google Merchant Center name it."""

    NEW = "new"
    REFURBISHED = "refurbished"
    USED = "used"


@dataclass(frozen=True, slots=True)
class Product:
    """What a shopper thinks of as one product; it has one or more variants."""

    id: str
    handle: str
    title: str
    description: str
    brand: str | None
    attributes: dict[str, Any] = field(default_factory=dict)
    images: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Variant:
    """A sellable, stocked unit identified by its sku."""

    sku: str
    product_id: str
    title: str
    brand: str | None
    gtin: str | None
    cost_price: Decimal
    currency: str
    mpn: str | None = None
    condition: Condition = Condition.NEW
    attributes: dict[str, Any] = field(default_factory=dict)
    images: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Listing:
    """How one variant is offered on one channel."""

    channel_id: str
    sku: str
    title: str
    description: str
    price: Decimal
    currency: str
    published: bool
    url: str | None = None


@dataclass(frozen=True, slots=True)
class PriceTier:
    """Unit price of a sku from `min_quantity` units up, for a customer group (None: everyone)."""

    sku: str
    customer_group: str | None
    min_quantity: int
    unit_price: Decimal


@dataclass(frozen=True, slots=True)
class PriceList:
    """A B2B price list: quantity tiers per customer group, in one currency."""

    id: str
    name: str
    currency: str
    tiers: tuple[PriceTier, ...]


def gtin_is_valid(code: str) -> bool:
    """Whether `code` is a GTIN-8/12/13/14 with a correct GS1 mod-10 check digit."""
    if not code.isascii() or not code.isdigit() or len(code) not in GTIN_LENGTHS:
        return False
    digits = [int(c) for c in code]
    body, check = digits[:-1], digits[-1]
    # Weights alternate 3,1,3,... starting from the digit next to the check digit.
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def gtin_check_digit(body: str) -> str:
    """The check digit that completes `body` (a GTIN without its last digit)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def problem(loc: Iterable[str | int], message: str, code: str) -> dict[str, Any]:
    """One entry of an error's `details`."""
    return {"loc": list(loc), "message": message, "code": code}


def check_sku(sku: str, loc: list[str | int]) -> list[dict[str, Any]]:
    """Problems with a sku: 1-64 letters, digits and . _ / - starting with a letter or digit."""
    if not _SKU.fullmatch(sku):
        return [problem(loc, f"sku {sku!r} must be 1-64 letters, digits, '.', '_', '/' or '-'",
                        "invalid_sku")]
    return []


def check_handle(handle: str, loc: list[str | int]) -> list[dict[str, Any]]:
    """Problems with a product handle (lower-case slug)."""
    if not _HANDLE.fullmatch(handle):
        return [problem(loc, "handle must be 1-120 lower-case letters, digits and hyphens",
                        "invalid_handle")]
    return []


def check_currency(currency: str, loc: list[str | int]) -> list[dict[str, Any]]:
    """Problems with an ISO 4217 code."""
    if not _CURRENCY.fullmatch(currency):
        return [problem(loc, f"{currency!r} is not an ISO 4217 code such as EUR",
                        "invalid_currency")]
    return []


def check_gtin(gtin: str | None, loc: list[str | int]) -> list[dict[str, Any]]:
    """Problems with an optional GTIN."""
    if gtin is not None and not gtin_is_valid(gtin):
        return [problem(loc, f"gtin {gtin!r} is not a GTIN-8/12/13/14 with a valid check digit",
                        "invalid_gtin")]
    return []


def parse_amount(value: object, loc: list[str | int]) -> tuple[Decimal | None,
                                                                list[dict[str, Any]]]:
    """A non-negative amount with at most four decimals, or the problem with it."""
    if isinstance(value, float):
        value = repr(value)
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None, [problem(loc, f"{value!r} is not a number", "invalid_amount")]
    if not amount.is_finite():
        return None, [problem(loc, "must be a finite number", "invalid_amount")]
    if amount < 0:
        return None, [problem(loc, "must not be negative", "negative_amount")]
    if amount > MAX_AMOUNT:
        return None, [problem(loc, f"must be at most {MAX_AMOUNT}", "invalid_amount")]
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_SCALE:
        return None, [problem(loc, "at most four decimals", "invalid_amount")]
    return amount, []


def check_images(images: Iterable[str], loc: list[str | int]) -> list[dict[str, Any]]:
    """Problems with image URLs: each must be an http(s) URL of at most 2,000 characters."""
    return [problem([*loc, index], "an image must be an http(s) URL of at most 2000 characters",
                    "invalid_image")
            for index, url in enumerate(images)
            if not url.startswith(("https://", "http://")) or len(url) > 2000 or " " in url]


def check_attributes(attributes: dict[str, Any], loc: list[str | int]) -> list[dict[str, Any]]:
    """Problems with free-form attributes: they must fit in MAX_ATTRIBUTES_BYTES of JSON."""
    size = len(json.dumps(attributes, ensure_ascii=False, default=str).encode())
    if size > MAX_ATTRIBUTES_BYTES:
        return [problem(loc, f"attributes take {size} bytes, at most {MAX_ATTRIBUTES_BYTES}",
                        "attributes_too_large")]
    return []


def check_variant(variant: Variant, loc: list[str | int]) -> list[dict[str, Any]]:
    """Every problem with a variant's own fields (uniqueness is checked by the service)."""
    problems = check_sku(variant.sku, [*loc, "sku"])
    problems += check_gtin(variant.gtin, [*loc, "gtin"])
    problems += check_currency(variant.currency, [*loc, "currency"])
    _, amount_problems = parse_amount(variant.cost_price, [*loc, "cost_price"])
    problems += amount_problems
    if not variant.title.strip():
        problems.append(problem([*loc, "title"], "must not be blank", "invalid_title"))
    problems += check_images(variant.images, [*loc, "images"])
    problems += check_attributes(variant.attributes, [*loc, "attributes"])
    return problems


def check_tiers(tiers: Iterable[PriceTier]) -> list[dict[str, Any]]:
    """Problems in a price list's tiers: quantities from 1, prices not negative, no duplicates."""
    problems: list[dict[str, Any]] = []
    seen: set[tuple[str, str | None, int]] = set()
    for index, tier in enumerate(tiers):
        loc: list[str | int] = ["tiers", index]
        problems += check_sku(tier.sku, [*loc, "sku"])
        if tier.min_quantity < 1:
            problems.append(problem([*loc, "min_quantity"], "must be 1 or more",
                                    "invalid_quantity"))
        problems += parse_amount(tier.unit_price, [*loc, "unit_price"])[1]
        key = (tier.sku, tier.customer_group, tier.min_quantity)
        if key in seen:
            problems.append(problem(loc, "the same sku, group and min_quantity appear twice",
                                    "duplicate_tier"))
        seen.add(key)
    return problems


def choose_tier(tiers: Iterable[PriceTier], *, sku: str, quantity: int,
                customer_group: str | None) -> PriceTier | None:
    """The tier that prices `quantity` units of `sku` for `customer_group`, if any applies.

    A tier applies when it is for this sku, its min_quantity is reached and it is for the
    customer's group or for everyone. Of those, the lowest unit price wins (then the group's own
    tier, then the higher min_quantity), so a customer is never charged more than a tier offers.
    """
    applicable = [
        t for t in tiers
        if t.sku == sku and t.min_quantity <= quantity
        and (t.customer_group is None or t.customer_group == customer_group)
    ]
    if not applicable:
        return None
    return min(applicable, key=lambda t: (t.unit_price, t.customer_group is None,
                                          -t.min_quantity))


def raise_problems(problems: list[dict[str, Any]], *, default_code: str) -> None:
    """Raise InvalidInput carrying every problem, coded after the first, when there are any."""
    if problems:
        first = problems[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(f"{where}: {first['message']}", code=first.get("code", default_code),
                           details=problems)
