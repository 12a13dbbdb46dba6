"""Must show: the snippet on the demo shop in Chromium, with the real decision engine.

A new visitor browses: page and track events arrive and stitch to one customer. A high-value
cart with agents available shows the callback widget; a phone number queues a callback with the
cart as context, listed in the agent desk. With no agent available no phone widget appears.
Dismissing is reported and respected by the caps.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from kanaal.app import create_app
from kanaal.contact_center import service as cc
from kanaal.core.context import AppContext
from kanaal.decisions.service import runtime
from tests.conftest import Keys, bearer
from tests.support.browser import open_page
from tests.support.server import live_server

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
AGENT = ("anna@example.com", "correct horse battery")


def configure(ctx: AppContext, keys: Keys, *, agents: int) -> None:
    """Exact decisions (no exploration, holdout or read cache), the write key, queues, agents."""
    # No read cache: each decision sees the events the snippet sent just before it.
    ctx.business["decisions"] = {"explore": False, "experiment": {"holdout_share": 0.0},
                                 "read_cache_seconds": 0}
    ctx.business["touchpoints"] = {"demo_write_key": keys.write}
    cc.create_queue(ctx, name="sales", skill="sales", channel="phone", handle_time_seconds=480)
    cc.create_queue(ctx, name="sales-callbacks", skill="sales", channel="callback",
                    handle_time_seconds=480)
    for n in range(agents):
        email = AGENT[0] if n == 0 else f"agent{n}@example.com"
        agent = cc.create_agent(ctx, name=f"Agent {n}", email=email, password=AGENT[1],
                                skills=["sales"])
        cc.set_agent_state(ctx, agent.id, "available")


def shot(page: Any, ctx: AppContext, name: str) -> None:
    """Write a documentation screenshot (from the SQLite run only)."""
    if ctx.db.is_sqlite:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / name))


def new_page(browser: Any) -> tuple[Any, Any, list[str]]:
    """A fresh browser context (no cookies) and page collecting console errors."""
    return open_page(browser, console_errors=True, viewport={"width": 1200, "height": 800})


def view_product(page: Any, base: str, sku: str) -> None:
    """Open a product page and wait until its "Product Viewed" event has been collected."""
    with page.expect_response(lambda r: r.url.endswith("/v1/batch")
                              and "Product Viewed" in (r.request.post_data or "")) as sent:
        page.goto(f"{base}/demo/shop/p/{sku}")
    assert sent.value.status == 200


def add_to_cart(page: Any, base: str, sku: str, quantity: int = 1) -> None:
    """Open a product page and add it to the cart."""
    view_product(page, base, sku)
    page.get_by_label("Quantity").fill(str(quantity))
    page.get_by_role("button", name="Add to cart").click()
    page.get_by_text("Added to your cart.").wait_for()


def timeline(api: httpx.Client, keys: Keys, customer_id: str) -> list[dict[str, Any]]:
    """The customer's timeline events, newest first."""
    response = api.get(f"/v1/customers/{customer_id}/timeline", headers=bearer(keys.read))
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["events"]
    return events


@pytest.mark.browser
@pytest.mark.slow
def test_a_high_value_cart_with_idle_agents_gets_a_callback_that_the_desk_lists(
    ctx: AppContext, keys: Keys, browser: Any
) -> None:
    configure(ctx, keys, agents=1)
    with live_server(create_app(ctx=ctx)) as base, httpx.Client(base_url=base) as api:
        context, page, errors = new_page(browser)
        try:
            # Given a new visitor who browses the demo shop
            page.goto(f"{base}/demo/shop")
            page.get_by_role("link", name="Espresso machines").click()
            page.wait_for_url("**/c/espresso")
            anonymous_id = page.evaluate("window.kanaal.anonymousId()")
            # When they put a high-value machine in the cart, the callback widget appears
            add_to_cart(page, base, "BARISTA-PRO")
            widget = page.locator("[data-kanaal-widget='callback']")
            widget.wait_for(timeout=10000)
            assert widget.get_by_role("heading").inner_text() == "Shall we call you?"
            assert "Expected wait: less than a minute." in widget.inner_text()
            assert page.evaluate("document.activeElement.dataset.kanaalWidget") == "callback"
            shot(page, ctx, "widget-callback.png")

            # A malformed phone number is refused in the widget, nothing is sent
            widget.get_by_label("Your phone number").fill("12ab")
            widget.get_by_role("button", name="Call me").click()
            assert widget.get_by_role("alert").inner_text() == (
                "Please enter a valid phone number, e.g. +31 6 12345678.")
            shot(page, ctx, "widget-callback-error.png")
            assert cc.list_callbacks(ctx) == []

            # And a valid one queues a callback with the cart and the pages as context
            widget.get_by_label("Your phone number").fill("06 12345678")
            widget.get_by_role("button", name="Call me").click()
            page.get_by_text("Thank you! We will call you at +31612345678.").wait_for()
            shot(page, ctx, "widget-callback-done.png")
            page.evaluate("window.kanaal.flush()")
        finally:
            context.close()
        assert errors == []

        [callback] = cc.list_callbacks(ctx)
        assert (callback.queue, callback.phone) == ("sales-callbacks", "+31612345678")
        assert callback.context["cart"] == {"value": "649.00", "currency": "EUR", "items": [
            {"sku": "BARISTA-PRO", "name": "Barista Pro espresso machine", "quantity": 1,
             "price": "649.00"}]}
        assert [p["url"].removeprefix(base) for p in callback.context["pages"]] == [
            "/demo/shop", "/demo/shop/c/espresso", "/demo/shop/p/BARISTA-PRO"]
        assert callback.context["source"] == "web_widget"

        # The page and track events stitched to the same customer as the callback
        found = api.get("/v1/customers", headers=bearer(keys.read),
                        params={"anonymous_id": anonymous_id})
        assert found.status_code == 200, found.text
        assert found.json()["id"] == callback.customer_id
        names = [(e["type"], e["event"]) for e in timeline(api, keys, callback.customer_id)]
        for expected in [("page", None), ("track", "Product Viewed"),
                         ("track", "Product Added"), ("track", "Callback Requested")]:
            assert expected in names
        assert [n for n in names if n[0] == "page"].__len__() == 3

        # And the agent desk lists it
        with httpx.Client(base_url=base) as desk:
            form = desk.get("/desk/login").text
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
            assert csrf is not None
            signed = desk.post("/desk/login", follow_redirects=True, data={
                "email": AGENT[0], "password": AGENT[1], "csrf_token": csrf.group(1)})
            assert signed.status_code == 200, signed.text
            assert callback.id in desk.get("/desk").text
        runtime(ctx).log.flush(ctx.db)


