"""Pure rules of the shop-in-shop: brand handles, colours, skills and the two-party report."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from kanaal.core.errors import InvalidInput, NotFound

HANDLE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")
COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True, slots=True)
class Brand:
    """A manufacturer's section in a retailer's site."""

    id: str
    handle: str
    name: str
    retailer: str
    channel_id: str
    question_queue: str
    logo_url: str | None
    primary_colour: str
    accent_colour: str
    headline: str
    copy_text: str
    skus: tuple[str, ...]
    created_at: datetime


def brand_skill(handle: str) -> str:
    """The contact-center skill of the brand's own agents."""
    return f"brand:{handle}"


def check_handle(handle: str) -> str:
    """A brand handle: lower-case letters, digits and dashes (it is part of the page URL)."""
    if not HANDLE_RE.match(handle):
        raise InvalidInput("handle: 1-60 lower-case letters, digits or dashes",
                           code="invalid_handle")
    return handle


def check_colour(value: str, field: str) -> str:
    """A #rrggbb colour (it goes into the page's stylesheet)."""
    if not COLOUR_RE.match(value):
        raise InvalidInput(f"{field} must be a colour like #12ab34", code="invalid_colour")
    return value.lower()


def check_in_assortment(brand: Brand, sku: str) -> str:
    """Only the brand's own assortment is sold in its section."""
    if sku not in brand.skus:
        raise NotFound(f"{sku} is not in {brand.name}'s assortment", code="not_in_assortment")
    return sku


@dataclass(frozen=True, slots=True)
class OrderTotals:
    """The section's orders credited to the retailer and attributed to the brand, in a period:
    count and revenue per currency, and each customer's latest order time."""

    by_currency: tuple[tuple[str, int, Decimal], ...]
    latest_order_of: dict[str, datetime]


def is_ours(brand: Brand, order: dict[str, Any]) -> bool:
    """An order credited to the brand's retailer, attributed to the brand, not cancelled."""
    return (order["credited_to"] == brand.retailer
            and (order["attributed_brand"] or "").lower() == brand.name.lower()
            and order["status"] != "cancelled")


def brand_report(brand: Brand, *, questions: list[dict[str, Any]], totals: OrderTotals,
                 recent_orders: list[dict[str, Any]]) -> dict[str, Any]:
    """Contacts, conversions and revenue for the brand and the retailer.

    `totals` cover every order of the period; `recent_orders` (the newest ones) are only
    listed. A question converts when its customer ordered at or after first asking. Revenue is
    in the currency with the most orders; `revenue_by_currency` has every currency.
    """
    orders = sum(n for _, n, _ in totals.by_currency)
    main = max(totals.by_currency, key=lambda row: (row[1], row[0]), default=None)
    currency = None if main is None else main[0]
    revenue = Decimal("0") if main is None else main[2].quantize(Decimal("0.01"))
    by_currency = {cur: str(total.quantize(Decimal("0.01")))
                   for cur, _, total in totals.by_currency}
    asked: dict[str, datetime] = {}
    for q in questions:
        if q["customer_id"] and q["customer_id"] not in asked:
            asked[q["customer_id"]] = q["asked_at"]
    converted = [c for c, first in asked.items()
                 if c in totals.latest_order_of and totals.latest_order_of[c] >= first]
    return {
        "brand": brand.handle, "retailer": brand.retailer, "currency": currency,
        "brand_view": {"contacts": len(questions), "conversions": len(converted),
                       "orders_attributed": orders, "revenue_attributed": str(revenue)},
        "retailer_view": {"orders_credited": orders, "revenue_credited": str(revenue),
                          "presales_contacts_by_brand": len(questions)},
        "revenue_by_currency": by_currency,
        "orders": [{"id": o["id"], "total": o["total"], "customer_id": o["customer_id"],
                    "credited_to": o["credited_to"], "attributed_brand": o["attributed_brand"]}
                   for o in recent_orders if is_ours(brand, o)],
    }
