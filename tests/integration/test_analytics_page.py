"""The dashboard's analytics section: the report as a page for desk sessions and read keys."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from kanaal.core.context import AppContext
from tests.conftest import Keys, bearer
from tests.integration.test_analytics_reports import record_fixed_events
from tests.integration.test_desk import make_agent, sign_in


def test_a_read_key_gets_the_report_page_with_no_network_allowed(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    record_fixed_events(ctx)
    page = client.get("/analytics", headers=bearer(keys.read))
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert "<td>web &gt; phone &gt; web</td><td>2</td>" in page.text
    assert "Cannibalization: does the phone upsell pay? (EUR)" in page.text
    policy = page.headers["content-security-policy"]
    assert policy.startswith("default-src 'none';") and "frame-ancestors 'none'" in policy
    assert page.headers["cache-control"] == "no-store"


def test_a_signed_in_desk_agent_sees_it_too(ctx: AppContext, client: TestClient) -> None:
    make_agent(ctx)
    assert sign_in(client).status_code == 303
    page = client.get("/analytics")
    assert page.status_code == 200, page.text
    assert "<h1>Kanaal analytics</h1>" in page.text


def test_others_are_refused(client: TestClient, keys: Keys) -> None:
    missing = client.get("/analytics")
    assert (missing.status_code, missing.json()["error"]["code"]) == (401,
                                                                      "missing_credentials")
    browser_key = client.get("/analytics", headers=bearer(keys.write))
    assert (browser_key.status_code, browser_key.json()["error"]["code"]) == (
        403, "secret_key_required")
    bad_window = client.get("/analytics", params={"since": "2026-01-05T00:00:00"},
                            headers=bearer(keys.read))
    assert (bad_window.status_code, bad_window.json()["error"]["code"]) == (422,
                                                                            "naive_datetime")


def test_the_figures_draw_in_a_browser_under_the_page_policy(
    ctx: AppContext, client: TestClient, keys: Keys, browser: Any
) -> None:
    record_fixed_events(ctx)
    served = client.get("/analytics", headers=bearer(keys.read))
    page = browser.new_page()
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.route("http://kanaal.test/analytics", lambda route: route.fulfill(
        status=200, body=served.text, headers={
            "content-type": "text/html; charset=utf-8",
            "content-security-policy": served.headers["content-security-policy"]}))
    try:
        page.goto("http://kanaal.test/analytics")
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length"
                               " >= 3")
        plots = page.eval_on_selector_all(".js-plotly-plot", "nodes => nodes.length")
    finally:
        page.close()
    assert plots == 3  # Sankey, funnel, attribution bars
    assert refused == []
