"""The mobile product page shows the store, the price and the engine's action, escaped."""

from __future__ import annotations

from typing import Any

from kanaal.inventory.domain import Location, LocationKind
from kanaal.stores.pages import render_product


def page(scan: dict[str, Any] | None) -> dict[str, Any]:
    return {"sku": "TV-55", "title": "OLED <65>", "variant_title": "TV", "description": "Big",
            "brand": "Vision", "image": None, "price": ("1299.00", "EUR"), "scan": scan,
            "store": Location("loc_1", "Store Amsterdam", LocationKind.STORE, None, None, "")}


def test_an_offer_shows_its_code_for_the_till() -> None:
    html = render_product(page({"action": "offer", "action_message": "10% off today",
                                "offer_code": "K7PQ2M"}))
    assert "We match our online price for you in this store." in html
    assert '<code class="offer-code">K7PQ2M</code>' in html
    assert "<span>10% off today</span>" in html


def test_no_action_section_without_an_action_and_titles_are_escaped() -> None:
    html = render_product(page({"action": "none", "action_message": None, "offer_code": None}))
    assert "data-action" not in html
    assert "<h1 data-sku=\"TV-55\">OLED &lt;65&gt;</h1>" in html
    assert '<p class="price">EUR 1299.00</p>' in html
    assert render_product(page(None)).count("data-action") == 0
