"""Must show: the agent desk end to end in Chromium, with live updates and the customer timeline.

An agent signs in and goes available; a callback created through the API appears in the desk
without a reload; the agent accepts it, sees the customer's earlier web pages, logs a sale;
the customer's timeline then shows the call and the sale.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from kanaal.app import create_app
from kanaal.core.context import AppContext
from kanaal.core.ids import SequentialIds
from tests.conftest import Keys, bearer
from tests.support.server import live_server

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
EMAIL = "anna@example.com"
PASSWORD = "correct horse battery"
PAGES = [
    ("2026-01-05T08:31:00Z", "Espresso machines", "https://shop.test/c/espresso"),
    ("2026-01-05T08:34:00Z", "Barista Pro espresso machine", "https://shop.test/p/barista-pro"),
    ("2026-01-05T08:39:00Z", "Barista Pro: delivery and warranty",
     "https://shop.test/p/barista-pro/warranty"),
]


def _setup(api: httpx.Client, keys: Keys) -> str:
    """A callback queue, an offline agent and a visitor who browsed three pages; the customer."""
    admin = bearer(keys.admin)
    assert api.post("/v1/contact-center/queues", headers=admin, json={
        "name": "sales-callbacks", "skill": "sales", "channel": "callback"}).status_code == 201
    assert api.post("/v1/agents", headers=admin, json={
        "name": "Anna de Vries", "email": EMAIL, "password": PASSWORD,
        "skills": ["sales"]}).status_code == 201
    web = httpx.BasicAuth(keys.write, "")
    known = api.post("/v1/identify", auth=web, json={
        "anonymousId": "anon-e2e", "timestamp": "2026-01-05T08:30:00Z",
        "traits": {"name": "Sanne Jansen", "email": "sanne@example.com"}})
    assert known.status_code == 200, known.text
    for timestamp, title, url in PAGES:
        sent = api.post("/v1/page", auth=web, json={
            "anonymousId": "anon-e2e", "name": title, "timestamp": timestamp,
            "properties": {"title": title, "url": url}})
        assert sent.status_code == 200, sent.text
    added = api.post("/v1/track", auth=web, json={
        "anonymousId": "anon-e2e", "event": "Product Added", "timestamp": "2026-01-05T08:41:00Z",
        "properties": {"name": "Barista Pro", "price": 649, "currency": "EUR", "quantity": 1}})
    assert added.status_code == 200, added.text
    found = api.get("/v1/customers", headers=bearer(keys.read), params={"anonymous_id": "anon-e2e"})
    assert found.status_code == 200, found.text
    customer_id: str = found.json()["id"]
    return customer_id


def _shot(page: Any, ctx: AppContext, name: str) -> None:
    # One run writes the documentation's screenshots (the SQLite one); the others only test.
    if ctx.db.is_sqlite:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


@pytest.mark.browser
@pytest.mark.slow
def test_agent_takes_a_live_callback_sees_the_web_visit_and_logs_a_sale(
    ctx: AppContext, keys: Keys, browser: Any
) -> None:
    ctx.ids = SequentialIds()  # the same ids on every run: screenshots change only with the UI
    with live_server(create_app(ctx=ctx)) as base, httpx.Client(base_url=base) as api:
        customer_id = _setup(api, keys)
        context = browser.new_context(viewport={"width": 1280, "height": 820})
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        try:
            # Given an agent who signs in and goes available
            page.goto(f"{base}/desk/login")
            page.get_by_label("Email").fill(EMAIL)
            page.get_by_label("Password").fill(PASSWORD)
            _shot(page, ctx, "desk-login.png")
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{base}/desk")
            page.get_by_role("button", name="Available").click()
            page.wait_for_url(f"{base}/desk")
            assert page.get_by_test_id("agent-state").inner_text() == "Available"
            page.wait_for_selector("#live-status[data-state='live']")
            page.evaluate("window.kanaalNoReload = true")

            # When a callback is created through the API, it appears live (no reload)
            created = api.post("/v1/callbacks", headers=bearer(keys.writer), json={
                "phone": "+31 6 12345678", "queue": "sales-callbacks",
                "customer_id": customer_id,
                "context": {"reason": "Question about the Barista Pro warranty"}})
            assert created.status_code == 201, created.text
            callback_id = created.json()["id"]
            page.wait_for_selector(f"tr[data-callback-id='{callback_id}']", timeout=15000)
            assert page.evaluate("window.kanaalNoReload") is True
            assert page.get_by_test_id("queue-count").inner_text() == "1 due now"
            assert "+31612345678" in page.locator("#callback-queue").inner_text()
            _shot(page, ctx, "desk-queue.png")

            # And the agent accepts it and sees the customer's earlier web pages
            page.get_by_role("button", name="Accept next").click()
            page.wait_for_url(f"{base}/desk/interactions/*")
            timeline = page.get_by_test_id("timeline").inner_text()
            for _, title, _ in PAGES:
                assert title in timeline
            assert "Barista Pro · × 1 · EUR 649.00" in timeline
            panel = page.inner_text("#customer-panel")
            assert "Question about the Barista Pro warranty" in panel
            assert "Sanne Jansen" in panel and "sanne@example.com" in panel

            # And logs a sale
            page.get_by_label("Sale", exact=True).check()
            page.get_by_label("Sale value (EUR)").fill("649.00")
            page.get_by_label("Upsell value (EUR)", exact=False).fill("49.95")
            page.get_by_label("Notes").fill("Added the milk jug; delivery Thursday.")
            _shot(page, ctx, "desk-customer.png")
            page.get_by_role("button", name="Log outcome").click()
            page.wait_for_url(f"{base}/desk?notice=outcome_logged")
            assert "Outcome logged." in page.get_by_role("status").first.inner_text()
            assert page.get_by_test_id("agent-state").inner_text() == "Wrap-up"
            assert errors == []
        finally:
            context.close()

        # Then the customer's timeline shows the call and the sale
        timeline_events = api.get(f"/v1/customers/{customer_id}/timeline",
                                  headers=bearer(keys.read)).json()["events"]
        call = next(e for e in timeline_events if e["event"] == "Call Completed")
        assert call["channel"] == "phone"
        assert (call["properties"]["outcome"], call["properties"]["sale_value"],
                call["properties"]["upsell_value"]) == ("sale", "649.00", "49.95")
        assert [e["event"] for e in timeline_events].count("Callback Requested") == 1


@pytest.mark.browser
def test_signing_in_works_with_the_keyboard_alone_and_a_wrong_password_is_explained(
    ctx: AppContext, keys: Keys, browser: Any
) -> None:
    with live_server(create_app(ctx=ctx)) as base, httpx.Client(base_url=base) as api:
        assert api.post("/v1/agents", headers=bearer(keys.admin), json={
            "name": "Anna de Vries", "email": EMAIL, "password": PASSWORD,
            "skills": ["sales"]}).status_code == 201
        context = browser.new_context()
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        try:
            page.goto(f"{base}/desk/login")
            # The e-mail field takes focus on arrival (autofocus); wait for it under load.
            expect(page.get_by_label("Email")).to_be_focused()
            page.keyboard.type(EMAIL)
            page.keyboard.press("Tab")
            page.keyboard.type("not the password")
            page.keyboard.press("Enter")
            page.wait_for_load_state()
            assert page.get_by_role("alert").inner_text() == "Wrong email or password."
            assert page.get_by_label("Email").input_value() == EMAIL
            page.get_by_label("Password").focus()
            page.keyboard.type(PASSWORD)
            page.keyboard.press("Enter")
            page.wait_for_url(f"{base}/desk")
            page.get_by_role("button", name="Sign out").click()
            page.wait_for_url(f"{base}/desk/login?notice=signed_out")
            assert "You are signed out." in page.get_by_role("status").inner_text()
            page.goto(f"{base}/desk")
            assert page.url == f"{base}/desk/login"
            # the only failed load is the refused sign-in; no CSP violation, no script error
            assert errors == [
                "Failed to load resource: the server responded with a status of 401 (Unauthorized)"
            ]
        finally:
            context.close()
