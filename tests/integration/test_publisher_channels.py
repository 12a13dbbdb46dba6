"""Pretargeting's channel choice by live capacity: chat invitations, and the tracked number's
calls (matched by the number they dialed) counted as contacts and sales in the report."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from kanaal.contact_center import service as cc
from kanaal.core.clock import ManualClock
from kanaal.core.context import AppContext
from kanaal.inventory import service as inventory
from kanaal.orders import service as orders
from tests.conftest import Keys, bearer
from tests.integration.test_publisher_campaigns import (
    NUMBER,
    basic,
    campaign_body,
    exact,  # noqa: F401 - a fixture
    invite,
    report,
    world,
)
from tests.support.catalog import list_variant, make_channel
from tests.support.contact_center import post_acd

TRACKED = "+31205550101"  # NUMBER in E.164


def chat_world(ctx: AppContext, *, chat_agents: int) -> str:
    """The campaign's world with its phone queue full and `chat_agents` free chat experts."""
    shop = world(ctx, available=0)
    phone = cc.create_agent(ctx, name="Phone agent", email="phone@example.com",
                            password="correct horse battery", skills=["brand:volta"])
    cc.set_agent_state(ctx, phone.id, "available")
    cc.set_agent_state(ctx, phone.id, "busy")  # on a call: the phone queue has no one free
    cc.create_queue(ctx, name="volta-chat", skill="chat:volta", channel="chat",
                    handle_time_seconds=300)
    for n in range(chat_agents):
        agent = cc.create_agent(ctx, name=f"Chat {n}", email=f"chat{n}@example.com",
                                password="correct horse battery", skills=["chat:volta"],
                                concurrency={"chat": 3})
        cc.set_agent_state(ctx, agent.id, "available")
    return shop


CHAT_CAMPAIGN = {"calendar": None, "channels": [
    {"type": "phone", "queue": "volta-phone", "number": NUMBER},
    {"type": "chat", "queue": "volta-chat"}]}


def test_chat_is_offered_while_chat_experts_are_free_and_the_phone_queue_is_full(
    ctx: AppContext, exact: None, client: TestClient, keys: Keys  # noqa: F811
) -> None:
    chat_world(ctx, chat_agents=1)
    created = client.post("/v1/publisher-campaigns", headers=bearer(keys.writer),
                          json=campaign_body("unused", **CHAT_CAMPAIGN))
    assert created.status_code == 201, created.text
    assert created.json()["channels"][1] == {"type": "chat", "queue": "volta-chat",
                                             "number": None}
    shown = invite(client, keys)
    assert (shown["show"], shown["action"], shown["appointments"]) == (True, "chat_invite", False)
    assert {k: shown["channel"][k] for k in ("type", "queue", "number")} == {
        "type": "chat", "queue": "volta-chat", "number": None}
    click = client.post("/v1/publisher/clicks", headers=basic(keys.write), json={
        "campaign": "test-drive", "decision_id": shown["decision_id"], "target": "chat"})
    assert click.json()["recorded"] == ["click", "contact"]
    figures = report(client, keys)
    assert (figures["impressions"], figures["clicks"], figures["contacts"],
            figures["calls"]) == (1, 1, 1, 0)


def test_no_chat_invitation_while_the_chat_queue_has_no_capacity(
    ctx: AppContext, exact: None, client: TestClient, keys: Keys  # noqa: F811
) -> None:
    chat_world(ctx, chat_agents=0)
    client.post("/v1/publisher-campaigns", headers=bearer(keys.writer),
                json=campaign_body("unused", **CHAT_CAMPAIGN))
    assert invite(client, keys)["reason"] == "no_capacity"
    # A chat expert comes on duty: the next page view is invited to chat
    agent = cc.create_agent(ctx, name="Chat", email="chat@example.com",
                            password="correct horse battery", skills=["chat:volta"])
    cc.set_agent_state(ctx, agent.id, "available")
    assert invite(client, keys, visitor="pub-2")["channel"]["type"] == "chat"
    # ... and takes a chat, which leaves no one free: no invitation again
    cc.set_agent_state(ctx, agent.id, "busy")
    assert invite(client, keys, visitor="pub-3")["reason"] == "no_capacity"
    assert report(client, keys)["impressions"] == 1


