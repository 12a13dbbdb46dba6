"""Widget endpoints, CORS for the browser endpoints, the snippet and the demo shop over HTTP."""

from __future__ import annotations

import base64
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from kanaal.contact_center import service as cc
from kanaal.core.context import AppContext
from kanaal.customers import store as customers_store
from kanaal.customers.service import find_customer_id
from kanaal.decisions import store as decisions_store
from tests.conftest import Keys, bearer
from tests.support.contact_center import count_rows

SHOP = "https://shop.example"


def basic(key: str) -> dict[str, str]:
    """HTTP Basic with the write key as user name, as the snippet sends it."""
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def queues(ctx: AppContext) -> None:
    """A phone queue and a callback queue of the sales skill."""
    cc.create_queue(ctx, name="sales", skill="sales", channel="phone")
    cc.create_queue(ctx, name="sales-callbacks", skill="sales", channel="callback")


REQUEST: dict[str, Any] = {
    "anonymousId": "anon-1", "phone": "06 12345678", "decision_id": "dec_1", "queue": "sales",
    "cart": {"value": "649.00", "currency": "EUR",
             "items": [{"sku": "BARISTA-PRO", "quantity": 1, "price": "649.00"}]},
    "pages": [{"title": "Barista Pro", "url": "https://shop.example/p/barista-pro",
               "at": "2026-01-05T08:59:00Z"}],
    "lang": "nl-NL",
}


def stored(ctx: AppContext) -> tuple[int, int, str | None]:
    """Callbacks, customer events and the customer behind anon-1."""
    with ctx.db.reader() as session:
        events = session.execute(select(func.count()).select_from(
            customers_store.customer_events)).scalar_one()
        customer = find_customer_id(session, "anonymous_id", "anon-1")
    return count_rows(ctx)["cc_callbacks"], int(events), customer


