"""QR codes over HTTP: create, images and sheet, scan, hot prospect, presence and bad input."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kanaal.collect.service import record_event
from kanaal.contact_center import service as cc
from kanaal.core.clock import ManualClock
from kanaal.core.context import AppContext
from kanaal.customers.service import find_customer_id, recent_events
from kanaal.stores import store
from tests.conftest import Keys, bearer
from tests.support.catalog import list_variant, make_channel, make_variant
from tests.support.inventory import make_location


@pytest.fixture
def exact(ctx: AppContext) -> None:
    """Exact decisions (no exploration, no holdout), set before the app starts."""
    ctx.business["decisions"] = {"explore": False, "experiment": {"holdout_share": 0.0}}


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def shop(ctx: AppContext) -> str:
    """A TV sold in the Amsterdam store at 1299.00; exact decisions. Returns the store id."""
    make_variant(ctx, "TV-55", cost_price="800.00", brand="Vision")
    amsterdam = make_location(ctx, "Store Amsterdam", kind="store")
    channel = make_channel(ctx, "store-amsterdam", kind="store", location_ids=[amsterdam.id])
    list_variant(ctx, channel, "TV-55", "1299.00")
    return amsterdam.id


def new_code(client: TestClient, keys: Keys, store_id: str, **extra: Any) -> dict[str, Any]:
    response = client.post("/v1/qr-codes", json={"sku": "TV-55", "store_id": store_id, **extra},
                           headers=bearer(keys.writer))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def counts(ctx: AppContext) -> tuple[int, int]:
    with ctx.db.reader() as session:
        return store.count_scans(session), store.count_presence(session)


def test_a_code_encodes_its_short_link_as_png_svg_and_a_store_sheet(
    ctx: AppContext, exact: None, client: TestClient, keys: Keys
) -> None:
    store_id = shop(ctx)
    code = new_code(client, keys, store_id)
    assert code["url"] == f"http://127.0.0.1:8000/q/{code['token']}"
    assert code["label"] == "Variant TV-55"
    png = client.get(f"/v1/qr-codes/{code['token']}/qr.png")
    assert (png.status_code, png.headers["content-type"]) == (200, "image/png")
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    svg = client.get(f"/v1/qr-codes/{code['token']}/qr.svg")
    assert svg.headers["content-type"] == "image/svg+xml"
    assert b"<svg" in svg.content
    pdf = client.get(f"/v1/stores/{store_id}/qr-sheet.pdf", headers=bearer(keys.read))
    assert (pdf.status_code, pdf.content[:5]) == (200, b"%PDF-")
    sheet = client.get(f"/v1/stores/{store_id}/qr-sheet.png", headers=bearer(keys.read))
    assert sheet.content[:4] == b"\x89PNG"


def test_a_scan_records_stitches_and_redirects_to_the_product_page_with_the_store(
    ctx: AppContext, exact: None, client: TestClient, keys: Keys
) -> None:
    store_id = shop(ctx)
    code = new_code(client, keys, store_id)
    client.cookies.set("kanaal_aid", "anon-shopper")
    response = client.get(f"/q/{code['token']}", follow_redirects=False)
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(f"/m/p/TV-55?store={store_id}&scan=")
    assert "kanaal_aid=anon-shopper" in response.headers["set-cookie"]
    scans = client.get(f"/v1/qr-codes/{code['token']}/scans", headers=bearer(keys.read))
    [scan] = scans.json()["scans"]
    with ctx.db.reader() as session:
        customer = find_customer_id(session, "anonymous_id", "anon-shopper")
        events = recent_events(session, customer or "", limit=5)
    assert (scan["customer_id"], scan["store_id"], scan["sku"]) == (customer, store_id, "TV-55")
    assert [(e["event"], e["channel"]) for e in events] == [("QR Code Scanned", "store")]
    assert events[0]["properties"]["store_id"] == store_id
    page = client.get(location)
    assert page.status_code == 200
    assert "You are in\n Store Amsterdam" in page.text
    assert "EUR 1299.00" in page.text


def test_a_new_scanner_gets_an_anonymous_id_cookie(
    ctx: AppContext, exact: None, client: TestClient, keys: Keys
) -> None:
    code = new_code(client, keys, shop(ctx))
    response = client.get(f"/q/{code['token']}", follow_redirects=False)
    [scan] = client.get(f"/v1/qr-codes/{code['token']}/scans",
                        headers=bearer(keys.read)).json()["scans"]
    assert f"kanaal_aid={scan['anonymous_id']};" in response.headers["set-cookie"]
    assert scan["anonymous_id"].startswith("aid_")
    assert scan["decision_id"] is not None
    # Nothing viewed online: the engine proposes nothing for a first-time scanner
    assert (scan["action"], scan["offer_code"]) == ("none", None)


def test_an_in_store_scan_of_a_product_viewed_online_raises_a_hot_prospect_alert(
    ctx: AppContext, exact: None, client: TestClient, keys: Keys
) -> None:
    store_id = shop(ctx)
    code = new_code(client, keys, store_id)
    with ctx.db.transaction() as session:
        customer = record_event(session, ctx, event="Product Viewed",
                                identities={"anonymous_id": "anon-9"}, channel="web",
                                source="web", properties={"sku": "TV-55", "price": "1299"})
    client.cookies.set("kanaal_aid", "anon-9")
    page = client.get(f"/q/{code['token']}")
    assert 'data-action="hot_prospect_alert"' in page.text
    [task] = cc.list_tasks(ctx, store_id=store_id)
    assert (task["kind"], task["customer_id"]) == ("hot_prospect_alert", customer)
    assert task["context"]["product_sku"] == "TV-55"
    assert task["context"]["browsed_product_online"] is True
    assert task["context"]["channel"] == "store"


def test_unknown_and_expired_codes_are_refused_and_record_nothing(
    ctx: AppContext, exact: None, client: TestClient, keys: Keys, clock: ManualClock
) -> None:
    code = new_code(client, keys, shop(ctx), expires_at=(clock.now() + timedelta(days=1))
                    .isoformat())
    unknown = client.get("/q/nosuchtoken1", follow_redirects=False)
    assert unknown.status_code == 404
    assert 'data-code="unknown_qr_token"' in unknown.text
    clock.advance(days=2)
    expired = client.get(f"/q/{code['token']}", follow_redirects=False)
    assert expired.status_code == 410
    assert 'data-code="expired_qr_token"' in expired.text
    assert "set-cookie" not in expired.headers
    assert counts(ctx) == (0, 0)
    assert cc.list_tasks(ctx) == []


def test_codes_for_unknown_products_or_non_stores_are_refused(
    ctx: AppContext, exact: None, client: TestClient, keys: Keys
) -> None:
    shop(ctx)
    warehouse = make_location(ctx, "Warehouse")
    bad_sku = client.post("/v1/qr-codes", json={"sku": "NOPE", "store_id": warehouse.id},
                          headers=bearer(keys.writer))
    assert (bad_sku.status_code, bad_sku.json()["error"]["code"]) == (404, "unknown_sku")
    not_store = client.post("/v1/qr-codes", json={"sku": "TV-55", "store_id": warehouse.id},
                            headers=bearer(keys.writer))
    assert (not_store.status_code, not_store.json()["error"]["code"]) == (422, "not_a_store")
    with ctx.db.reader() as session:
        assert store.codes_of_store(session, warehouse.id) == []


def test_presence_needs_consent_and_stores_nothing_without_it(
    ctx: AppContext, exact: None, client: TestClient, keys: Keys
) -> None:
    store_id = shop(ctx)
    entered = {"event": "Store Entered", "store_id": store_id, "source": "wifi_portal",
               "anonymousId": "anon-5"}
    refused = client.post("/v1/stores/presence", json=entered, headers=basic(keys.write))
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "consent_required")
    assert counts(ctx) == (0, 0)
    with ctx.db.reader() as session:
        assert find_customer_id(session, "anonymous_id", "anon-5") is None
    with ctx.db.transaction() as session:
        customer = record_event(session, ctx, type="identify", event=None,
                                identities={"anonymous_id": "anon-5"}, channel="mobile",
                                source="app", traits={"consent": {"tracking": True}})
    accepted = client.post("/v1/stores/presence", json=entered, headers=basic(keys.write))
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["customer_id"] == customer
    left = client.post("/v1/stores/presence", json={**entered, "event": "Store Left",
                                                     "anonymousId": "anon-6", "consent": True},
                       headers=basic(keys.write))
    assert left.status_code == 201
    assert counts(ctx) == (0, 2)
    with ctx.db.reader() as session:
        events = recent_events(session, customer, limit=5)
    assert [(e["type"], e["event"], e["channel"]) for e in events] == [
        ("track", "Store Entered", "store"), ("identify", None, "mobile")]
    assert events[0]["properties"] == {"store_id": store_id, "source": "wifi_portal"}


def test_presence_with_an_unknown_event_or_store_is_refused(
    ctx: AppContext, exact: None, client: TestClient, keys: Keys
) -> None:
    store_id = shop(ctx)
    body = {"event": "Store Danced", "store_id": store_id, "source": "app",
            "anonymousId": "anon-7", "consent": True}
    bad = client.post("/v1/stores/presence", json=body, headers=basic(keys.write))
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_presence_event")
    nowhere = client.post("/v1/stores/presence", json={**body, "event": "Store Entered",
                                                       "store_id": "loc_nope"},
                          headers=basic(keys.write))
    assert (nowhere.status_code, nowhere.json()["error"]["code"]) == (404, "unknown_location")
    assert counts(ctx) == (0, 0)
