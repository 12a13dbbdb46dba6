"""Orders from every channel through the HTTP API, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from kanaal.core.context import AppContext
from kanaal.customers.service import find_customer_id, recent_events
from kanaal.inventory import service as inventory
from tests.conftest import Keys, bearer
from tests.support.orders import (
    AMSTERDAM_CUSTOMER,
    Retailer,
    build_retailer,
    level,
    order_body,
    snapshot,
)


@pytest.fixture
def shop(ctx: AppContext) -> Retailer:
    return build_retailer(ctx)


def _post(client: TestClient, keys: Keys, body: dict[str, Any], **headers: str) -> Any:
    return client.post("/v1/orders", json=body, headers={**bearer(keys.writer), **headers})


def _timeline(ctx: AppContext, email: str) -> list[dict[str, Any]]:
    with ctx.db.reader() as session:
        customer_id = find_customer_id(session, "email", email)
        assert customer_id is not None
        return recent_events(session, customer_id)


def test_a_webshop_order_is_priced_allocated_and_lands_on_the_customer_timeline(
    ctx: AppContext, client: TestClient, keys: Keys, shop: Retailer
) -> None:
    body = order_body(shop.channel("web"), ("TEE", 2), ("CAP", 1), shipping="4.95",
                      customer={"email": "ann@example.com"},
                      fulfilment={"method": "ship", "address": AMSTERDAM_CUSTOMER})
    response = _post(client, keys, body)
    assert response.status_code == 201, response.text
    order = response.json()
    assert (order["status"], order["subtotal"], order["shipping"], order["total"]) == (
        "allocated", "32.25", "4.95", "37.20")
    assert [(li["sku"], li["quantity"], li["unit_price"], li["line_total"])
            for li in order["lines"]] == [("TEE", 2, "12.50", "25.00"), ("CAP", 1, "7.25", "7.25")]
    assert {(a["sku"], a["location_id"], a["quantity"]) for a in order["allocations"]} == {
        ("TEE", shop.warehouse.id, 2), ("CAP", shop.warehouse.id, 1)}
    assert level(ctx, "TEE", shop.warehouse) == (20, 0, 2)
    events = _timeline(ctx, "ann@example.com")
    assert [e["event"] for e in events] == ["Order Completed"]
    props = events[0]["properties"]
    assert (props["order_id"], props["total"], props["revenue"], props["currency"]) == (
        order["id"], 37.2, 32.25, "EUR")
    assert [(p["sku"], p["quantity"], p["price"]) for p in props["products"]] == [
        ("TEE", 2, 12.5), ("CAP", 1, 7.25)]
    with ctx.db.reader() as session:
        assert order["customer_id"] == find_customer_id(session, "email", "ann@example.com")
    fetched = client.get(f"/v1/orders/{order['id']}", headers=bearer(keys.read)).json()
    assert fetched == order
    listed = client.get("/v1/orders", params={"customer_id": order["customer_id"]},
                        headers=bearer(keys.read)).json()
    assert [o["id"] for o in listed["orders"]] == [order["id"]]


def test_a_checkout_confirms_its_reservation_instead_of_allocating_again(
    ctx: AppContext, client: TestClient, keys: Keys, shop: Retailer
) -> None:
    channel = shop.channel("web")
    with ctx.db.transaction() as session:
        held = inventory.reserve_in(session, ctx, sku="TEE", quantity=3, channel=channel,
                                    ttl_seconds=900, reference="cart-1")
    assert level(ctx, "TEE", shop.warehouse) == (20, 3, 0)
    body = order_body(channel, ("TEE", 3), customer={"anonymous_id": "anon-1"})
    body["lines"][0]["reservation_id"] = held.id
    response = _post(client, keys, body)
    assert response.status_code == 201, response.text
    assert level(ctx, "TEE", shop.warehouse) == (20, 0, 3)
    assert response.json()["lines"][0]["reservation_id"] == held.id
    again = _post(client, keys, {**body, "external_id": "second-try"})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "reservation_confirmed")


def test_a_pos_sale_leaves_the_store_at_once(
    ctx: AppContext, client: TestClient, keys: Keys, shop: Retailer
) -> None:
    body = order_body(shop.channel("pos"), ("MUG", 2),
                      fulfilment={"method": "in_store", "location_id": shop.amsterdam.id})
    response = _post(client, keys, body)
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["status"] == "delivered" and order["customer_id"] is None
    assert [(s["carrier"], s["status"], s["location_id"]) for s in order["shipments"]] == [
        ("in_store", "delivered", shop.amsterdam.id)]
    assert order["lines"][0]["shipped"] == 2
    assert level(ctx, "MUG", shop.amsterdam) == (18, 0, 0)


def test_a_marketplace_reimport_returns_the_same_order_and_different_content_conflicts(
    ctx: AppContext, client: TestClient, keys: Keys, shop: Retailer
) -> None:
    body = order_body(shop.channel("market"), ("TEE", 1), external_id="BOL-1001",
                      customer={"email": "bob@example.com"})
    body["lines"][0]["unit_price"] = "11.99"
    first = _post(client, keys, body)
    assert first.status_code == 201, first.text
    assert first.json()["total"] == "11.99"
    before = snapshot(ctx)
    again = _post(client, keys, body)
    assert again.status_code == 200
    assert again.json() == first.json()
    changed = {**body, "lines": [{"sku": "TEE", "quantity": 2, "unit_price": "11.99"}]}
    clash = _post(client, keys, changed)
    assert (clash.status_code, clash.json()["error"]["code"]) == (409, "duplicate_external_order")
    assert clash.json()["error"]["details"] == [{"order_id": first.json()["id"]}]
    assert snapshot(ctx) == before


def test_a_b2b_order_is_priced_from_its_customer_groups_tiers(
    client: TestClient, keys: Keys, shop: Retailer
) -> None:
    body = order_body(shop.channel("b2b"), ("TEE", 12), ("TEE", 2), customer_group="dealers",
                      customer={"email": "buyer@dealer.example"})
    order = _post(client, keys, body).json()
    assert [li["unit_price"] for li in order["lines"]] == ["7.00", "8.00"]
    assert (order["total"], order["customer_group"]) == ("100.00", "dealers")
    missing = _post(client, keys, order_body(shop.channel("b2b"), ("TEE", 1)))
    assert (missing.status_code, missing.json()["error"]["code"]) == (422,
                                                                      "missing_customer_group")


def test_a_phone_order_records_its_agent_and_shop_in_shop_credits_the_retailer(
    client: TestClient, keys: Keys, shop: Retailer
) -> None:
    phone = _post(client, keys, order_body(shop.channel("phone"), ("CAP", 1), agent_id="agt_7"))
    assert (phone.status_code, phone.json()["agent_id"], phone.json()["channel_kind"]) == (
        201, "agt_7", "phone")
    no_agent = _post(client, keys, order_body(shop.channel("phone"), ("CAP", 1)))
    assert no_agent.json()["error"]["code"] == "missing_agent"
    sis = _post(client, keys, order_body(shop.channel("sis"), ("TEE", 1), ("CAP", 1),
                                         credited_to="MediaMarkt NL"))
    assert (sis.json()["credited_to"], sis.json()["attributed_brand"]) == ("MediaMarkt NL",
                                                                           "Acme")
    no_retailer = _post(client, keys, order_body(shop.channel("sis"), ("TEE", 1)))
    assert no_retailer.json()["error"]["code"] == "missing_retailer"


def test_an_idempotency_key_replays_the_first_answer_and_refuses_another_body(
    ctx: AppContext, client: TestClient, keys: Keys, shop: Retailer
) -> None:
    body = order_body(shop.channel("web"), ("TEE", 1))
    first = _post(client, keys, body, **{"Idempotency-Key": "checkout-42"})
    before = snapshot(ctx)
    again = _post(client, keys, body, **{"Idempotency-Key": "checkout-42"})
    assert (again.status_code, again.json()) == (201, first.json())
    other = _post(client, keys, order_body(shop.channel("web"), ("TEE", 2)),
                  **{"Idempotency-Key": "checkout-42"})
    assert (other.status_code, other.json()["error"]["code"]) == (409, "idempotency_key_reused")
    assert snapshot(ctx) == before


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"lines": [{"sku": "NOPE", "quantity": 1}]}, 422, "unknown_sku"),
        ({"lines": [{"sku": "TEE", "quantity": -1}]}, 422, "invalid_quantity"),
        ({"lines": [{"sku": "TEE", "quantity": 0}]}, 422, "invalid_quantity"),
        ({"lines": []}, 422, "empty_order"),
        ({"currency": "USD"}, 422, "currency_mismatch"),
        ({"lines": [{"sku": "TEE", "quantity": 1}, {"sku": "CAP", "quantity": 61}]}, 409,
         "insufficient_stock"),
        ({"lines": [{"sku": "TEE", "quantity": 1, "unit_price": "1.00"}]}, 422,
         "price_not_accepted"),
        ({"channel": "no-such-channel"}, 404, "unknown_channel"),
        ({"shipping": "-1"}, 422, "invalid_amount"),
        ({"fulfilment": {"method": "in_store", "location_id": "x"}}, 422, "invalid_fulfilment"),
        ({"fulfilment": {"method": "click_and_collect"}}, 422, "location_required"),
        ({"lines": [{"sku": "TEE", "quantity": 1}], "extra": 1}, 422, "validation_error"),
    ],
)
def test_bad_orders_are_refused_with_a_code_and_change_nothing(
    ctx: AppContext, client: TestClient, keys: Keys, shop: Retailer, change: dict[str, Any],
    status: int, code: str,
) -> None:
    body = {**order_body(shop.channel("web"), ("TEE", 1), customer={"email": "c@example.com"}),
            **change}
    before = snapshot(ctx)
    response = _post(client, keys, body)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert snapshot(ctx) == before


def test_more_than_available_names_the_shortage_and_two_lines_of_one_sku_add_up(
    ctx: AppContext, client: TestClient, keys: Keys, shop: Retailer
) -> None:
    before = snapshot(ctx)
    response = _post(client, keys, order_body(shop.channel("web"), ("TEE", 40), ("TEE", 21)))
    assert response.status_code == 409
    assert response.json()["error"]["details"] == [{"sku": "TEE", "requested": 61,
                                                     "available": 60}]
    assert snapshot(ctx) == before


def test_a_listing_priced_in_another_currency_is_a_currency_mismatch(
    ctx: AppContext, client: TestClient, keys: Keys, shop: Retailer
) -> None:
    before = snapshot(ctx)
    response = _post(client, keys, {**order_body(shop.channel("web"), ("TEE", 1)),
                                    "currency": "GBP"})
    assert response.json()["error"]["code"] == "currency_mismatch"
    assert snapshot(ctx) == before


def test_orders_need_a_secret_key(client: TestClient, keys: Keys, shop: Retailer) -> None:
    body = order_body(shop.channel("web"), ("TEE", 1))
    assert client.post("/v1/orders", json=body).status_code == 401
    weak = client.post("/v1/orders", json=body, headers=bearer(keys.read))
    assert weak.status_code == 403
    unknown = client.get("/v1/orders/ord_nope", headers=bearer(keys.read))
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "unknown_order")
