"""The snippet's transport in Chromium: events queued at unload leave with sendBeacon, and a
failed batch is retried with backoff and stored once."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from kanaal.app import create_app
from kanaal.core.context import AppContext
from tests.conftest import Keys, bearer
from tests.e2e.test_web_widgets import new_page, timeline
from tests.support.server import live_server


def events_of(api: httpx.Client, keys: Keys, anonymous_id: str) -> list[str | None]:
    """Names of the visitor's track events, oldest first."""
    found = api.get("/v1/customers", headers=bearer(keys.read),
                    params={"anonymous_id": anonymous_id})
    assert found.status_code == 200, found.text
    return [e["event"] for e in reversed(timeline(api, keys, found.json()["id"]))
            if e["type"] == "track"]


@pytest.mark.browser
@pytest.mark.slow
def test_events_queued_when_the_page_is_left_leave_with_a_beacon(
    ctx: AppContext, keys: Keys, browser: Any
) -> None:
    ctx.business["touchpoints"] = {"demo_write_key": keys.write}
    with live_server(create_app(ctx=ctx)) as base, httpx.Client(base_url=base) as api:
        context, page, errors = new_page(browser)
        # Playwright does not report beacons: record the batches fetch() sent instead.
        fetched: list[str] = []
        context.on("request", lambda r: fetched.append(r.post_data or "")
                   if r.url.endswith("/v1/batch") else None)
        try:
            with page.expect_response(lambda r: r.url.endswith("/v1/batch")):
                page.goto(f"{base}/demo/shop")
            anonymous_id = page.evaluate("window.kanaal.anonymousId()")
            # Queued (the batching window is 300 ms) and the visitor leaves at once
            page.evaluate("window.kanaal.track('Newsletter Viewed', {placement: 'footer'})")
            page.goto(f"{base}/demo/shop/cart")
            page.wait_for_timeout(500)
        finally:
            context.close()
        assert errors == []
        # The event arrived, and not through fetch(): the beacon carried it
        assert "Newsletter Viewed" in events_of(api, keys, anonymous_id)
        # fetch() carried the page views (how many batches depends on timing), never the
        # event queued at unload
        assert fetched
        assert not any("Newsletter Viewed" in body for body in fetched)


@pytest.mark.browser
@pytest.mark.slow
def test_a_failed_batch_is_retried_and_stored_once(
    ctx: AppContext, keys: Keys, browser: Any
) -> None:
    ctx.business["touchpoints"] = {"demo_write_key": keys.write}
    attempts: list[int] = []

    def flaky(route: Any) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            route.fulfill(status=503, json={"error": {"code": "unavailable",
                                                      "message": "try again", "details": []}})
        else:
            route.continue_()

    with live_server(create_app(ctx=ctx)) as base, httpx.Client(base_url=base) as api:
        context, page, errors = new_page(browser)
        page.route("**/v1/batch", flaky)
        try:
            with page.expect_response(lambda r: r.url.endswith("/v1/batch")
                                      and r.status == 200, timeout=10000):
                page.goto(f"{base}/demo/shop/p/CAFE-MINI")
            anonymous_id = page.evaluate("window.kanaal.anonymousId()")
        finally:
            context.close()
        assert len(attempts) == 2
        assert [e for e in errors if "503" not in e] == []
        assert events_of(api, keys, anonymous_id) == ["Product Viewed"]
