"""Channel profitability over recorded orders and contacts, with catalog cost prices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from kanaal.catalog.service import create_product
from kanaal.collect.service import record_event
from kanaal.core.context import AppContext
from tests.conftest import Keys, bearer

DAY1 = datetime(2026, 1, 5, 9, tzinfo=UTC)


def product(sku: str, quantity: int, price: float) -> dict[str, Any]:
    """A Segment products entry as the orders feature writes it."""
    return {"sku": sku, "product_id": sku, "quantity": quantity, "price": price}


def record_history(ctx: AppContext) -> None:
    """Three customers' orders on web and phone, one in USD, a call and a chat."""
    create_product(ctx, {"handle": "basics", "title": "Basics", "variants": [
        {"sku": "TEE-M", "title": "Tee M", "cost_price": Decimal("8.00"), "currency": "EUR"},
        {"sku": "MUG", "title": "Mug", "cost_price": Decimal("3.00"), "currency": "EUR"}]})
    events = [
        ("c1", "Order Completed", "web", DAY1, {
            "order_id": "o1", "revenue": 40.0, "currency": "EUR",
            "products": [product("TEE-M", 2, 20.0)]}),
        ("c1", "Order Completed", "phone", DAY1 + timedelta(days=1), {
            "order_id": "o2", "revenue": 15.0, "currency": "EUR",
            "products": [product("MUG", 1, 10.0), product("GIFT", 1, 5.0)]}),
        ("c2", "Order Completed", "phone", DAY1 + timedelta(days=1), {
            "order_id": "o3", "revenue": 20.0, "currency": "EUR",
            "products": [product("TEE-M", 1, 20.0)]}),
        ("c3", "Order Completed", "web", DAY1, {
            "order_id": "o4", "revenue": 99.0, "currency": "USD", "products": []}),
        ("c2", "Call Completed", "phone", DAY1 + timedelta(hours=20), {"handle_seconds": 600}),
        ("c3", "Chat Completed", "chat", DAY1 + timedelta(hours=2), {"handle_seconds": 360}),
    ]
    with ctx.db.transaction() as session:
        for index, (customer, name, channel, at, properties) in enumerate(events):
            record_event(session, ctx, event=name, identities={"user_id": customer},
                         properties=properties, channel=channel, source="test",
                         message_id=f"m{index}", timestamp=at)


def test_channel_profitability_by_hand(ctx: AppContext, client: TestClient, keys: Keys) -> None:
    record_history(ctx)
    response = client.get("/v1/analytics/channels?currency=EUR", headers=bearer(keys.read))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["orders_in_other_currencies"], body["lines_without_cost"]) == (1, 1)
    assert body["channels"] == [
        {"channel": "web", "orders": 1, "revenue": "40.00", "margin": "24.00",
         "contact_cost": "0.00", "net_margin": "24.00", "cost_per_order": "0.00",
         "new_customers": 1, "refunded": "0.00"},
        {"channel": "phone", "orders": 2, "revenue": "35.00", "margin": "19.00",
         "contact_cost": "7.50", "net_margin": "11.50", "cost_per_order": "3.75",
         "new_customers": 1, "refunded": "0.00"},
        {"channel": "chat", "orders": 0, "revenue": "0.00", "margin": "0.00",
         "contact_cost": "1.50", "net_margin": "-1.50", "cost_per_order": None,
         "new_customers": 0, "refunded": "0.00"},
    ]


def test_a_window_counts_only_its_orders_but_knows_earlier_customers(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    record_history(ctx)
    since = (DAY1 + timedelta(hours=12)).isoformat().replace("+00:00", "Z")
    body = client.get(f"/v1/analytics/channels?since={since}", headers=bearer(keys.read)).json()
    # Only day-2 orders and the call count; c1 bought on day 1, so only c2 is new.
    assert [(c["channel"], c["orders"], c["new_customers"], c["contact_cost"])
            for c in body["channels"]] == [("phone", 2, 1, "7.50")]
    bad = client.get("/v1/analytics/channels?currency=eur", headers=bearer(keys.read))
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_currency")


def test_refunds_come_off_revenue_and_margin_and_cancelled_orders_do_not_count(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    record_history(ctx)
    later = DAY1 + timedelta(days=2)
    events = [
        # One of c1's two tees comes back: 20.00 refunded, the tee (cost 8.00) back on hand.
        ("c1", "Order Refunded", "web", {"order_id": "o1", "total": 20.0, "currency": "EUR",
                                         "products": [product("TEE-M", 1, 20.0)]}),
        ("c2", "Order Cancelled", "phone", {"order_id": "o3", "total": 20.0, "currency": "EUR",
                                            "products": [product("TEE-M", 1, 20.0)]}),
        ("c3", "Order Refunded", "web", {"order_id": "o4", "total": 99.0, "currency": "USD",
                                         "products": []}),
    ]
    with ctx.db.transaction() as session:
        for index, (customer, name, channel, properties) in enumerate(events):
            record_event(session, ctx, event=name, identities={"user_id": customer},
                         properties=properties, channel=channel, source="test",
                         message_id=f"later{index}", timestamp=later)
    body = client.get("/v1/analytics/channels", headers=bearer(keys.read)).json()
    assert (body["orders_in_other_currencies"], body["lines_without_cost"]) == (1, 1)
    assert body["channels"] == [
        # 40.00 - 20.00 refunded; margin 24.00 - (20.00 - 8.00).
        {"channel": "web", "orders": 1, "revenue": "20.00", "margin": "12.00",
         "contact_cost": "0.00", "net_margin": "12.00", "cost_per_order": "0.00",
         "new_customers": 1, "refunded": "20.00"},
        # o3 was cancelled: only o2 (15.00, margin 15 - 3 - 5 without a known cost) is left,
        # and it was c1's second order, so no new customer on the phone.
        {"channel": "phone", "orders": 1, "revenue": "15.00", "margin": "7.00",
         "contact_cost": "7.50", "net_margin": "-0.50", "cost_per_order": "7.50",
         "new_customers": 0, "refunded": "0.00"},
        {"channel": "chat", "orders": 0, "revenue": "0.00", "margin": "0.00",
         "contact_cost": "1.50", "net_margin": "-1.50", "cost_per_order": None,
         "new_customers": 0, "refunded": "0.00"},
    ]
    before = (DAY1 + timedelta(days=1, hours=12)).isoformat().replace("+00:00", "Z")
    earlier = client.get("/v1/analytics/channels", params={"until": before},
                         headers=bearer(keys.read)).json()
    assert [(c["channel"], c["orders"], c["revenue"], c["refunded"])
            for c in earlier["channels"]] == [("web", 1, "40.00", "0.00"),
                                              ("phone", 2, "35.00", "0.00"),
                                              ("chat", 0, "0.00", "0.00")]