def test_a_click_on_a_channel_the_campaign_does_not_offer_is_refused(
    ctx: AppContext, exact: None, client: TestClient, keys: Keys  # noqa: F811
) -> None:
    shop = world(ctx, available=1)
    client.post("/v1/publisher-campaigns", json=campaign_body(shop),
                headers=bearer(keys.writer))
    shown = invite(client, keys)
    refused = client.post("/v1/publisher/clicks", headers=basic(keys.write), json={
        "campaign": "test-drive", "decision_id": shown["decision_id"], "target": "chat"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "channel_not_offered")
    assert report(client, keys)["clicks"] == 0


def _call(client: TestClient, ctx: AppContext, secret: str, call_id: str, *, caller: str,
          dialed: str, outcome: str, sale_value: str | None = None) -> dict[str, Any]:
    """One call through the ACD webhooks: queued, answered by Agent 0, completed."""
    post_acd(client, ctx, secret, {"id": f"{call_id}-q", "type": "call.queued",
                                   "queue": "volta-phone", "call_id": call_id,
                                   "phone": caller, "to": dialed})
    answered = post_acd(client, ctx, secret, {"id": f"{call_id}-a", "type": "call.answered",
                                              "queue": "volta-phone", "call_id": call_id,
                                              "agent_email": "a0@example.com"})
    assert answered.json()["status"] == "applied", answered.text
    done = post_acd(client, ctx, secret, {"id": f"{call_id}-c", "type": "call.completed",
                                          "call_id": call_id, "phone": caller,
                                          "outcome": outcome, "sale_value": sale_value})
    assert done.json()["status"] == "applied", done.text
    body: dict[str, Any] = done.json()
    return body


def _order(ctx: AppContext, customer_id: str) -> None:
    orders.create_order(ctx, {
        "channel": "webshop", "currency": "EUR", "lines": [{"sku": "VOLTA-EV", "quantity": 1}],
        "customer": {"customer_id": customer_id}}, idempotency_key=None)


def test_calls_to_the_tracked_number_count_as_contacts_and_their_sales_as_sales(
    ctx: AppContext, exact: None, client: TestClient, keys: Keys, clock: ManualClock  # noqa: F811
) -> None:
    shop = world(ctx, available=1)
    web = make_channel(ctx, "webshop", kind="web", location_ids=[shop])
    inventory.set_stock(ctx, sku="VOLTA-EV", location_id=shop, on_hand=10)
    list_variant(ctx, web, "VOLTA-EV", "2500.00")
    secret = client.post("/v1/contact-center/acd/integrations", json={"name": "acd"},
                         headers=bearer(keys.admin)).json()["secret"]
    # A call to the number before the campaign started is not the campaign's
    _call(client, ctx, secret, "early", caller="+31611111111", dialed=TRACKED, outcome="sale",
          sale_value="2500.00")
    clock.advance(minutes=1)
    created = client.post("/v1/publisher-campaigns", json=campaign_body(shop),
                          headers=bearer(keys.writer))
    assert created.status_code == 201, created.text
    clock.advance(minutes=1)
    # A: sold on the phone, and the agent's sale became an order: one sale (the order)
    a = _call(client, ctx, secret, "A", caller="+31612345678", dialed="+31 20 555 0101",
              outcome="sale", sale_value="2500.00")
    clock.advance(minutes=1)
    _order(ctx, a["customer_id"])
    # B: no sale on the phone, but the caller orders online afterwards
    b = _call(client, ctx, secret, "B", caller="+31687654321", dialed=TRACKED,
              outcome="no_sale")
    clock.advance(minutes=1)
    _order(ctx, b["customer_id"])
    # D: sold on the phone (no order in Kanaal yet)
    _call(client, ctx, secret, "D", caller="+31622222222", dialed=TRACKED, outcome="sale",
          sale_value="1800.00")
    # Another campaign's number: not this campaign's call
    _call(client, ctx, secret, "other", caller="+31633333333", dialed="+31205559999",
          outcome="sale", sale_value="999.00")
    figures = report(client, keys)
    assert {k: figures[k] for k in ("calls", "contacts", "sales", "revenue")} == {
        "calls": 3, "contacts": 3, "sales": 3, "revenue": "6800.00"}
    assert (figures["impressions"], figures["clicks"], figures["cost_per_sale"]) == (0, 0, "0.00")