def test_a_widget_callback_goes_to_the_callback_queue_with_cart_pages_and_the_visitor(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    queues(ctx)
    response = client.post("/v1/touchpoints/callbacks", json=REQUEST,
                           headers={**basic(keys.write), "Idempotency-Key": "dec_1-callback"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["queue"], body["phone"], body["due_at"]) == (
        "sales-callbacks", "+31612345678", "2026-01-05T09:00:00Z")
    callback = cc.get_callback(ctx, body["id"])
    assert callback.context == {
        "source": "web_widget", "decision_id": "dec_1", "language": "nl",
        "reason": "callback requested on the website", "cart": REQUEST["cart"],
        "pages": REQUEST["pages"]}
    with ctx.db.reader() as session:
        assert find_customer_id(session, "anonymous_id", "anon-1") == body["customer_id"]
        assert find_customer_id(session, "phone", "+31612345678") == body["customer_id"]
    # A retry with the same key answers the same callback and stores nothing more
    again = client.post("/v1/touchpoints/callbacks", json=REQUEST,
                        headers={**basic(keys.write), "Idempotency-Key": "dec_1-callback"})
    assert (again.status_code, again.json()["id"]) == (201, body["id"])
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count_rows(ctx)["cc_callbacks"] == 1


@pytest.mark.parametrize(
    ("change", "headers", "status", "code"),
    [
        ({"phone": "12ab"}, None, 422, "invalid_phone"),
        ({"phone": "+31 6 1234"}, None, 422, "invalid_phone"),
        ({"phone": "0" * 41}, None, 422, "validation_error"),
        ({"cart": {"value": "-1"}}, None, 422, "validation_error"),
        ({}, {"Authorization": "Basic " + base64.b64encode(b"wk_nope:").decode()}, 401,
         "invalid_key"),
        ({}, {}, 401, "missing_credentials"),
        ({}, {"Origin": "https://evil.example"}, 403, "origin_not_allowed"),
    ],
)
def test_bad_widget_callbacks_are_refused_with_a_code_and_nothing_is_stored(
    ctx: AppContext, client: TestClient, keys: Keys, change: dict[str, Any],
    headers: dict[str, str] | None, status: int, code: str
) -> None:
    queues(ctx)
    ctx.settings.cors_origins = [SHOP]
    sent = basic(keys.write) if headers is None else (
        headers if "Authorization" in headers or not headers else {**basic(keys.write),
                                                                    **headers})
    response = client.post("/v1/touchpoints/callbacks", json={**REQUEST, **change},
                           headers=sent)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert stored(ctx) == (0, 0, None)


def test_without_a_callback_queue_the_widget_gets_a_conflict(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    cc.create_queue(ctx, name="sales", skill="sales", channel="phone")
    response = client.post("/v1/touchpoints/callbacks", json=REQUEST, headers=basic(keys.write))
    assert (response.status_code, response.json()["error"]["code"]) == (409, "no_callback_queue")
    assert stored(ctx) == (0, 0, None)


def test_an_allowed_shop_origin_gets_cors_headers_and_a_preflight(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    ctx.settings.cors_origins = [SHOP]
    preflight = client.options("/v1/batch", headers={
        "Origin": SHOP, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == SHOP
    assert preflight.headers["access-control-allow-headers"] == (
        "Authorization, Content-Type, Idempotency-Key")
    sent = client.post("/v1/batch", headers={**basic(keys.write), "Origin": SHOP}, json={
        "batch": [{"type": "page", "anonymousId": "anon-1", "name": "Home"}]})
    assert sent.status_code == 200, sent.text
    assert sent.headers["access-control-allow-origin"] == SHOP
    assert stored(ctx)[1] == 1


def test_a_disallowed_origin_cannot_send_events_or_ask_decisions(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    ctx.settings.cors_origins = [SHOP]
    evil = {**basic(keys.write), "Origin": "https://evil.example"}
    batch = client.post("/v1/batch", headers=evil, json={
        "batch": [{"type": "page", "anonymousId": "anon-1", "name": "Home"}]})
    assert (batch.status_code, batch.json()["error"]["code"]) == (403, "origin_not_allowed")
    decision = client.post("/v1/decisions", headers=evil,
                           json={"anonymousId": "anon-1", "channel": "web"})
    assert (decision.status_code, decision.json()["error"]["code"]) == (
        403, "origin_not_allowed")
    assert stored(ctx) == (0, 0, None)
    # Servers (no Origin) and Kanaal's own pages (same origin) are not affected
    own = client.post("/v1/batch", headers={**basic(keys.write), "Origin": "http://testserver"},
                      json={"batch": [{"type": "page", "anonymousId": "anon-1"}]})
    assert own.status_code == 200, own.text


def test_an_offer_code_is_validated_for_the_visitor(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    assert client.post("/v1/identify", headers=basic(keys.write), json={
        "anonymousId": "anon-1", "traits": {"email": "sanne@example.com"}}).status_code == 200
    with ctx.db.reader() as session:
        customer_id = find_customer_id(session, "anonymous_id", "anon-1")
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        decisions_store.insert_offer_codes(session, [{
            "code": "KN7Q4MX2PA", "decision_id": "dec_1", "customer_id": customer_id,
            "discount_percent": Decimal("10.00"), "quote": None, "currency": "EUR",
            "note": "", "created_at": now, "expires_at": now + timedelta(days=7),
            "redeemed_at": None, "order_id": None}])
    ok = client.post("/v1/touchpoints/offer-codes/validate", headers=basic(keys.write),
                     json={"code": "kn7q4mx2pa", "anonymousId": "anon-1"})
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"code": "KN7Q4MX2PA", "discount_percent": "10.00", "currency": "EUR",
                         "expires_at": "2026-01-12T09:00:00Z"}
    assert client.post("/v1/identify", headers=basic(keys.write), json={
        "anonymousId": "anon-2", "traits": {"email": "other@example.com"}}).status_code == 200
    other = client.post("/v1/touchpoints/offer-codes/validate", headers=basic(keys.write),
                        json={"code": "KN7Q4MX2PA", "anonymousId": "anon-2"})
    assert (other.status_code, other.json()["error"]["code"]) == (422, "offer_code_not_yours")
    unknown = client.post("/v1/touchpoints/offer-codes/validate", headers=basic(keys.write),
                          json={"code": "KNOPE", "anonymousId": "anon-1"})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "unknown_offer_code")


def test_the_snippet_and_its_styles_are_served_compressed_and_cacheable(
    client: TestClient,
) -> None:
    script = client.get("/sdk/kanaal.js", headers={"Accept-Encoding": "gzip"})
    assert script.status_code == 200
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert script.headers["content-encoding"] == "gzip"
    assert script.headers["cache-control"] == "public, max-age=300"
    assert script.text.startswith("/*! kanaal.js")
    styles = client.get("/sdk/widgets.css")
    assert styles.headers["content-type"] == "text/css; charset=utf-8"
    assert "--kanaal-accent" in styles.text
    assert client.get("/sdk/desk/nope.js").status_code == 404


def test_the_demo_shop_pages_carry_the_snippet_under_a_strict_csp(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    ctx.business["touchpoints"] = {"demo_write_key": keys.write}
    for path in ("", "/c/espresso", "/p/BARISTA-PRO", "/cart", "/checkout"):
        page = client.get(f"/demo/shop{path}")
        assert page.status_code == 200, path
        assert "script-src 'self';" in page.headers["content-security-policy"]
        assert f'src="/sdk/kanaal.js" data-write-key="{keys.write}"' in page.text
        assert "<script>" not in page.text
    assert client.get("/demo/shop/p/NOPE").json()["error"]["code"] == "unknown_product"
    assert client.get("/demo/shop/c/nope").status_code == 404
    assert client.get("/demo/shop/static/../api.py").status_code == 404
    assert client.get("/v1/customers", headers=bearer(keys.read),
                      params={"anonymous_id": "anon-1"}).status_code == 404
