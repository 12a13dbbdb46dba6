"""The dashboard's page, its live JSON and the locally served plotly.js."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from kanaal.contact_center import service as cc
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


def test_data_shows_actual_waits_of_recently_answered_contacts_beside_the_prediction(
        ctx: AppContext, client: TestClient, keys: Keys, clock: ManualClock) -> None:
    create_queue(ctx, name="sales", skill="sales", channel="phone", target_answer_seconds=20)
    create_queue(ctx, name="support", skill="support", channel="phone")
    agent = cc.create_agent(ctx, name="Ann", email="ann@x.nl", password="correct horse battery",
                            skills=["sales"])
    cc.set_agent_state(ctx, agent.id, "available")
    # An old answer (outside the 15-minute window), then waits of 10, 20 and 60 seconds
    for wait in (300, 10, 20, 60):
        clock.advance(minutes=10 if wait == 300 else 1)
        opened = cc.record_interaction(
            ctx, kind="call", agent_id=None, customer_id=None, identities={}, queue="sales",
            queued_at=clock.now() - timedelta(seconds=wait))
        assert opened.wait_seconds == wait
    clock.advance(minutes=12, seconds=1)  # the 300 s answer is now just over 15 minutes old
    body = client.get("/dashboard/data", headers=bearer(keys.read)).json()
    by_queue = {q["queue"]: q for q in body["queues"]}
    assert body["actual_wait_window_minutes"] == 15
    sales = by_queue["sales"]
    assert (sales["answered_recently"], sales["actual_wait_mean_seconds"],
            sales["actual_wait_p90_seconds"]) == (3, 30.0, 60.0)
    assert sales["predicted_wait_seconds"] is not None
    assert (by_queue["support"]["answered_recently"],
            by_queue["support"]["actual_wait_mean_seconds"]) == (0, None)
    clock.advance(minutes=3)
    later = client.get("/dashboard/data", headers=bearer(keys.read)).json()
    assert later["queues"][0]["answered_recently"] == 0


def test_the_wait_chart_draws_predicted_and_actual_wait(client: TestClient) -> None:
    assert "Predicted and actual wait vs target (s)" in client.get("/dashboard").text
    script = client.get("/static/js/dashboard.js").text
    assert "q.actual_wait_mean_seconds" in script and "q.actual_wait_p90_seconds" in script
