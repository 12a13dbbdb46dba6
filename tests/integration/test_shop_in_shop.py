"""Shop-in-shop over HTTP: themed page, brand-only routing of questions, orders and report."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from kanaal.contact_center import service as cc
from kanaal.core.clock import ManualClock
from kanaal.core.context import AppContext
from kanaal.inventory import service as inventory
from kanaal.orders.service_fulfilment import cancel_order
from kanaal.orders.store import orders
from kanaal.shop_in_shop import service as shop
from kanaal.shop_in_shop import store
from tests.conftest import Keys, bearer
from tests.support.catalog import list_variant, make_channel, make_variant
from tests.support.inventory import make_location

BRAND: dict[str, Any] = {
    "handle": "volta", "name": "Volta", "retailer": "MediaMarkt", "channel": "mm-volta",
    "question_queue": "volta-questions", "logo_url": "https://cdn.example.com/volta.png",
    "primary_colour": "#0A3D62", "accent_colour": "#F39C12",
    "headline": "Volta home charging", "copy_text": "Charge at home at night, drive all day.",
    "skus": ["VOLTA-WALLBOX", "VOLTA-CABLE"]}


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def agent(ctx: AppContext, name: str, skills: list[str]) -> str:
    made = cc.create_agent(ctx, name=name, email=f"{name.lower()}@example.com",
                           password="correct horse battery", skills=skills)
    cc.set_agent_state(ctx, made.id, "available")
    return made.id


def retailer(ctx: AppContext) -> None:
    """MediaMarkt's Volta section: a shop_in_shop channel, stock, prices and the brand queue."""
    make_variant(ctx, "VOLTA-WALLBOX", cost_price="400.00", brand="Volta")
    make_variant(ctx, "VOLTA-CABLE", cost_price="60.00", brand="Volta")
    make_variant(ctx, "ZAP-WALLBOX", cost_price="300.00", brand="Zap")
    warehouse = make_location(ctx, "MediaMarkt DC")
    channel = make_channel(ctx, "mm-volta", kind="shop_in_shop", location_ids=[warehouse.id])
    for sku, price in (("VOLTA-WALLBOX", "899.00"), ("VOLTA-CABLE", "129.00")):
        inventory.set_stock(ctx, sku=sku, location_id=warehouse.id, on_hand=10)
        list_variant(ctx, channel, sku, price)
    cc.create_queue(ctx, name="volta-questions", skill="brand:volta", channel="callback",
                    handle_time_seconds=300)
    cc.create_queue(ctx, name="zap-questions", skill="brand:zap", channel="callback",
                    handle_time_seconds=300)
    cc.create_queue(ctx, name="sales-callbacks", skill="sales", channel="callback",
                    handle_time_seconds=300)


def create(client: TestClient, keys: Keys, **changes: Any) -> Any:
    return client.post("/v1/shop-in-shop", json={**BRAND, **changes}, headers=bearer(keys.writer))


def count(ctx: AppContext) -> tuple[int, int, int]:
    with ctx.db.reader() as session:
        return (len(store.all_brands(session)), store.count_questions(session),
                int(session.execute(select(func.count()).select_from(orders)).scalar_one()))


