"""Must show: the snippet is small, talks only to the Kanaal host, and works on a shop on
another origin under `Content-Security-Policy: script-src 'self' <kanaal host>`.
Also renders every widget kind (screenshots for docs/) and keeps Dutch pages in Dutch."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response

from kanaal.app import create_app
from kanaal.contact_center import service as cc
from kanaal.core.context import AppContext
from tests.conftest import Keys
from tests.e2e.test_web_widgets import configure, new_page, shot
from tests.support.server import live_server

SNIPPET = Path(__file__).resolve().parents[2] / "src/kanaal/touchpoints/static/kanaal.js"
SHOP_SCRIPT = """
document.getElementById('buy').addEventListener('click', function () {
  window.kanaal.track('Product Added', {sku: 'TV-OLED-65', price: 1899, quantity: 1});
  window.kanaal.setCart({value: '1899.00', currency: 'EUR',
    items: [{sku: 'TV-OLED-65', quantity: 1, price: '1899.00'}]});
});
"""


def origin(url: str) -> str:
    """scheme://host:port of a URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def shop_app(settings: dict[str, str]) -> FastAPI:
    """A shop on its own origin: one page with the snippet, served under a strict CSP."""
    app = FastAPI()

    @app.get("/")
    def home() -> HTMLResponse:
        kanaal = settings["kanaal"]
        html = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<link rel="icon" href="data:,"><title>Other shop</title>
<script src="{kanaal}/sdk/kanaal.js" data-write-key="{settings['key']}"
 data-flush-interval="200" defer></script><script src="/shop.js" defer></script></head>
