"""Store presence from the Wi-Fi portal: a consenting shopper who viewed a product online and
walks in is a hot prospect for the engine."""

from __future__ import annotations

from fastapi.testclient import TestClient

from kanaal.collect.service import record_event
from kanaal.contact_center import service as cc
from kanaal.core.clock import ManualClock
from kanaal.core.context import AppContext
from tests.conftest import Keys
from tests.integration.test_qr_codes import basic, exact, shop

__all__ = ["exact"]


def viewed_online(ctx: AppContext, anonymous_id: str, sku: str, *, consent: bool) -> str:
    with ctx.db.transaction() as session:
        record_event(session, ctx, type="identify", event=None,
                     identities={"anonymous_id": anonymous_id}, channel="mobile",
                     source="app", traits={"consent": {"tracking": consent}})
        return record_event(session, ctx, event="Product Viewed",
                            identities={"anonymous_id": anonymous_id}, channel="web",
                            source="web", properties={"sku": sku, "price": "1299"})


def enter(client: TestClient, keys: Keys, store_id: str, anonymous_id: str) -> dict[str, object]:
    response = client.post("/v1/stores/presence", headers=basic(keys.write), json={
        "event": "Store Entered", "store_id": store_id, "source": "wifi_portal",
        "anonymousId": anonymous_id})
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def test_entering_after_viewing_a_product_online_alerts_the_store_staff(
    ctx: AppContext, exact: None, client: TestClient, keys: Keys
) -> None:
    store_id = shop(ctx)
    customer = viewed_online(ctx, "anon-1", "TV-55", consent=True)
    entered = enter(client, keys, store_id, "anon-1")
    assert (entered["product_sku"], entered["action"]) == ("TV-55", "hot_prospect_alert")
    [task] = cc.list_tasks(ctx, store_id=store_id)
    assert (task["kind"], task["customer_id"]) == ("hot_prospect_alert", customer)
    assert task["context"]["decision_id"] == entered["decision_id"]
    assert task["context"]["product_sku"] == "TV-55"


def test_an_old_online_view_or_none_asks_the_engine_nothing(
    ctx: AppContext, exact: None, client: TestClient, keys: Keys, clock: ManualClock
) -> None:
    store_id = shop(ctx)
    viewed_online(ctx, "anon-2", "TV-55", consent=True)
    clock.advance(days=15)
    entered = enter(client, keys, store_id, "anon-2")
    assert (entered["product_sku"], entered["decision_id"], entered["action"]) == (
        None, None, None)
    assert cc.list_tasks(ctx) == []


def test_a_shopper_who_withdrew_consent_is_not_tracked_nor_alerted(
    ctx: AppContext, exact: None, client: TestClient, keys: Keys
) -> None:
    store_id = shop(ctx)
    viewed_online(ctx, "anon-3", "TV-55", consent=False)
    refused = client.post("/v1/stores/presence", headers=basic(keys.write), json={
        "event": "Store Entered", "store_id": store_id, "source": "app", "anonymousId": "anon-3"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "consent_required")
    assert cc.list_tasks(ctx) == []
