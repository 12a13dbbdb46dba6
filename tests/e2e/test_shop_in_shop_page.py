"""Must show: a brand's themed section in Chromium; a question asked there reaches a brand agent
and no other; an order placed there is the retailer's, attributed to the brand in the report."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx
import pytest

from kanaal.app import create_app
from kanaal.contact_center import service as cc
from kanaal.core.context import AppContext
from tests.conftest import Keys, bearer
from tests.integration.test_shop_in_shop import BRAND, agent, retailer
from tests.support.browser import open_page
from tests.support.server import live_server

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LOGO_SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40">'
            b'<rect width="120" height="40" rx="6" fill="#f39c12"/>'
            b'<text x="60" y="27" font-family="sans-serif" font-size="20" font-weight="700" '
            b'fill="#0a3d62" text-anchor="middle">VOLTA</text></svg>')
LOGO = "data:image/svg+xml;base64," + base64.b64encode(LOGO_SVG).decode()


@pytest.mark.browser
@pytest.mark.slow
def test_a_themed_section_routes_questions_to_brand_agents_and_credits_orders(
    ctx: AppContext, keys: Keys, browser: Any
) -> None:
    ctx.business["shop_in_shop"] = {"write_key": keys.write}
    retailer(ctx)
    seller = agent(ctx, "Sam", ["sales"])
    rival = agent(ctx, "Zoe", ["brand:zap"])
    expert = agent(ctx, "Vera", ["brand:volta"])
    with live_server(create_app(ctx=ctx)) as base, httpx.Client(base_url=base) as api:
        created = api.post("/v1/shop-in-shop", json={**BRAND, "logo_url": LOGO},
                           headers=bearer(keys.writer))
        assert created.status_code == 201, created.text
        context, page, errors = open_page(browser, viewport={"width": 1200, "height": 820})
        try:
            page.goto(f"{base}/shop-in-shop/volta")
            header = page.locator(".sis-header")
            assert header.evaluate("e => getComputedStyle(e).backgroundColor") == (
                "rgb(10, 61, 98)")
            assert page.locator("button").first.evaluate(
                "e => getComputedStyle(e).backgroundColor") == "rgb(243, 156, 18)"
            assert page.get_by_role("heading", level=1).inner_text() == "Volta"
            # Ask the brand's expert a question
            ask = page.get_by_role("form", name="Ask a question")
            ask.get_by_label("Your question").fill("Does the wallbox do 22 kW?")
            ask.get_by_label("Your phone number").fill("06 12345678")
            ask.get_by_role("button", name="Send question").click()
            ask.get_by_text("Thank you! A Volta expert will call you back.").wait_for()
            if ctx.db.is_sqlite:
                page.screenshot(path=str(SCREENSHOTS / "shop-in-shop-volta.png"), full_page=True)
            # Buy the wallbox
            buy = page.get_by_role("form", name="Buy Listed VOLTA-WALLBOX")
            buy.get_by_label("E-mail for the order").fill("ann@example.com")
            buy.get_by_role("button", name="Buy").click()
            buy.get_by_text("Ordered!", exact=False).wait_for()
        finally:
            context.close()
        assert errors == []
        # Only the Volta agent gets the question
        assert cc.accept_next_callback(ctx, seller) is None
        assert cc.accept_next_callback(ctx, rival) is None
        taken = cc.accept_next_callback(ctx, expert)
        assert taken is not None
        assert (taken.queue, taken.context["question"]) == (
            "volta-questions", "Does the wallbox do 22 kW?")
        # The order is MediaMarkt's, attributed to Volta
        report = api.get("/v1/shop-in-shop/volta/report", headers=bearer(keys.read)).json()
        [order] = report["orders"]
        assert (order["credited_to"], order["attributed_brand"], order["total"]) == (
            "MediaMarkt", "Volta", "899.00")
        assert report["brand_view"]["contacts"] == 1
        assert report["retailer_view"]["revenue_credited"] == "899.00"
        missing = api.get("/shop-in-shop/zap")
        assert (missing.status_code, missing.json()["error"]["code"]) == (404, "unknown_brand")
