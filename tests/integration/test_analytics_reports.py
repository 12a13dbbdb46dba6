"""Journeys and attribution over the real timeline (recorded through collect), over HTTP."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from kanaal.collect.service import record_event
from kanaal.core.context import AppContext
from tests.conftest import Keys, bearer
from tests.unit.test_journeys import EVENTS


def record_fixed_events(ctx: AppContext) -> None:
    """The unit test's fixed event set, recorded as real events with user ids."""
    with ctx.db.transaction() as session:
        for index, (customer, name, channel, at, revenue) in enumerate(EVENTS):
            record_event(
                session, ctx, event=name, identities={"user_id": f"user-{customer}"},
                properties={} if revenue is None else {"revenue": revenue, "currency": "EUR"},
                channel=channel, source="test", message_id=f"m{index}", timestamp=at)


def test_journeys_over_recorded_events(ctx: AppContext, client: TestClient, keys: Keys) -> None:
    record_fixed_events(ctx)
    response = client.get("/v1/analytics/journeys", headers=bearer(keys.read))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["customers"], body["converted"]) == (8, 4)
    assert body["top_purchase_paths"] == [
        {"path": "web > phone > web", "customers": 2}, {"path": "web", "customers": 1},
        {"path": "web > phone", "customers": 1}]
    assert body["top_dropout_paths"] == [
        {"path": "web", "customers": 2}, {"path": "store > web", "customers": 1},
        {"path": "web > store", "customers": 1}]
    assert body["mean_touches_to_purchase"] == 2.5
    assert body["funnels"][0] == {"mix": "phone+web", "customers": 3, "orientation": 3,
                                  "comparison": 3, "decision": 3, "purchase": 3,
                                  "after_sales": 1}
    assert body["sankey"][0] == {"source": "1. web", "target": "2. phone", "customers": 3}


def test_attribution_over_recorded_events(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    record_fixed_events(ctx)
    response = client.get("/v1/analytics/attribution?on=revenue", headers=bearer(keys.read))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["customers"], body["conversions"]) == (8, 4)
    # Purchases: c1 web>phone>web 100, c2 web>web>phone 200, c3 web 50, c4 web>phone>web 80.
    assert body["models"]["first_touch"] == {"phone": "0.00", "web": "430.00"}
    assert body["models"]["last_touch"] == {"phone": "200.00", "web": "230.00"}
    assert body["models"]["linear"] == {"phone": "126.67", "web": "303.33"}
    markov = body["models"]["markov"]
    assert sum(Decimal(v) for v in markov.values()) == pytest.approx(Decimal("430.00"),
                                                                      abs=Decimal("0.02"))


def test_a_window_filters_events_and_bad_windows_are_refused(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    record_fixed_events(ctx)
    day2 = "2026-01-06T00:00:00Z"
    before = client.get(f"/v1/analytics/journeys?until={day2}", headers=bearer(keys.read))
    # Before day 2 only c2 and c3 bought.
    assert before.json()["converted"] == 2
    bad = client.get(f"/v1/analytics/journeys?since={day2}&until=2026-01-05T00:00:00Z",
                     headers=bearer(keys.read))
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_window")
    basis = client.get("/v1/analytics/attribution?on=margin", headers=bearer(keys.read))
    assert (basis.status_code, basis.json()["error"]["code"]) == (422, "validation_error")
    anonymous = client.get("/v1/analytics/journeys", headers=bearer(keys.write))
    assert anonymous.status_code == 403


def test_an_empty_timeline_gives_empty_reports(client: TestClient, keys: Keys) -> None:
    body = client.get("/v1/analytics/journeys", headers=bearer(keys.read)).json()
    assert (body["customers"], body["top_purchase_paths"], body["sankey"]) == (0, [], [])
    credit = client.get("/v1/analytics/attribution", headers=bearer(keys.read)).json()
    assert credit["models"]["markov"] == {} and credit["conversions"] == 0
