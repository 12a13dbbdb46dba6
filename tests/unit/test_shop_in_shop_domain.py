"""Pure rules of the shop-in-shop: handles, colours, assortment and the two-party report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from kanaal.core.errors import InvalidInput, NotFound
from kanaal.shop_in_shop.domain import (
    Brand,
    OrderTotals,
    brand_report,
    brand_skill,
    check_colour,
    check_handle,
    check_in_assortment,
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
BRAND = Brand("sis_1", "volta", "Volta", "MediaMarkt", "ch_1", "volta-q", None, "#000000",
              "#ffffff", "Hi", "Copy", ("W", "C"), T0)


def order(id: str, customer: str | None, total: str, *, at: str = "2026-01-05T10:00:00+00:00",
          credited: str = "MediaMarkt", brand: str | None = "Volta",
          status: str = "confirmed") -> dict[str, object]:
    return {"id": id, "customer_id": customer, "total": total, "credited_to": credited,
            "attributed_brand": brand, "status": status, "created_at": at, "currency": "EUR"}


def test_rules_of_handles_colours_and_skills() -> None:
    assert brand_skill("volta") == "brand:volta"
    assert check_handle("volta-2") == "volta-2"
    assert check_colour("#0A3D62", "primary_colour") == "#0a3d62"
    for bad in ("Volta", "", "-volta", "vol ta"):
        with pytest.raises(InvalidInput):
            check_handle(bad)
    for colour in ("red", "#fff", "#12345g", "#1234567", "0a3d62"):
        with pytest.raises(InvalidInput):
            check_colour(colour, "accent_colour")


def test_only_the_brands_assortment_is_sold() -> None:
    assert check_in_assortment(BRAND, "W") == "W"
    with pytest.raises(NotFound) as refused:
        check_in_assortment(BRAND, "Z")
    assert refused.value.code == "not_in_assortment"


def test_the_report_counts_orders_credited_to_the_retailer_and_attributed_to_the_brand() -> None:
    questions = [{"customer_id": "c1", "asked_at": T0}, {"customer_id": "c2", "asked_at": T0},
                 {"customer_id": "c1", "asked_at": T0}]
    totals = OrderTotals(
        by_currency=(("EUR", 3, Decimal("1038")),),
        latest_order_of={"c1": T0 + timedelta(hours=1),
                         "c2": T0 - timedelta(hours=1)})  # ordered before asking
    recent = [order("o1", "c1", "899.00"),
              order("o2", "c2", "10.00", at="2026-01-05T08:00:00+00:00"),
              order("o3", None, "129.00"),
              order("o4", "c3", "50.00", brand=None),  # mixed-brand basket
              order("o5", "c3", "70.00", credited="Other shop"),
              order("o6", "c1", "30.00", status="cancelled")]
    report = brand_report(BRAND, questions=questions, totals=totals, recent_orders=recent)
    assert report["brand_view"] == {"contacts": 3, "conversions": 1, "orders_attributed": 3,
                                    "revenue_attributed": "1038.00"}
    assert report["retailer_view"] == {"orders_credited": 3, "revenue_credited": "1038.00",
                                       "presales_contacts_by_brand": 3}
    assert [o["id"] for o in report["orders"]] == ["o1", "o2", "o3"]
    assert (report["currency"], report["revenue_by_currency"]) == ("EUR", {"EUR": "1038.00"})


def test_revenue_is_in_the_currency_with_the_most_orders() -> None:
    totals = OrderTotals(by_currency=(("EUR", 5, Decimal("500.00")), ("GBP", 2, Decimal("80"))),
                         latest_order_of={})
    report = brand_report(BRAND, questions=[], totals=totals, recent_orders=[])
    assert (report["currency"], report["brand_view"]["orders_attributed"],
            report["brand_view"]["revenue_attributed"]) == ("EUR", 7, "500.00")
    assert report["revenue_by_currency"] == {"EUR": "500.00", "GBP": "80.00"}


def test_an_empty_section_reports_zeroes() -> None:
    report = brand_report(BRAND, questions=[], totals=OrderTotals((), {}), recent_orders=[])
    assert report["brand_view"]["revenue_attributed"] == "0"
    assert report["currency"] is None
