"""Cannibalization on the decision engine's real log: decisions over HTTP, outcomes, orders
joined by the engine's attribution, and the analytics endpoint checked by hand."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from scipy import stats

from kanaal.collect.service import record_event
from kanaal.core.context import AppContext
from kanaal.decisions.holdout import Experiment
from kanaal.decisions.outcomes import attribute_conversions
from kanaal.decisions.reports import decision_outcomes
from tests.conftest import Keys, bearer
from tests.integration.test_decisions_api import PERSUADABLE, basic, staffed

URL = "/v1/analytics/cannibalization"
BROWSING: dict[str, Any] = {"channel": "web", "context": {"page": {"type": "home"}}}


@pytest.fixture
def held_out(ctx: AppContext) -> AppContext:
    """Half the customers in the holdout of experiment nbc-q1; no exploration, and the
    attribution worker left to the test."""
    ctx.business["decisions"] = {"explore": False, "attribution_interval_seconds": 3600,
                                 "experiment": {"name": "nbc-q1", "holdout_share": 0.5}}
    return ctx


def customers_by_arm(ctx: AppContext) -> dict[str, list[tuple[str, str]]]:
    """Three (anonymous id, customer id) per arm, known to the timeline before they decide."""
    experiment = Experiment(name="nbc-q1", holdout_share=0.5)
    found: dict[str, list[tuple[str, str]]] = {"holdout": [], "kanaal": []}
    for n in range(60):
        with ctx.db.transaction() as session:
            customer = record_event(session, ctx, event="Page Viewed", channel="web",
                                    identities={"anonymous_id": f"anon-{n}"}, source="web")
        arm = experiment.arm_for(customer)
        if len(found[arm]) < 3:
            found[arm].append((f"anon-{n}", customer))
        if all(len(v) == 3 for v in found.values()):
            return found
    raise AssertionError("60 customers did not fill both arms")


def order(ctx: AppContext, anonymous_id: str, order_id: str, margin: str) -> None:
    """An "Order Completed" as the orders feature writes it."""
    with ctx.db.transaction() as session:
        record_event(session, ctx, event="Order Completed", channel="web", source="orders",
                     identities={"anonymous_id": anonymous_id},
                     properties={"order_id": order_id, "revenue": "600.00", "margin": margin})


def welch(treated: list[float], holdout: list[float]) -> tuple[float, float, float]:
    """(low, high, p) of treated minus holdout by scipy's Welch test."""
    test = stats.ttest_ind(treated, holdout, equal_var=False)
    interval = test.confidence_interval(0.95)
    return float(interval.low), float(interval.high), float(test.pvalue)


def cents(value: float) -> str:
    return str(Decimal(repr(value)).quantize(Decimal("0.01")))


