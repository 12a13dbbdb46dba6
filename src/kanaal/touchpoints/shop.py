"""The demo shop's catalogue: a few products in two categories (demo data, not the catalog)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class DemoProduct:
    """A product on the demo shop's shelves."""

    sku: str
    name: str
    category: str
    price: Decimal
    blurb: str


CATEGORIES = {"espresso": "Espresso machines", "tv": "Televisions"}
CURRENCY = "EUR"
PRODUCTS = (
    DemoProduct("BARISTA-PRO", "Barista Pro espresso machine", "espresso", Decimal("649.00"),
                "Dual boiler, PID temperature control and a steam wand for latte art."),
    DemoProduct("CAFE-MINI", "Café Mini espresso machine", "espresso", Decimal("129.00"),
                "A compact pump machine for one or two cups a day."),
    DemoProduct("MILK-JUG", "Milk jug 600 ml", "espresso", Decimal("19.95"),
                "Stainless steel, with a sharp spout for pouring."),
    DemoProduct("TV-OLED-65", "OLED television 65 inch", "tv", Decimal("1899.00"),
                "Deep blacks, 120 Hz and four HDMI 2.1 ports."),
    DemoProduct("TV-LED-43", "LED television 43 inch", "tv", Decimal("349.00"),
                "A bright everyday screen for the kitchen or bedroom."),
)
BY_SKU = {p.sku: p for p in PRODUCTS}


def in_category(category: str) -> list[DemoProduct]:
    """The products of one category, in shelf order."""
    return [p for p in PRODUCTS if p.category == category]