def decided(page: Any, action: Any) -> dict[str, Any]:
    """Run `action` (a cart change) and return the decision the snippet asked with the cart."""
    with page.expect_response(lambda r: r.url.endswith("/v1/decisions")
                              and '"cart"' in (r.request.post_data or "")) as info:
        action()
    body: dict[str, Any] = info.value.json()
    return body


@pytest.mark.browser
@pytest.mark.slow
def test_with_no_agent_available_no_phone_widget_appears(
    ctx: AppContext, keys: Keys, browser: Any
) -> None:
    configure(ctx, keys, agents=0)
    with live_server(create_app(ctx=ctx)) as base:
        context, page, errors = new_page(browser)
        try:
            for path in ("", "/c/espresso"):
                page.goto(f"{base}/demo/shop{path}")
            view_product(page, base, "BARISTA-PRO")
            decision = decided(page, lambda: page.get_by_role(
                "button", name="Add to cart").click())
            assert decision["action"]["type"] not in {"callback_offer", "show_phone", "call_now"}
            for kind in ("callback", "phone"):
                assert page.locator(f"[data-kanaal-widget='{kind}']").count() == 0
        finally:
            context.close()
        assert errors == []
    assert cc.list_callbacks(ctx) == []


@pytest.mark.browser
@pytest.mark.slow
def test_dismissing_a_widget_is_reported_and_respected_by_the_caps(
    ctx: AppContext, keys: Keys, browser: Any
) -> None:
    configure(ctx, keys, agents=1)
    with live_server(create_app(ctx=ctx)) as base:
        context, page, errors = new_page(browser)
        try:
            for path in ("", "/c/espresso"):
                page.goto(f"{base}/demo/shop{path}")
            view_product(page, base, "BARISTA-PRO")
            first = decided(page, lambda: page.get_by_role("button", name="Add to cart").click())
            assert first["action"]["type"] == "callback_offer", first
            widget = page.locator("[data-kanaal-widget='callback']")
            widget.wait_for()
            # The visitor closes it with the keyboard (Escape): the dismissal is reported
            with page.expect_response(lambda r: r.url.endswith("/outcome") and
                                      r.request.post_data_json["event"] == "dismissed") as out:
                page.keyboard.press("Escape")
            assert out.value.status == 200
            assert out.value.json()["decision_id"] == first["decision_id"]
            assert out.value.json()["recorded"] is True
            assert widget.count() == 0
            # And the next moment (another cart change) does not offer the callback again
            page.get_by_label("Quantity").fill("2")
            second = decided(page, lambda: page.get_by_role(
                "button", name="Add to cart").click())
            assert second["action"]["type"] != "callback_offer"
            assert any(r.startswith("callback_offer: dismissed recently")
                       or "dismissed recently" in r for r in second["reasons"])
            assert page.locator("[data-kanaal-widget='callback']").count() == 0
        finally:
            context.close()
        assert errors == []
    assert cc.list_callbacks(ctx) == []


@pytest.mark.browser
@pytest.mark.slow
def test_a_checkout_error_is_tracked_and_asks_for_a_decision(
    ctx: AppContext, keys: Keys, browser: Any
) -> None:
    configure(ctx, keys, agents=1)
    with live_server(create_app(ctx=ctx)) as base, httpx.Client(base_url=base) as api:
        context, page, errors = new_page(browser)
        try:
            add_to_cart(page, base, "MILK-JUG")
            with page.expect_response(lambda r: r.url.endswith("/v1/decisions")):
                page.goto(f"{base}/demo/shop/checkout")
            anonymous_id = page.evaluate("window.kanaal.anonymousId()")
            page.get_by_label("E-mail").fill("sanne@example.com")
            page.get_by_label("Card number").fill("4000 0000 0000 0002")
            with page.expect_request(lambda r: r.url.endswith("/v1/decisions")) as asked:
                page.get_by_role("button", name="Place order").click()
            assert page.get_by_role("alert").first.inner_text() == (
                "Your payment was declined. Please check your card.")
            body = asked.value.post_data_json
            assert body["context"]["page"]["type"] == "checkout"
            assert body["context"]["cart"]["items"][0]["sku"] == "MILK-JUG"
            decision = asked.value.response().json()
            # The error reached the timeline before the engine was asked: the visitor is stuck
            assert decision["reasons"][0] == "journey stage stuck (model bucket online:stuck:low)"
        finally:
            context.close()
        assert errors == []
        found = api.get("/v1/customers", headers=bearer(keys.read),
                        params={"anonymous_id": anonymous_id})
        events = timeline(api, keys, found.json()["id"])
        failure = next(e for e in events if e["event"] == "Checkout Error")
        assert failure["properties"] == {"reason": "card_declined"}