<body data-kanaal-page="product" data-kanaal-sku="TV-OLED-65"><h1>OLED 65</h1>
<button id="buy" type="button">Buy</button></body></html>"""
        return HTMLResponse(html, headers={
            "Content-Security-Policy": f"script-src 'self' {kanaal}; object-src 'none'"})

    @app.get("/shop.js")
    def script() -> Response:
        return Response(SHOP_SCRIPT, media_type="text/javascript")

    return app


def test_the_snippet_is_at_most_15_kb_gzipped_and_has_no_eval() -> None:
    raw = SNIPPET.read_bytes()
    assert len(gzip.compress(raw, compresslevel=9)) <= 15 * 1024
    text = raw.decode()
    assert re.search(r"\beval\s*\(|new Function|setTimeout\(\s*['\"]|innerHTML", text) is None


@pytest.mark.browser
@pytest.mark.slow
def test_a_shop_on_another_origin_under_a_strict_csp_gets_widgets_and_only_calls_kanaal(
    ctx: AppContext, keys: Keys, browser: Any
) -> None:
    configure(ctx, keys, agents=1)
    settings = {"key": keys.write, "kanaal": ""}
    with live_server(shop_app(settings)) as shop, live_server(create_app(ctx=ctx)) as base:
        settings["kanaal"] = base
        ctx.settings.cors_origins = [shop]
        # The served snippet is the file, and gzipped it is at most 15 KB
        served = httpx.get(f"{base}/sdk/kanaal.js", headers={"Accept-Encoding": "gzip"},
                           timeout=60)
        assert served.headers["content-encoding"] == "gzip"
        assert served.content == SNIPPET.read_bytes()
        assert int(served.headers["content-length"]) <= 15 * 1024

        context, page, errors = new_page(browser)
        page.add_init_script("window.__violations = [];"
                             "document.addEventListener('securitypolicyviolation',"
                             " e => window.__violations.push(e.violatedDirective + ' '"
                             " + e.blockedURI));")
        seen: list[str] = []

        def gate(route: Any) -> None:
            seen.append(route.request.url)
            if origin(route.request.url) in {shop, base}:
                route.continue_()
            else:
                route.abort()

        page.route("**/*", gate)
        try:
            with page.expect_response(lambda r: r.url.endswith("/v1/batch")) as batch:
                page.goto(shop)
            assert batch.value.status == 200
            assert batch.value.headers["access-control-allow-origin"] == shop
            page.get_by_role("button", name="Buy").click()
            widget = page.locator("[data-kanaal-widget='callback']")
            widget.wait_for(timeout=10000)
            widget.get_by_label("Your phone number").fill("+31 6 87654321")
            widget.get_by_role("button", name="Call me").click()
            page.get_by_text("Thank you! We will call you at +31687654321.").wait_for()
            assert page.evaluate("window.__violations") == []
        finally:
            context.close()
        assert errors == []
        # Everything the snippet fetched came from the Kanaal host
        snippet_calls = [u for u in seen if origin(u) != shop]
        assert snippet_calls and {origin(u) for u in snippet_calls} == {base}
        assert {urlsplit(u).path for u in snippet_calls} >= {
            "/sdk/kanaal.js", "/sdk/widgets.css", "/v1/batch", "/v1/decisions",
            "/v1/touchpoints/callbacks"}
    [callback] = cc.list_callbacks(ctx)
    assert callback.context["cart"]["items"][0]["sku"] == "TV-OLED-65"


CANNED = {
    "show_phone": ("phone", "Call an advisor", "widget-phone.png"),
    "chat_invite": ("chat-invite", "Questions? Chat with us", "widget-chat-invite.png"),
    "offer": ("offer", "An offer for you", "widget-offer.png"),
}


def canned_decision(kind: str) -> dict[str, Any]:
    """A decision of the given kind, as POST /v1/decisions answers it."""
    return {"decision_id": f"dec_canned_{kind}", "action": {
        "type": kind, "queue": "sales", "predicted_wait_seconds": 180.0,
        "message": "10% off the Barista Pro, as discussed with Anna." if kind == "offer"
        else None, "offer_code": "KN7Q4MX2PA" if kind == "offer" else None,
        "expires_at": "2026-01-05T10:00:00Z"},
        "expected": {"incremental_margin": "5.00", "contact_cost": "0.60",
                     "p_buy_nothing": 0.1, "p_buy_action": 0.2},
        "alternatives": [], "reasons": [], "experiment": {"name": "default", "arm": "kanaal"}}


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(CANNED))
def test_each_widget_kind_renders_accessibly_and_reports_its_dismissal(
    ctx: AppContext, keys: Keys, browser: Any, kind: str
) -> None:
    # The engine's choice is canned here: this test is about rendering each action kind.
    widget_kind, title, picture = CANNED[kind]
    ctx.business["touchpoints"] = {"demo_write_key": keys.write}
    outcomes: list[str] = []

    def fulfil_outcome(route: Any) -> None:
        event = json.loads(route.request.post_data)["event"]
        outcomes.append(event)
        route.fulfill(json={"decision_id": f"dec_canned_{kind}", "event": event,
                            "recorded": True, "events": outcomes})

    with live_server(create_app(ctx=ctx)) as base:
        context, page, errors = new_page(browser)
        page.route("**/v1/decisions", lambda r: r.fulfill(json=canned_decision(kind)))
        page.route("**/v1/decisions/*/outcome", fulfil_outcome)
        try:
            page.goto(f"{base}/demo/shop/cart")
            widget = page.locator(f"[data-kanaal-widget='{widget_kind}']")
            widget.wait_for()
            assert widget.get_by_role("heading").inner_text() == title
            assert widget.get_attribute("role") == "dialog"
            if kind != "offer":
                assert "Expected wait: about 3 minutes." in widget.inner_text()
            if kind == "show_phone":
                assert widget.get_by_role("link").get_attribute("href") == "tel:+31201234567"
            if kind == "offer":
                assert "Use code KN7Q4MX2PA at checkout." in widget.inner_text()
            shot(page, ctx, picture)
            if kind == "chat_invite":
                # Accepting the invitation opens the chat with the bot
                widget.get_by_role("button", name="Start chat").click()
                page.locator(".kanaal-log li[data-sender='bot']").first.wait_for()
                assert widget.count() == 0
                assert outcomes == ["shown", "accepted"]
                return
            # Keyboard: the close button is reachable and labelled
            widget.get_by_role("button", name="Close").focus()
            page.keyboard.press("Enter")
            assert widget.count() == 0
            page.wait_for_function("document.querySelectorAll('[data-kanaal-widget]')"
                                   ".length === 0")
        finally:
            context.close()
        assert errors == []
        assert outcomes == ["shown", "dismissed"]


@pytest.mark.browser
@pytest.mark.slow
def test_a_dutch_page_gets_the_widget_in_dutch(ctx: AppContext, keys: Keys,
                                               browser: Any) -> None:
    ctx.business["touchpoints"] = {"demo_write_key": keys.write}
    with live_server(create_app(ctx=ctx)) as base:
        context, page, errors = new_page(browser)
        page.route("**/v1/decisions", lambda r: r.fulfill(json={
            **canned_decision("callback_offer"), "decision_id": "dec_canned_nl"}))
        page.route("**/v1/decisions/*/outcome", lambda r: r.fulfill(json={
            "decision_id": "dec_canned_nl", "event": "shown", "recorded": True,
            "events": ["shown"]}))
        try:
            page.goto(f"{base}/demo/shop/cart?lang=nl")
            widget = page.locator("[data-kanaal-widget='callback']")
            widget.wait_for()
            assert widget.get_by_role("heading").inner_text() == "Zullen we u bellen?"
            assert "Verwachte wachttijd: ongeveer 3 minuten." in widget.inner_text()
            widget.get_by_label("Uw telefoonnummer").fill("abc")
            widget.get_by_role("button", name="Bel mij").click()
            assert widget.get_by_role("alert").inner_text() == (
                "Vul een geldig telefoonnummer in, bijv. 06 12345678.")
            shot(page, ctx, "widget-callback-nl.png")
        finally:
            context.close()
        assert errors == []


@pytest.mark.browser
@pytest.mark.slow
def test_a_shop_origin_that_is_not_allowed_gets_no_widget_and_a_clear_chat_error(
    ctx: AppContext, keys: Keys, browser: Any
) -> None:
    configure(ctx, keys, agents=1)
    settings = {"key": keys.write, "kanaal": ""}
    with live_server(shop_app(settings)) as shop, live_server(create_app(ctx=ctx)) as base:
        settings["kanaal"] = base
        context, page, _errors = new_page(browser)
        try:
            # The browser's preflight is refused, so the events never leave
            with page.expect_event("requestfailed",
                                   lambda r: r.url.endswith("/v1/batch")) as failed:
                page.goto(shop)
            assert failed.value.method == "POST"
            page.get_by_role("button", name="Buy").click()
            page.evaluate("window.kanaal.openChat()")
            page.locator("#kanaal-chat-error").get_by_text(
                "this origin may not open a chat").wait_for()
            assert page.locator("[data-kanaal-widget='callback']").count() == 0
        finally:
            context.close()
    assert cc.list_callbacks(ctx) == []
    assert page_events(ctx) == 0


def page_events(ctx: AppContext) -> int:
    """Customer events stored."""
    from sqlalchemy import func, select

    from kanaal.customers import store

    with ctx.db.reader() as session:
        return int(session.execute(select(func.count()).select_from(
            store.customer_events)).scalar_one())
