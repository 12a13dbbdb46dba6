"""Must show: scanning a store QR code on a phone (Chromium, mobile viewport).

The scan is recorded, the visitor is stitched through the first-party `kanaal_aid` cookie and
lands on the product page with the store. A visitor who viewed the product in the webshop and
then scans it in the store raises the engine's hot prospect alert for the store staff.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from kanaal.app import create_app
from kanaal.contact_center import service as cc
from kanaal.core.context import AppContext
from kanaal.stores import images
from kanaal.stores import service as stores
from tests.conftest import Keys, bearer
from tests.support.browser import open_page
from tests.support.catalog import list_variant, make_channel, make_variant
from tests.support.inventory import make_location
from tests.support.server import live_server

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2}


def configure(ctx: AppContext, keys: Keys) -> str:
    """The demo shop's OLED TV in the catalog, sold in the Amsterdam store; exact decisions."""
    ctx.business["decisions"] = {"explore": False, "experiment": {"holdout_share": 0.0}}
    ctx.business["touchpoints"] = {"demo_write_key": keys.write}
    make_variant(ctx, "TV-OLED-65", cost_price="1200.00", brand="Vision")
    amsterdam = make_location(ctx, "Store Amsterdam", kind="store")
    channel = make_channel(ctx, "store-amsterdam", kind="store", location_ids=[amsterdam.id])
    list_variant(ctx, channel, "TV-OLED-65", "1899.00")
    return amsterdam.id


def phone_page(browser: Any) -> tuple[Any, Any, list[str]]:
    return open_page(browser, **PHONE)


def wait_for_event(api: httpx.Client, keys: Keys, anonymous_id: str, name: str) -> None:
    """Wait until the collected event is on the visitor's timeline (intake may queue it)."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        found = api.get("/v1/customers", headers=bearer(keys.read),
                        params={"anonymous_id": anonymous_id})
        if found.status_code == 200:
            events = api.get(f"/v1/customers/{found.json()['id']}/timeline",
                             headers=bearer(keys.read)).json()["events"]
            if any(e["event"] == name for e in events):
                return
        time.sleep(0.1)
    raise AssertionError(f"{name} never reached the timeline of {anonymous_id}")


def cookie(context: Any, name: str) -> str | None:
    return next((c["value"] for c in context.cookies() if c["name"] == name), None)


@pytest.mark.browser
@pytest.mark.slow
def test_scanning_a_code_records_the_scan_stitches_and_shows_the_product_in_the_store(
    ctx: AppContext, keys: Keys, browser: Any
) -> None:
    store_id = configure(ctx, keys)
    with live_server(create_app(ctx=ctx)) as base, httpx.Client(base_url=base) as api:
        ctx.settings = ctx.settings.model_copy(update={"public_base_url": base})
        code = stores.code_json(ctx, stores.create_code(ctx, sku="TV-OLED-65",
                                                        store_id=store_id))
        context, page, errors = phone_page(browser)
        try:
            page.goto(code["url"])
            page.wait_for_url(f"**/m/p/TV-OLED-65?store={store_id}&scan=*")
            assert page.locator("[data-store-id]").inner_text() == "You are in Store Amsterdam"
            assert page.locator("h1").inner_text() == "Product TV-OLED-65"
            assert page.locator(".price").inner_text() == "EUR 1899.00"
            visitor = cookie(context, "kanaal_aid")
        finally:
            context.close()
        assert errors == []
        scans = api.get(f"/v1/qr-codes/{code['token']}/scans", headers=bearer(keys.read))
        [scan] = scans.json()["scans"]
        assert (scan["sku"], scan["store_id"], scan["anonymous_id"]) == (
            "TV-OLED-65", store_id, visitor)
        found = api.get("/v1/customers", headers=bearer(keys.read),
                        params={"anonymous_id": visitor})
        assert found.json()["id"] == scan["customer_id"]


@pytest.mark.browser
@pytest.mark.slow
def test_a_visitor_who_viewed_the_product_online_and_scans_it_in_store_is_a_hot_prospect(
    ctx: AppContext, keys: Keys, browser: Any
) -> None:
    store_id = configure(ctx, keys)
    with live_server(create_app(ctx=ctx)) as base, httpx.Client(base_url=base) as api:
        ctx.settings = ctx.settings.model_copy(update={"public_base_url": base})
        code = stores.code_json(ctx, stores.create_code(ctx, sku="TV-OLED-65",
                                                        store_id=store_id))
        context, page, errors = phone_page(browser)
        try:
            # Given a visitor who looked at the TV in the webshop (kanaal.js sets kanaal_aid)
            with page.expect_response(lambda r: r.url.endswith("/v1/batch") and "Product Viewed"
                                      in (r.request.post_data or "")) as sent:
                page.goto(f"{base}/demo/shop/p/TV-OLED-65")
            assert sent.value.status == 200
            visitor = page.evaluate("window.kanaal.anonymousId()")
            wait_for_event(api, keys, visitor, "Product Viewed")
            # When they scan the TV's code in the store
            page.goto(code["url"])
            page.wait_for_url("**/m/p/TV-OLED-65?*")
            action = page.locator("[data-action]")
            assert action.get_attribute("data-action") == "hot_prospect_alert"
            assert "A product expert in this store" in action.inner_text()
            assert cookie(context, "kanaal_aid") == visitor
            if ctx.db.is_sqlite:
                page.screenshot(path=str(SCREENSHOTS / "qr-mobile-hot-prospect.png"))
        finally:
            context.close()
        assert errors == []
        # Then the store staff have a hot prospect task with the online context
        customer = api.get("/v1/customers", headers=bearer(keys.read),
                           params={"anonymous_id": visitor}).json()["id"]
        [task] = cc.list_tasks(ctx, store_id=store_id)
        assert (task["kind"], task["customer_id"]) == ("hot_prospect_alert", customer)
        assert task["context"]["product_sku"] == "TV-OLED-65"
        assert task["context"]["browsed_product_online"] is True
        assert task["context"]["anonymous_id"] == visitor
        [scan] = api.get(f"/v1/qr-codes/{code['token']}/scans",
                         headers=bearer(keys.read)).json()["scans"]
        assert (scan["action"], scan["customer_id"]) == ("hot_prospect_alert", customer)


def test_the_printable_sheet_is_rendered_for_the_docs(ctx: AppContext) -> None:
    """The QR sheet of a store with a few products (documentation screenshot)."""
    store_id = configure(ctx, Keys("", "", "", ""))
    for sku in ("TV-LED-43", "BARISTA-PRO", "CAFE-MINI"):
        make_variant(ctx, sku, cost_price="50.00")
    for sku in ("TV-OLED-65", "TV-LED-43", "BARISTA-PRO", "CAFE-MINI"):
        stores.create_code(ctx, sku=sku, store_id=store_id)
    png = stores.store_sheet(ctx, store_id, "png")
    pdf = stores.store_sheet(ctx, store_id, "pdf")
    assert png[:4] == b"\x89PNG"
    assert pdf[:5] == b"%PDF-"
    if ctx.db.is_sqlite:
        # Tokens are random; the documentation sheet uses fixed ones so it changes only with
        # the layout.
        codes = sorted(stores.list_codes(ctx, store_id), key=lambda c: c.sku)
        items = [images.SheetItem(url=f"https://kanaal.example/q/DEMO{n:08d}", title=c.label,
                                  subtitle=c.sku) for n, c in enumerate(codes)]
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        (SCREENSHOTS / "qr-sheet.png").write_bytes(images.sheet_png("Store Amsterdam", items))
