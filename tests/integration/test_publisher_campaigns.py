"""Pretargeting over HTTP: selection rules, channel by live capacity, clicks, callbacks, report."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kanaal.contact_center import service as cc
from kanaal.core.context import AppContext
from kanaal.orders import service as orders
from kanaal.publishers import store
from tests.conftest import Keys, bearer
from tests.support.catalog import list_variant, make_channel, make_variant
from tests.support.inventory import make_location

NUMBER = "+31 20 555 0101"


@pytest.fixture
def exact(ctx: AppContext) -> None:
    """Exact decisions (no exploration, no holdout), set before the app starts."""
    ctx.business["decisions"] = {"explore": False, "experiment": {"holdout_share": 0.0}}


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def campaign_body(store_id: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "handle": "test-drive", "name": "Test drive the Volta EV", "publisher": "AutoWeek",
        "sku": "VOLTA-EV", "expected_value": "2500.00", "currency": "EUR",
        "headline": "Book a test drive", "body": "Talk to a Volta expert or book a drive.",
        "rules": {"segments": ["in-market-ev"], "min_score": 0.5, "page_types": ["review"]},
        "channels": [{"type": "phone", "queue": "volta-phone", "number": NUMBER},
                     {"type": "callback", "queue": "volta-callbacks"}],
        "calendar": {"resource_kind": "store", "resource_id": store_id, "slot_minutes": 60,
                     "opens": "09:00", "closes": "12:00", "weekdays": [0, 1, 2, 3, 4]},
        "cost_per_mille": "20.00", "cost_per_click": "1.50"}
    body.update(changes)
    return body


def world(ctx: AppContext, *, available: int) -> str:
    """Queues for the campaign, `available` agents ready; a store showroom. Returns its id."""
    make_variant(ctx, "VOLTA-EV", cost_price="30000.00", brand="Volta")
    cc.create_queue(ctx, name="volta-phone", skill="brand:volta", channel="phone",
                    handle_time_seconds=480)
    cc.create_queue(ctx, name="volta-callbacks", skill="brand:volta", channel="callback",
                    handle_time_seconds=480)
    for n in range(available):
        agent = cc.create_agent(ctx, name=f"Agent {n}", email=f"a{n}@example.com",
                                password="correct horse battery", skills=["brand:volta"])
        cc.set_agent_state(ctx, agent.id, "available")
    return make_location(ctx, "Volta showroom Amsterdam", kind="store").id


SELECTED = {"segment": "in-market-ev", "score": 0.8, "page": {"type": "review"}}


def invite(client: TestClient, keys: Keys, visitor: str = "pub-1",
           context: dict[str, Any] | None = None) -> dict[str, Any]:
    response = client.post("/v1/publisher/invitations", headers=basic(keys.write), json={
        "campaign": "test-drive", "anonymousId": visitor,
        "context": SELECTED if context is None else context})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def report(client: TestClient, keys: Keys) -> dict[str, Any]:
    response = client.get("/v1/publisher-campaigns/test-drive/report", headers=bearer(keys.read))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_selected_prospect_is_invited_to_the_tracked_number_while_agents_are_free(
    ctx: AppContext, exact: None, client: TestClient, keys: Keys
) -> None:
    shop = world(ctx, available=1)
    created = client.post("/v1/publisher-campaigns", json=campaign_body(shop),
                          headers=bearer(keys.writer))
    assert created.status_code == 201, created.text
    shown = invite(client, keys)
    assert shown["show"] is True
    assert shown["channel"]["type"] == "phone"
    assert shown["channel"]["number"] == NUMBER
    assert (shown["headline"], shown["appointments"]) == ("Book a test drive", True)
    assert shown["action"] == "store_appointment"
    click = client.post("/v1/publisher/clicks", headers=basic(keys.write), json={
        "campaign": "test-drive", "decision_id": shown["decision_id"], "target": "phone"})
    # A click on the number is a click; the call, once it reaches the number, is the contact
    assert click.json()["recorded"] == ["click"]
    assert report(client, keys) | {} == {
        "campaign": "test-drive", "publisher": "AutoWeek", "impressions": 1, "clicks": 1,
        "contacts": 0, "calls": 0, "appointments": 0, "sales": 0, "revenue": "0",
        "currency": "EUR", "cost": "1.52", "cost_per_sale": None}


@pytest.mark.parametrize(("context", "reason"), [
    ({"segment": "bargain-hunters", "score": 0.9, "page": {"type": "review"}},
     "not_selected:segment"),
    ({"segment": "in-market-ev", "score": 0.2, "page": {"type": "review"}}, "not_selected:score"),
    ({"segment": "in-market-ev", "score": 0.9, "page": {"type": "news"}},
     "not_selected:page_type"),
])
def test_prospects_outside_the_selection_rules_are_not_invited(
    ctx: AppContext, exact: None, client: TestClient, keys: Keys, context: dict[str, Any],
    reason: str
) -> None:
    shop = world(ctx, available=1)
    client.post("/v1/publisher-campaigns", json=campaign_body(shop), headers=bearer(keys.writer))
    assert invite(client, keys, context=context) == {
        "show": False, "campaign": "test-drive", "reason": reason, "decision_id": None,
        "headline": None, "body": None, "action": None, "channel": None, "appointments": False}
    assert report(client, keys)["impressions"] == 0


def test_no_invitation_while_no_agent_is_free(
    ctx: AppContext, exact: None, client: TestClient, keys: Keys
) -> None:
    shop = world(ctx, available=0)
    client.post("/v1/publisher-campaigns", json=campaign_body(shop), headers=bearer(keys.writer))
    assert invite(client, keys)["reason"] == "no_capacity"
    assert report(client, keys)["impressions"] == 0


def test_a_callback_from_an_invitation_goes_to_the_campaign_queue_and_counts_as_contact(
    ctx: AppContext, exact: None, client: TestClient, keys: Keys
) -> None:
    shop = world(ctx, available=1)
    body = campaign_body(shop, channels=[{"type": "callback", "queue": "volta-callbacks"}])
    client.post("/v1/publisher-campaigns", json=body, headers=bearer(keys.writer))
    shown = invite(client, keys)
    assert shown["channel"]["type"] == "callback"
    made = client.post("/v1/publisher/callbacks", headers=basic(keys.write), json={
        "campaign": "test-drive", "decision_id": shown["decision_id"], "anonymousId": "pub-1",
        "phone": "06 12345678"})
    assert made.status_code == 201, made.text
    [callback] = cc.list_callbacks(ctx)
    assert (callback.queue, callback.phone) == ("volta-callbacks", "+31612345678")
    assert callback.context["campaign"] == "test-drive"
    assert report(client, keys)["contacts"] == 1


def test_sales_after_the_first_impression_give_the_cost_per_sale(
    ctx: AppContext, exact: None, client: TestClient, keys: Keys
) -> None:
    shop = world(ctx, available=1)
    client.post("/v1/publisher-campaigns", json=campaign_body(shop),
                headers=bearer(keys.writer))
    shown = invite(client, keys)
    assert shown["show"] is True, shown
    web = make_channel(ctx, "webshop", kind="web", location_ids=[shop])
    from kanaal.inventory import service as inventory

    inventory.set_stock(ctx, sku="VOLTA-EV", location_id=shop, on_hand=3)
    list_variant(ctx, web, "VOLTA-EV", "2500.00")
    customer = client.get("/v1/customers", params={"anonymous_id": "pub-1"},
                          headers=bearer(keys.read)).json()["id"]
    order, _ = orders.create_order(ctx, {
        "channel": "webshop", "currency": "EUR", "lines": [{"sku": "VOLTA-EV", "quantity": 1}],
        "customer": {"customer_id": customer}}, idempotency_key=None)
    assert order["customer_id"] == customer
    figures = report(client, keys)
    assert (figures["sales"], figures["revenue"], figures["cost"], figures["cost_per_sale"]) == (
        1, "2500.00", "0.02", "0.02")
    assert Decimal(figures["cost"]) == Decimal("20.00") / 1000


def test_every_order_after_the_first_impression_counts_not_only_the_newest_200(
    ctx: AppContext, exact: None, client: TestClient, keys: Keys
) -> None:
    from kanaal.inventory import service as inventory
    from kanaal.orders.service_fulfilment import cancel_order

    shop = world(ctx, available=1)
    web = make_channel(ctx, "webshop", kind="web", location_ids=[shop])
    make_variant(ctx, "VOLTA-KEY")
    inventory.set_stock(ctx, sku="VOLTA-KEY", location_id=shop, on_hand=500)
    list_variant(ctx, web, "VOLTA-KEY", "5.00")
    client.post("/v1/publisher-campaigns", json=campaign_body(shop),
                headers=bearer(keys.writer))
    assert invite(client, keys)["show"] is True
    customer = client.get("/v1/customers", params={"anonymous_id": "pub-1"},
                          headers=bearer(keys.read)).json()["id"]
    placed = [orders.create_order(ctx, {
        "channel": "webshop", "currency": "EUR", "lines": [{"sku": "VOLTA-KEY", "quantity": 1}],
        "customer": {"customer_id": customer}}, idempotency_key=None)[0] for _ in range(205)]
    cancel_order(ctx, placed[0]["id"], reason="changed mind")
    figures = report(client, keys)
    assert (figures["sales"], figures["revenue"]) == (204, str(Decimal("5.00") * 204))


def test_bad_campaigns_are_refused_and_nothing_is_stored(
    ctx: AppContext, exact: None, client: TestClient, keys: Keys
) -> None:
    shop = world(ctx, available=1)
    cases = [
        (campaign_body(shop, handle="Bad Handle"), 422, "invalid_handle"),
        (campaign_body(shop, channels=[{"type": "phone", "queue": "nope", "number": NUMBER}]),
         404, "unknown_queue"),
        (campaign_body(shop, channels=[{"type": "callback", "queue": "volta-phone"}]), 422,
         "queue_channel_mismatch"),
        (campaign_body(shop, channels=[{"type": "phone", "queue": "volta-phone"}]), 422,
         "missing_number"),
        (campaign_body(shop, channels=[{"type": "phone", "queue": "volta-phone",
                                        "number": "020 555 0101"}]), 422,
         "invalid_phone_number"),
        (campaign_body(shop, channels=[{"type": "callback", "queue": "volta-callbacks",
                                        "number": NUMBER}]), 422, "unexpected_number"),
        (campaign_body(shop, channels=[{"type": "chat", "queue": "volta-phone"}]), 422,
         "queue_channel_mismatch"),
        (campaign_body("loc_nope"), 404, "unknown_location"),
        (campaign_body(shop, sku="NOPE"), 404, "unknown_sku"),
    ]
    for body, status, code in cases:
        response = client.post("/v1/publisher-campaigns", json=body, headers=bearer(keys.writer))
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), body
    with ctx.db.reader() as session:
        assert store.all_campaigns(session) == []
    unknown = client.post("/v1/publisher/invitations", headers=basic(keys.write),
                          json={"campaign": "nope", "anonymousId": "pub-1"})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "unknown_campaign")


def test_only_configured_publisher_origins_may_call_the_tag_endpoints(
    ctx: AppContext, exact: None, client: TestClient, keys: Keys
) -> None:
    ctx.settings = ctx.settings.model_copy(update={"cors_origins": ["https://autoweek.example"]})
    shop = world(ctx, available=1)
    client.post("/v1/publisher-campaigns", json=campaign_body(shop), headers=bearer(keys.writer))
    preflight = client.options("/v1/publisher/invitations", headers={
        "Origin": "https://autoweek.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "https://autoweek.example"
    assert "Authorization" in preflight.headers["access-control-allow-headers"]
    shown = client.post("/v1/publisher/invitations", headers={
        **basic(keys.write), "Origin": "https://autoweek.example"}, json={
        "campaign": "test-drive", "anonymousId": "pub-1", "context": SELECTED})
    assert shown.headers["access-control-allow-origin"] == "https://autoweek.example"
    assert shown.json()["show"] is True
    other = client.post("/v1/publisher/invitations", headers={
        **basic(keys.write), "Origin": "https://evil.example"}, json={
        "campaign": "test-drive", "anonymousId": "pub-2", "context": SELECTED})
    assert (other.status_code, other.json()["error"]["code"]) == (403, "origin_not_allowed")
    assert report(client, keys)["impressions"] == 1
    script = client.get("/publisher/tag.js")
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "/v1/publisher/invitations" in script.text