def test_the_page_is_themed_with_the_brand_and_lists_its_assortment(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    retailer(ctx)
    created = create(client, keys)
    assert created.status_code == 201, created.text
    assert created.json()["page_url"] == "http://127.0.0.1:8000/shop-in-shop/volta"
    page = client.get("/shop-in-shop/volta")
    assert page.status_code == 200
    assert "--brand-primary:#0a3d62;--brand-accent:#f39c12" in page.text
    assert '<img src="https://cdn.example.com/volta.png" alt="Volta logo">' in page.text
    assert "Official Volta shop at MediaMarkt" in page.text
    assert [sku for sku in ("VOLTA-WALLBOX", "VOLTA-CABLE", "ZAP-WALLBOX")
            if f'data-sku="{sku}"' in page.text] == ["VOLTA-WALLBOX", "VOLTA-CABLE"]
    assert "EUR 899.00" in page.text
    assert page.headers["content-security-policy"] == "frame-ancestors 'self'"


def test_a_question_reaches_a_brand_agent_and_no_other(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    retailer(ctx)
    create(client, keys)
    seller = agent(ctx, "Sam", ["sales"])
    rival = agent(ctx, "Zoe", ["brand:zap"])
    expert = agent(ctx, "Vera", ["brand:volta", "sales"])
    asked = client.post("/v1/shop-in-shop/volta/questions", headers=basic(keys.write), json={
        "question": "Does the wallbox do 22 kW?", "phone": "06 12345678",
        "sku": "VOLTA-WALLBOX"})
    assert asked.status_code == 201, asked.text
    assert asked.json()["queue"] == "volta-questions"
    assert cc.accept_next_callback(ctx, seller) is None
    assert cc.accept_next_callback(ctx, rival) is None
    taken = cc.accept_next_callback(ctx, expert)
    assert taken is not None
    assert (taken.id, taken.phone) == (asked.json()["callback_id"], "+31612345678")
    assert taken.context["question"] == "Does the wallbox do 22 kW?"
    assert (taken.context["brand"], taken.context["sku"]) == ("volta", "VOLTA-WALLBOX")


def test_an_order_is_credited_to_the_retailer_and_attributed_to_the_brand(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    retailer(ctx)
    create(client, keys)
    client.post("/v1/shop-in-shop/volta/questions", headers=basic(keys.write), json={
        "question": "Which cable fits?", "phone": "06 12345678", "anonymousId": "anon-v"})
    placed = client.post("/v1/shop-in-shop/volta/orders", headers=basic(keys.write), json={
        "sku": "VOLTA-WALLBOX", "quantity": 1, "email": "ann@example.com",
        "anonymousId": "anon-v"})
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert (order["channel_kind"], order["credited_to"], order["attributed_brand"]) == (
        "shop_in_shop", "MediaMarkt", "Volta")
    other = client.post("/v1/shop-in-shop/volta/orders", headers=basic(keys.write), json={
        "sku": "VOLTA-CABLE", "quantity": 2, "email": "bob@example.com"})
    assert other.status_code == 201
    report = client.get("/v1/shop-in-shop/volta/report", headers=bearer(keys.read)).json()
    assert report["brand_view"] == {"contacts": 1, "conversions": 1, "orders_attributed": 2,
                                    "revenue_attributed": "1157.00"}
    assert report["retailer_view"] == {"orders_credited": 2, "revenue_credited": "1157.00",
                                       "presales_contacts_by_brand": 1}
    assert {(o["credited_to"], o["attributed_brand"]) for o in report["orders"]} == {
        ("MediaMarkt", "Volta")}


def test_an_unknown_brand_is_refused_everywhere_and_nothing_is_stored(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    retailer(ctx)
    create(client, keys)
    before = count(ctx)
    for response in (
        client.get("/shop-in-shop/nope"),
        client.post("/v1/shop-in-shop/nope/questions", headers=basic(keys.write),
                    json={"question": "Hi?", "phone": "06 12345678"}),
        client.post("/v1/shop-in-shop/nope/orders", headers=basic(keys.write),
                    json={"sku": "VOLTA-CABLE", "quantity": 1, "email": "a@example.com"}),
        client.get("/v1/shop-in-shop/nope/report", headers=bearer(keys.read)),
    ):
        assert (response.status_code, response.json()["error"]["code"]) == (404, "unknown_brand")
    other_brand = client.post("/v1/shop-in-shop/volta/orders", headers=basic(keys.write),
                              json={"sku": "ZAP-WALLBOX", "quantity": 1,
                                    "email": "a@example.com"})
    assert (other_brand.status_code, other_brand.json()["error"]["code"]) == (
        404, "not_in_assortment")
    assert count(ctx) == before == (1, 0, 0)
    assert cc.list_callbacks(ctx) == []


def test_bad_brand_sections_are_refused(ctx: AppContext, client: TestClient, keys: Keys) -> None:
    retailer(ctx)
    make_channel(ctx, "webshop", kind="web")
    cases: list[tuple[dict[str, Any], int, str]] = [
             ({"primary_colour": "#12345g"}, 422, "invalid_colour"),
             ({"channel": "webshop"}, 422, "not_shop_in_shop"),
             ({"question_queue": "sales-callbacks"}, 422, "queue_not_for_brand"),
             ({"skus": ["ZAP-WALLBOX"]}, 422, "sku_of_other_brand"),
             ({"handle": "Volta Brand"}, 422, "invalid_handle")]
    for changes, status, code in cases:
        response = create(client, keys, **changes)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert create(client, keys).status_code == 201
    again = create(client, keys)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "brand_exists")
    assert count(ctx) == (1, 0, 0)


def test_a_retried_order_with_the_same_idempotency_key_places_one_order(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    retailer(ctx)
    create(client, keys)
    body = {"sku": "VOLTA-CABLE", "quantity": 1, "email": "ann@example.com"}
    headers = {**basic(keys.write), "Idempotency-Key": "order-7f3a"}
    first = client.post("/v1/shop-in-shop/volta/orders", headers=headers, json=body)
    again = client.post("/v1/shop-in-shop/volta/orders", headers=headers, json=body)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json()["id"] == again.json()["id"]
    assert count(ctx) == (1, 0, 1)


def test_the_report_sums_every_order_of_the_period_not_just_the_newest(
    ctx: AppContext, client: TestClient, keys: Keys, clock: ManualClock
) -> None:
    retailer(ctx)
    create(client, keys)
    warehouse = inventory.list_locations(ctx)[0].id
    inventory.set_stock(ctx, sku="VOLTA-CABLE", location_id=warehouse, on_hand=500)
    day_one = clock.now()
    placed = [shop.place_order(ctx, "volta", {"sku": "VOLTA-CABLE", "quantity": 1,
                                              "email": f"buyer{n % 7}@example.com"}, None)
              for n in range(120)]
    cancel_order(ctx, placed[0]["id"], reason="changed mind")
    clock.advance(days=1)
    day_two = clock.now()
    for n in range(100):
        shop.place_order(ctx, "volta", {"sku": "VOLTA-CABLE", "quantity": 2 if n < 10 else 1,
                                        "email": f"buyer{n % 7}@example.com"}, None)
    # 219 orders count (one cancelled), though no order list returns more than 200
    everything = client.get("/v1/shop-in-shop/volta/report", headers=bearer(keys.read)).json()
    assert everything["brand_view"]["orders_attributed"] == 219
    assert everything["brand_view"]["revenue_attributed"] == str(
        Decimal("129.00") * (119 + 100 + 10))
    assert everything["retailer_view"]["revenue_credited"] == "29541.00"
    assert everything["revenue_by_currency"] == {"EUR": "29541.00"}
    second = client.get("/v1/shop-in-shop/volta/report", headers=bearer(keys.read),
                        params={"since": day_two.isoformat()}).json()
    assert (second["brand_view"]["orders_attributed"],
            second["brand_view"]["revenue_attributed"]) == (100, "14190.00")
    first = client.get("/v1/shop-in-shop/volta/report", headers=bearer(keys.read),
                       params={"since": day_one.isoformat(), "until": day_two.isoformat()})
    assert (first.json()["brand_view"]["orders_attributed"],
            first.json()["retailer_view"]["revenue_credited"]) == (119, "15351.00")
    assert first.json()["orders"] == []  # the newest orders listed are all of day two
    backwards = client.get("/v1/shop-in-shop/volta/report", headers=bearer(keys.read),
                           params={"since": day_two.isoformat(), "until": day_one.isoformat()})
    assert (backwards.status_code, backwards.json()["error"]["code"]) == (422, "invalid_period")
    naive = client.get("/v1/shop-in-shop/volta/report", headers=bearer(keys.read),
                       params={"since": "2026-01-05T09:00:00"})
    assert naive.status_code == 422
