"""The dashboard's page, its live JSON and the locally served plotly.js."""

from __future__ import annotations

from fastapi.testclient import TestClient

from kanaal.contact_center.capacity import create_queue
from kanaal.core.clock import ManualClock
from kanaal.core.context import AppContext
from kanaal.decisions.service import runtime
from tests.conftest import Keys, bearer


def _decide(client: TestClient, keys: Keys, anonymous_id: str, page: str) -> dict:
    response = client.post("/v1/decisions", headers=bearer(keys.admin), json={
        "anonymousId": anonymous_id, "channel": "web",
        "context": {"page": {"type": page},
                    "cart": {"value": "300.00", "currency": "EUR",
                             "items": [{"sku": "TV-1", "quantity": 1, "price": "300.00"}]}}})
    assert response.status_code == 200, response.text
    return response.json()


def test_data_shows_queues_decisions_and_conversions(
        ctx: AppContext, client: TestClient, keys: Keys, clock: ManualClock) -> None:
    create_queue(ctx, name="sales", skill="sales", channel="phone", target_answer_seconds=20)
    first = _decide(client, keys, "a1", "cart")
    _decide(client, keys, "a2", "product")
    outcome = client.post(f"/v1/decisions/{first['decision_id']}/outcome",
                          headers={**bearer(keys.admin), "Idempotency-Key": "k1"},
                          json={"event": "converted", "margin": "80.00"})
    assert outcome.status_code == 200, outcome.text
    runtime(ctx).log.flush(ctx.db)
    response = client.get("/dashboard/data", headers=bearer(keys.read))
    assert response.status_code == 200, response.text
    body = response.json()
    assert [q["queue"] for q in body["queues"]] == ["sales"]
    assert body["queues"][0]["target_answer_seconds"] == 20.0
    assert body["decisions_today"] == 2
    minute = clock.now().strftime("%H:%M")
    per = body["decisions_per_minute"]
    assert per["minutes"][-1] == minute and len(per["minutes"]) == 30
    assert sum(counts[-1] for counts in per["actions"].values()) == 2
    assert body["conversions_by_channel"] == {"web": 1}


def test_data_needs_a_read_key_or_a_desk_session(client: TestClient, keys: Keys) -> None:
    missing = client.get("/dashboard/data")
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "missing_credentials"
    assert client.get("/dashboard/data", headers=bearer("sk_nonsense")).status_code == 401
    browser_key = client.get("/dashboard/data", headers=bearer(keys.write))
    assert browser_key.status_code == 403


def test_page_and_plotly_come_from_this_server(client: TestClient) -> None:
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert '<script src="/dashboard/plotly.js"></script>' in page.text
    assert "cdn" not in page.text.lower()
    assert "script-src 'self'" in page.headers["content-security-policy"]
    script = client.get("/dashboard/plotly.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "plotly.js v" in script.text[:2000]
    assert client.get("/static/js/dashboard.js").status_code == 200


def test_the_dashboard_links_its_analytics_section(client: TestClient, keys: Keys) -> None:
    page = client.get("/dashboard")
    assert '<a href="/analytics">Analytics</a>' in page.text
    analytics = client.get("/analytics", headers={"Authorization": f"Bearer {keys.read}"})
    assert analytics.status_code == 200
    assert "<h2>Experiments</h2>" in analytics.text