def test_the_endpoint_measures_assistance_against_the_holdout_by_hand(
    held_out: AppContext, client: TestClient, keys: Keys
) -> None:
    ctx = held_out
    staffed(ctx)  # a phone queue "sales" with a handle time of 480 s: a contact is 8 minutes
    arms = customers_by_arm(ctx)
    (t1, _), (t2, _), (t3, _) = arms["kanaal"]
    (h1, _), (h2, _), (h3, _) = arms["holdout"]

    def decide(anonymous_id: str, body: dict[str, Any] = PERSUADABLE) -> dict[str, Any]:
        response = client.post("/v1/decisions", json={**body, "anonymousId": anonymous_id},
                               headers=basic(keys.write))
        assert response.status_code == 200, response.text
        return dict(response.json())

    made = {a: decide(a) for a in (t1, t2, t3, h1, h2, h3)}
    assert [made[a]["action"]["type"] for a in (t1, t2, t3)] == ["callback_offer"] * 3
    assert [made[a]["action"]["type"] for a in (h1, h2, h3)] == ["none"] * 3
    with ctx.db.transaction() as session:
        record_event(session, ctx, event="Page Viewed", channel="web", source="web",
                     identities={"anonymous_id": "anon-browser"})
    browser = decide("anon-browser", BROWSING)  # nothing pays: not a customer to compare
    assert browser["action"]["type"] == "none"

    def outcome(anonymous_id: str, event: str, **extra: str) -> None:
        url = f"/v1/decisions/{made[anonymous_id]['decision_id']}/outcome"
        response = client.post(url, json={"event": event, **extra}, headers=basic(keys.write))
        assert response.json()["recorded"] is True, response.text

    outcome(t1, "accepted")
    outcome(t2, "contacted")
    outcome(h2, "shown")
    outcome(h3, "converted", revenue="100", margin="30")
    ctx.clock.advance(hours=1)
    decide(t1)  # a second decision of t1: the same order is attributed to both, counted once
    ctx.clock.advance(days=2)
    order(ctx, t1, "ord_t1", "150.00")
    order(ctx, t3, "ord_t3", "90.00")
    order(ctx, h1, "ord_h1", "120.00")
    order(ctx, "anon-browser", "ord_b", "500.00")
    assert attribute_conversions(ctx) == 5  # t1 twice, t3, h1, the browser (h3 was converted)

    rows = {r.decision_id: r for r in decision_outcomes(ctx, experiment="nbc-q1")}
    first = rows[made[t1]["decision_id"]]
    assert (first.accepted, first.agent_minutes, first.contact_cost, first.margin) == (
        True, Decimal(8), Decimal("6.00"), Decimal("150.00"))
    held = rows[made[h1]["decision_id"]]
    assert (held.holdout, held.policy, held.action, held.best_action, held.contact_cost) == (
        True, "never", "none", "callback_offer", Decimal("0.00"))
    assert rows[browser["decision_id"]].best_action == "none"

    response = client.get(URL, headers=bearer(keys.read))
    assert response.status_code == 200, response.text
    body = response.json()
    # By hand, per customer from their first eligible decision: margin, contact cost.
    treated_net = [150.0 - 6.0, 0.0 - 6.0, 90.0]
    holdout_net = [120.0, 0.0, 30.0]
    low, high, p = welch(treated_net, holdout_net)
    m_low, m_high, _ = welch([150.0, 0.0, 90.0], [120.0, 0.0, 30.0])
    assert body["arms"] == [
        {"arm": "holdout", "customers": 3, "decisions": 3, "contacts": 0, "converted": 2,
         "margin": "150.00", "contact_cost": "0.00", "margin_per_customer": "50.00",
         "contact_cost_per_customer": "0.00", "net_margin_per_customer": "50.00"},
        {"arm": "kanaal", "customers": 3, "decisions": 4, "contacts": 2, "converted": 2,
         "margin": "240.00", "contact_cost": "12.00", "margin_per_customer": "80.00",
         "contact_cost_per_customer": "4.00", "net_margin_per_customer": "76.00"},
    ]
    assert body["estimate"] == {
        "treated": 3, "holdout": 3, "confidence": 0.95, "incremental_margin": "30.00",
        "margin_ci_low": cents(m_low), "margin_ci_high": cents(m_high),
        "extra_contact_cost": "4.00", "incremental_net_margin": "26.00",
        "ci_low": cents(low), "ci_high": cents(high), "p_value": round(p, 6)}
    assert (body["experiment"], body["treated_arm"], body["currency"]) == ("nbc-q1", None,
                                                                           "EUR")
    assert (body["decisions"], body["customers"], body["customers_not_eligible"]) == (8, 6, 1)
    assert body["verdict"] == "inconclusive"
    assert body["answer"] == (
        "Not measured yet whether the phone upsell exceeds the extra contact cost: assisted "
        f"customers bring 26.00 EUR net margin each against the holdout (95% interval "
        f"{cents(low)} to {cents(high)} EUR), and the interval includes zero.")
    only_kanaal = client.get(URL, params={"arm": "kanaal"}, headers=bearer(keys.read)).json()
    assert only_kanaal["estimate"] == body["estimate"]
    report = client.get("/v1/analytics/report", headers=bearer(keys.read))
    assert "Cannibalization: does the phone upsell pay? (EUR)" in report.text
    assert body["answer"] in report.text


def test_a_window_without_decisions_has_not_enough_data(
    held_out: AppContext, client: TestClient, keys: Keys
) -> None:
    staffed(held_out)
    client.post("/v1/decisions", json=PERSUADABLE, headers=basic(keys.write))
    later = client.get(URL, params={"since": "2026-01-06T00:00:00Z"},
                       headers=bearer(keys.read)).json()
    other = client.get(URL, params={"experiment": "spring"}, headers=bearer(keys.read)).json()
    for body in (later, other):
        assert (body["decisions"], body["customers"], body["arms"], body["estimate"],
                body["verdict"]) == (0, 0, [], None, "not_enough_data")
    assert later["answer"] == ("Not enough data yet: the comparison needs at least 2 customers "
                               "in each arm whose net value differs.")
    assert other["experiment"] == "spring"


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"arm": "holdout"}, 422, "invalid_arm"),
        ({"since": "2026-01-06T00:00:00Z", "until": "2026-01-05T00:00:00Z"}, 422,
         "invalid_window"),
        ({"since": "2026-01-06T00:00:00"}, 422, "naive_datetime"),
        ({"currency": "eur"}, 422, "invalid_currency"),
        ({"currency": "EURO"}, 422, "validation_error"),
    ],
)
def test_bad_queries_are_refused_with_a_code(
    held_out: AppContext, client: TestClient, keys: Keys, params: dict[str, str], status: int,
    code: str
) -> None:
    response = client.get(URL, params=params, headers=bearer(keys.read))
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)


def test_only_read_keys_see_the_figures(client: TestClient, keys: Keys) -> None:
    refused = client.get(URL, headers=basic(keys.write))
    assert (refused.status_code, refused.json()["error"]["code"]) == (403,
                                                                      "secret_key_required")
    assert client.get(URL).status_code == 401
