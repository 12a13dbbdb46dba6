"""Fulfilment through the API: routing, 3PL handoff, shipments, cancellations and returns."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from kanaal.core.context import AppContext
from kanaal.core.outbox import OutboxDispatcher, add_webhook_endpoint, outbox_messages
from kanaal.customers.service import find_customer_id, recent_events
from kanaal.orders.service import create_order
from tests.conftest import Keys, bearer
from tests.support.inventory import ledger_problems
from tests.support.orders import (
    AMSTERDAM_CUSTOMER,
    build_retailer,
    level,
    order_body,
    snapshot,
)


def _post(client: TestClient, keys: Keys, path: str, body: dict[str, Any]) -> Any:
    return client.post(path, json=body, headers=bearer(keys.writer))


def _places(order: dict[str, Any]) -> set[tuple[str, str, int]]:
    return {(a["sku"], a["location_id"], a["quantity"]) for a in order["allocations"]}


def test_click_and_collect_allocates_at_the_chosen_store(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    shop = build_retailer(ctx)
    body = order_body(shop.channel("web"), ("TEE", 2),
                      fulfilment={"method": "click_and_collect", "location_id": shop.utrecht.id})
    order = _post(client, keys, "/v1/orders", body).json()
    assert (order["fulfilment"], order["pickup_location_id"]) == ("click_and_collect",
                                                                  shop.utrecht.id)
    assert _places(order) == {("TEE", shop.utrecht.id, 2)}
    assert level(ctx, "TEE", shop.utrecht) == (20, 0, 2)


def test_click_and_collect_at_a_store_without_the_stock_is_refused(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    shop = build_retailer(ctx, stock={("TEE", "warehouse"): 50, ("TEE", "utrecht"): 1})
    before = snapshot(ctx)
    body = order_body(shop.channel("web"), ("TEE", 2),
                      fulfilment={"method": "click_and_collect", "location_id": shop.utrecht.id})
    response = _post(client, keys, "/v1/orders", body)
    assert (response.status_code, response.json()["error"]["code"]) == (409, "insufficient_stock")
    assert response.json()["error"]["details"] == [{"sku": "TEE", "requested": 2,
                                                     "available": 1}]
    warehouse = _post(client, keys, "/v1/orders", {**body, "fulfilment": {
        "method": "click_and_collect", "location_id": shop.warehouse.id}})
    assert warehouse.json()["error"]["code"] == "invalid_pickup_location"
    assert snapshot(ctx) == before


def test_nearest_ships_from_the_closest_store_with_stock(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    shop = build_retailer(ctx, stock={("TEE", "warehouse"): 10, ("TEE", "amsterdam"): 1,
                                      ("TEE", "utrecht"): 5})
    near = shop.channel("near")
    ship = {"method": "ship", "address": AMSTERDAM_CUSTOMER}
    one = _post(client, keys, "/v1/orders", order_body(near, ("TEE", 1), fulfilment=ship)).json()
    assert _places(one) == {("TEE", shop.amsterdam.id, 1)}
    # Amsterdam is empty now; Utrecht (35 km) is nearer than Tilburg (92 km).
    two = _post(client, keys, "/v1/orders", order_body(near, ("TEE", 2), fulfilment=ship)).json()
    assert _places(two) == {("TEE", shop.utrecht.id, 2)}
    by_priority = _post(client, keys, "/v1/orders",
                        order_body(shop.channel("web"), ("TEE", 1), fulfilment=ship)).json()
    assert _places(by_priority) == {("TEE", shop.warehouse.id, 1)}


def test_priority_splits_where_fewest_splits_ships_one_parcel_and_no_split_refuses(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    shop = build_retailer(ctx, stock={("TEE", "warehouse"): 2, ("CAP", "amsterdam"): 3,
                                      ("TEE", "utrecht"): 5, ("CAP", "utrecht"): 5})
    lines = (("TEE", 2), ("CAP", 1))
    split = _post(client, keys, "/v1/orders", order_body(shop.channel("web"), *lines)).json()
    assert _places(split) == {("TEE", shop.warehouse.id, 2), ("CAP", shop.amsterdam.id, 1)}
    whole = _post(client, keys, "/v1/orders", order_body(shop.channel("fewest"), *lines)).json()
    assert _places(whole) == {("TEE", shop.utrecht.id, 2), ("CAP", shop.utrecht.id, 1)}
    unsplit = _post(client, keys, "/v1/orders", order_body(
        shop.channel("web"), ("TEE", 3), ("CAP", 2), fulfilment={"allow_split": False}))
    assert _places(unsplit.json()) == {("TEE", shop.utrecht.id, 3), ("CAP", shop.utrecht.id, 2)}
    before = snapshot(ctx)  # CAP: 2 in Amsterdam, 2 in Utrecht
    refused = _post(client, keys, "/v1/orders", order_body(
        shop.channel("web"), ("CAP", 3), fulfilment={"allow_split": False}))
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "cannot_ship_unsplit")
    assert snapshot(ctx) == before


def test_an_order_routed_to_a_3pl_is_handed_over_as_a_webhook(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    shop = build_retailer(ctx)
    add_webhook_endpoint(ctx.db, ids=ctx.ids, clock=ctx.clock, url="http://127.0.0.1:9/3pl",
                         topics=["fulfilment.requested"], secret="s")
    order = _post(client, keys, "/v1/orders", order_body(
        shop.channel("tpl"), ("MUG", 2), fulfilment={"address": AMSTERDAM_CUSTOMER})).json()
    with ctx.db.reader() as session:
        messages = session.execute(
            select(outbox_messages).where(outbox_messages.c.topic == "fulfilment.requested")
        ).all()
    assert len(messages) == 1
    data = messages[0].payload["data"]
    assert (data["order_id"], data["location_id"], data["lines"][0]["sku"],
            data["lines"][0]["quantity"], data["shipping_address"]["city"]) == (
        order["id"], shop.threepl.id, "MUG", 2, "Amsterdam")
    _post(client, keys, "/v1/orders", order_body(shop.channel("web"), ("MUG", 1)))
    with ctx.db.reader() as session:
        assert len(session.execute(select(outbox_messages.c.id).where(
            outbox_messages.c.topic == "fulfilment.requested")).all()) == 1


def test_shipments_move_stock_and_status_until_delivered(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    shop = build_retailer(ctx, stock={("TEE", "warehouse"): 2, ("TEE", "amsterdam"): 5})
    order = _post(client, keys, "/v1/orders", order_body(
        shop.channel("web"), ("TEE", 3), customer={"email": "dee@example.com"})).json()
    line = order["lines"][0]["id"]
    vague = _post(client, keys, f"/v1/orders/{order['id']}/shipments", {"carrier": "PostNL"})
    assert vague.json()["error"]["code"] == "location_required"
    first = _post(client, keys, f"/v1/orders/{order['id']}/shipments", {
        "carrier": "PostNL", "tracking_number": "3SABC1", "location_id": shop.warehouse.id})
    assert first.status_code == 201, first.text
    assert first.json()["lines"] == [{"line_id": line, "sku": "TEE", "quantity": 2}]
    assert level(ctx, "TEE", shop.warehouse) == (0, 0, 0)
    mid = client.get(f"/v1/orders/{order['id']}", headers=bearer(keys.read)).json()
    assert (mid["status"], mid["lines"][0]["shipped"]) == ("partially_fulfilled", 2)
    too_many = _post(client, keys, f"/v1/orders/{order['id']}/shipments", {
        "carrier": "DHL", "location_id": shop.amsterdam.id,
        "lines": [{"line_id": line, "quantity": 2}]})
    assert too_many.json()["error"]["code"] == "exceeds_open_quantity"
    second = _post(client, keys, f"/v1/orders/{order['id']}/shipments", {
        "carrier": "DHL", "tracking_number": "JVGL1", "lines": [{"line_id": line,
                                                                  "quantity": 1}]})
    assert second.json()["location_id"] == shop.amsterdam.id
    for parcel, updates in ((first, ["in_transit", "delivered"]), (second, ["delivered"])):
        for update in updates:
            answer = _post(client, keys, f"/v1/shipments/{parcel.json()['id']}/status",
                           {"status": update})
            assert answer.json()["status"] == update
    back = _post(client, keys, f"/v1/shipments/{first.json()['id']}/status",
                 {"status": "in_transit"})
    assert back.json()["error"]["code"] == "invalid_shipment_transition"
    done = client.get(f"/v1/orders/{order['id']}", headers=bearer(keys.read)).json()
    assert done["status"] == "delivered"
    assert [s["status"] for s in done["shipments"]] == ["delivered", "delivered"]
    with ctx.db.reader() as session:
        customer_id = find_customer_id(session, "email", "dee@example.com")
        assert customer_id is not None
        events = recent_events(session, customer_id)
    shipped = [e for e in events if e["event"] == "Order Shipped"]
    assert sorted(e["properties"]["tracking_number"] for e in shipped) == ["3SABC1", "JVGL1"]
    assert ledger_problems(ctx, "TEE") == []


def test_cancelling_releases_the_stock_and_a_shipped_order_cannot_be_cancelled(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    shop = build_retailer(ctx)
    order = _post(client, keys, "/v1/orders", order_body(
        shop.channel("web"), ("TEE", 4), customer={"email": "eve@example.com"})).json()
    assert level(ctx, "TEE", shop.warehouse) == (20, 0, 4)
    cancelled = _post(client, keys, f"/v1/orders/{order['id']}/cancel", {"reason": "changed mind"})
    assert (cancelled.json()["status"], cancelled.json()["cancel_reason"]) == (
        "cancelled", "changed mind")
    assert level(ctx, "TEE", shop.warehouse) == (20, 0, 0)
    twice = _post(client, keys, f"/v1/orders/{order['id']}/cancel", {})
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "order_not_cancellable")
    shipped = _post(client, keys, "/v1/orders", order_body(shop.channel("web"), ("CAP", 1))).json()
    _post(client, keys, f"/v1/orders/{shipped['id']}/shipments", {"carrier": "PostNL"})
    before = snapshot(ctx)
    late = _post(client, keys, f"/v1/orders/{shipped['id']}/cancel", {})
    assert late.json()["error"]["code"] == "order_not_cancellable"
    assert snapshot(ctx) == before
    with ctx.db.reader() as session:
        customer_id = find_customer_id(session, "email", "eve@example.com")
        assert customer_id is not None
        names = [e["event"] for e in recent_events(session, customer_id)]
    assert names == ["Order Cancelled", "Order Completed"]
    assert ledger_problems(ctx, "TEE") == []


def test_returns_put_stock_back_refund_and_finally_mark_the_order_returned(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    shop = build_retailer(ctx)
    order = _post(client, keys, "/v1/orders", order_body(
        shop.channel("web"), ("TEE", 2), customer={"email": "fay@example.com"})).json()
    line = order["lines"][0]["id"]
    early = _post(client, keys, f"/v1/orders/{order['id']}/returns",
                  {"lines": [{"line_id": line, "quantity": 1}]})
    assert early.json()["error"]["code"] == "order_not_returnable"
    _post(client, keys, f"/v1/orders/{order['id']}/shipments", {"carrier": "PostNL"})
    partial = _post(client, keys, f"/v1/orders/{order['id']}/returns", {
        "lines": [{"line_id": line, "quantity": 1}], "location_id": shop.amsterdam.id,
        "reason": "too small"})
    assert partial.status_code == 201, partial.text
    assert (partial.json()["refund"], partial.json()["order_status"]) == ("12.50", "fulfilled")
    assert level(ctx, "TEE", shop.amsterdam) == (21, 0, 0)
    before = snapshot(ctx)
    over = _post(client, keys, f"/v1/orders/{order['id']}/returns",
                 {"lines": [{"line_id": line, "quantity": 2}]})
    assert (over.status_code, over.json()["error"]["code"]) == (409,
                                                                "exceeds_returnable_quantity")
    negative = _post(client, keys, f"/v1/orders/{order['id']}/returns",
                     {"lines": [{"line_id": line, "quantity": -1}]})
    assert negative.json()["error"]["code"] == "invalid_quantity"
    assert snapshot(ctx) == before
    rest = _post(client, keys, f"/v1/orders/{order['id']}/returns",
                 {"lines": [{"line_id": line, "quantity": 1}]})
    assert (rest.json()["order_status"], rest.json()["location_id"]) == ("returned",
                                                                         shop.warehouse.id)
    final = client.get(f"/v1/orders/{order['id']}", headers=bearer(keys.read)).json()
    assert (final["status"], final["refunded"]) == ("returned", "25.00")
    with ctx.db.reader() as session:
        customer_id = find_customer_id(session, "email", "fay@example.com")
        assert customer_id is not None
        refunds = [e["properties"]["total"] for e in recent_events(session, customer_id)
                   if e["event"] == "Order Refunded"]
    assert refunds == [12.5, 12.5]
    assert ledger_problems(ctx, "TEE") == []


@pytest.mark.parametrize("path", ["/v1/orders/ord_x/cancel", "/v1/orders/ord_x/shipments"])
def test_unknown_orders_are_404(client: TestClient, keys: Keys, path: str) -> None:
    response = _post(client, keys, path, {"carrier": "PostNL"} if "ship" in path else {})
    assert (response.status_code, response.json()["error"]["code"]) == (404, "unknown_order")


class _ThreePL(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _ThreePL.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        return


def test_the_3pl_receives_a_signed_fulfilment_request_after_commit(ctx: AppContext) -> None:
    shop = build_retailer(ctx)
    _ThreePL.received = []
    server = HTTPServer(("127.0.0.1", 0), _ThreePL)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    add_webhook_endpoint(ctx.db, ids=ctx.ids, clock=ctx.clock,
                         url=f"http://127.0.0.1:{server.server_port}/orders",
                         topics=["fulfilment.requested"], secret="3pl-secret")
    # Through the service, so that no app's background dispatcher competes for the message.
    order, created = create_order(ctx, order_body(shop.channel("tpl"), ("TEE", 1)),
                                  idempotency_key=None)
    assert created
    try:
        delivered = asyncio.run(OutboxDispatcher(ctx.db, ctx.clock).deliver_due())
    finally:
        server.shutdown()
    assert delivered == 1
    [(headers, body)] = _ThreePL.received
    timestamp, signature = (part.split("=", 1)[1]
                            for part in headers["Kanaal-Signature"].split(","))
    expected = hmac.new(b"3pl-secret", f"{timestamp}.".encode() + body, hashlib.sha256)
    assert hmac.compare_digest(signature, expected.hexdigest())
    assert headers["Kanaal-Topic"] == "fulfilment.requested"
    payload = json.loads(body)
    assert (payload["data"]["order_id"], payload["data"]["lines"][0]["sku"]) == (order["id"],
                                                                                 "TEE")
