"""Experiments over HTTP on SQLite and PostgreSQL: define, assign, observe, results."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from kanaal.analytics import service, store
from kanaal.analytics.domain import assign
from kanaal.core.context import AppContext
from tests.conftest import Keys, bearer

DEFINITION: dict[str, Any] = {
    "name": "Call-me button on product pages",
    "target_kind": "widget",
    "target_name": "call-me-button",
    "arms": [{"name": "control", "weight": "0.5"}, {"name": "button", "weight": "0.5"}],
    "metrics": ["conversion", "revenue_per_visitor"],
    "guardrails": ["service_level"],
    "hypothesis": "a visible phone button raises conversion without hurting service level",
}


def row_counts(ctx: AppContext) -> tuple[int, int, int]:
    """Rows in the experiments, exposures and values tables."""
    with ctx.db.reader() as session:
        return tuple(  # type: ignore[return-value]
            session.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (store.experiments, store.exposures, store.metric_values))


def create(client: TestClient, keys: Keys, **changes: Any) -> dict[str, Any]:
    """POST a definition (with changes) and return the created experiment."""
    response = client.post("/v1/experiments", json={**DEFINITION, **changes},
                           headers=bearer(keys.admin))
    assert response.status_code == 201, response.text
    return response.json()


def customers_per_arm(ctx: AppContext, experiment_id: str, per_arm: int) -> dict[str, list[str]]:
    """The first `per_arm` customer ids that hash into each arm."""
    experiment = service.get_experiment(ctx, experiment_id)
    found: dict[str, list[str]] = {a.name: [] for a in experiment.arms}
    index = 0
    while any(len(v) < per_arm for v in found.values()):
        customer = f"cus_{index:06d}"
        arm = assign(experiment, customer).name
        if len(found[arm]) < per_arm:
            found[arm].append(customer)
        index += 1
    return found


def post(client: TestClient, keys: Keys, experiment_id: str, items: list[dict[str, Any]]) -> None:
    """POST observations in batches of 1000."""
    for start in range(0, len(items), 1000):
        response = client.post(f"/v1/experiments/{experiment_id}/observations",
                               json={"observations": items[start:start + 1000]},
                               headers=bearer(keys.writer))
        assert response.status_code == 200, response.text


def test_an_admin_defines_an_experiment_and_reads_it_back(
    client: TestClient, keys: Keys
) -> None:
    created = create(client, keys)
    assert created["id"].startswith("exp_") and created["status"] == "running"
    assert created["arms"] == [{"name": "control", "weight": "0.5"},
                               {"name": "button", "weight": "0.5"}]
    fetched = client.get(f"/v1/experiments/{created['id']}", headers=bearer(keys.read))
    assert fetched.json() == created
    listed = client.get("/v1/experiments?target_kind=widget", headers=bearer(keys.read))
    assert [e["id"] for e in listed.json()["experiments"]] == [created["id"]]
    missing = client.get("/v1/experiments/exp_nope", headers=bearer(keys.read))
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "unknown_experiment")


@pytest.mark.parametrize(
    ("changes", "code", "loc"),
    [
        ({"arms": []}, "too_few_arms", ["body", "arms"]),
        ({"arms": [{"name": "a", "weight": "0.6"}, {"name": "b", "weight": "0.6"}]},
         "weights_not_one", ["body", "arms"]),
        ({"metrics": ["conversion", "happiness"]}, "unknown_metric", ["body", "metrics", 1]),
        ({"guardrails": ["latency"]}, "unknown_metric", ["body", "guardrails", 0]),
        ({"target_kind": "banner"}, "unknown_target_kind", ["body", "target_kind"]),
    ],
)
def test_bad_definitions_are_refused_and_nothing_is_saved(
    ctx: AppContext, client: TestClient, keys: Keys, changes: dict[str, Any], code: str,
    loc: list[Any],
) -> None:
    response = client.post("/v1/experiments", json={**DEFINITION, **changes},
                           headers=bearer(keys.admin))
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["details"][0]["loc"]) == (code, loc)
    assert row_counts(ctx) == (0, 0, 0)


def test_only_admin_keys_define_experiments(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    response = client.post("/v1/experiments", json=DEFINITION, headers=bearer(keys.writer))
    assert (response.status_code, response.json()["error"]["code"]) == (403, "missing_scope")
    assert row_counts(ctx) == (0, 0, 0)


def test_assignment_is_stable_and_exposure_is_recorded_once(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    experiment_id = create(client, keys)["id"]
    url = f"/v1/experiments/{experiment_id}/assignment?customer_id=cus_7"
    first = client.get(url, headers=bearer(keys.write)).json()
    again = client.get(url, headers=bearer(keys.read)).json()
    expected = assign(service.get_experiment(ctx, experiment_id), "cus_7").name
    assert first == again == {"experiment_id": experiment_id, "customer_id": "cus_7",
                              "arm": expected, "exposed": False}
    post(client, keys, experiment_id, [{"customer_id": "cus_7"}, {"customer_id": "cus_7"}])
    assert client.get(url, headers=bearer(keys.read)).json()["exposed"] is True
    assert row_counts(ctx) == (1, 1, 0)


def test_results_match_growthbook_on_100_of_1000_against_120_of_1000(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    experiment_id = create(client, keys)["id"]
    arms = customers_per_arm(ctx, experiment_id, 1000)
    items: list[dict[str, Any]] = []
    for arm, buyers in (("control", 100), ("button", 120)):
        for i, customer in enumerate(arms[arm]):
            items.append({"customer_id": customer})
            if i < buyers:
                items.append({"customer_id": customer, "metric": "conversion", "value": 1})
                items.append({"customer_id": customer, "metric": "conversion", "value": 1})
    post(client, keys, experiment_id, items)

    results = client.get(f"/v1/experiments/{experiment_id}/results",
                         headers=bearer(keys.read)).json()
    assert [a["exposures"] for a in results["arms"]] == [1000, 1000]
    assert results["sample_ratio"]["p_value"] == pytest.approx(1.0)
    conversion = results["metrics"][0]
    assert conversion["metric"] == "conversion"
    assert [(a["units"], a["total"]) for a in conversion["arms"]] == [(1000, 100), (1000, 120)]
    comparison = conversion["comparisons"][0]
    assert comparison["arm"] == "button"
    assert comparison["relative_effect"] == pytest.approx(0.2, abs=1e-9)
    assert comparison["frequentist"]["p_value"] == pytest.approx(0.1923502, abs=1e-7)
    assert comparison["frequentist"]["ci_low"] == pytest.approx(-0.1007680, abs=1e-7)
    assert comparison["frequentist"]["ci_high"] == pytest.approx(0.5007680, abs=1e-7)
    assert comparison["bayesian"]["chance_to_win"] == pytest.approx(0.9039005, abs=1e-6)
    revenue = results["metrics"][1]["comparisons"][0]
    assert revenue == {"arm": "button", "status": "not_enough_data", "reason": "zero_baseline"}


def test_revenue_guardrail_and_sample_ratio_mismatch(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    experiment_id = create(client, keys)["id"]
    arms = customers_per_arm(ctx, experiment_id, 160)
    items: list[dict[str, Any]] = []
    for i, customer in enumerate(arms["control"][:100]):
        items.append({"customer_id": customer, "metric": "revenue_per_visitor",
                      "value": str(Decimal("10.00") + i % 7)})
        items.append({"customer_id": customer, "metric": "service_level", "value": 1})
    for i, customer in enumerate(arms["button"]):
        items.append({"customer_id": customer, "metric": "revenue_per_visitor",
                      "value": str(Decimal("11.50") + i % 7)})
        items.append({"customer_id": customer, "metric": "service_level",
                      "value": 1 if i % 10 < 6 else 0})
    post(client, keys, experiment_id, items)

    results = client.get(f"/v1/experiments/{experiment_id}/results",
                         headers=bearer(keys.read)).json()
    srm = results["sample_ratio"]
    assert srm["observed"] == [100, 160] and srm["expected"] == [130.0, 130.0]
    assert srm["chi_square"] == pytest.approx(2 * 30**2 / 130, abs=1e-9)
    assert srm["mismatch"] is True
    revenue = results["metrics"][1]
    assert [(a["units"], a["total"]) for a in revenue["arms"]] == [(100, 1295.0), (160, 2317.0)]
    guardrail = results["guardrails"][0]
    assert [(a["units"], a["total"]) for a in guardrail["arms"]] == [(100, 100.0), (160, 96.0)]
    assert guardrail["comparisons"][0]["guardrail"] == "failing"


def test_a_bad_observation_rejects_the_whole_batch(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    experiment_id = create(client, keys)["id"]
    before = row_counts(ctx)
    for bad, code in (({"metric": "margin_per_visitor"}, "unknown_metric"),
                      ({"metric": "conversion", "value": 3}, "invalid_value")):
        response = client.post(
            f"/v1/experiments/{experiment_id}/observations",
            json={"observations": [{"customer_id": "cus_1", "metric": "conversion"},
                                   {"customer_id": "cus_2", **bad}]},
            headers=bearer(keys.writer))
        assert (response.status_code, response.json()["error"]["code"]) == (422, code)
    assert row_counts(ctx) == before == (1, 0, 0)


def test_a_stopped_experiment_refuses_new_customers_but_keeps_old_ones(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    experiment_id = create(client, keys)["id"]
    post(client, keys, experiment_id, [{"customer_id": "cus_1"}])
    stopped = client.post(f"/v1/experiments/{experiment_id}/stop", headers=bearer(keys.admin))
    assert stopped.json()["status"] == "stopped"
    post(client, keys, experiment_id, [{"customer_id": "cus_1", "metric": "conversion"}])
    refused = client.post(f"/v1/experiments/{experiment_id}/observations",
                          json={"observations": [{"customer_id": "cus_2"}]},
                          headers=bearer(keys.writer))
    assert (refused.status_code, refused.json()["error"]["code"]) == (
        409, "experiment_not_running")
    assert row_counts(ctx) == (1, 1, 1)


def test_concurrent_first_observations_of_one_customer_all_count(ctx: AppContext) -> None:
    experiment = service.create_experiment(
        ctx, name="concurrency", target_kind="trigger", target_name="cart-abandoned",
        arms=[("control", Decimal("0.5")), ("email", Decimal("0.5"))],
        metrics=["revenue_per_visitor"])
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def observe() -> None:
        try:
            barrier.wait()
            service.record_observations(ctx, experiment.id, [service.Observation(
                "cus_same", "revenue_per_visitor", Decimal("12.50"))])
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=observe) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert row_counts(ctx) == (1, 1, 1)
    with ctx.db.reader() as session:
        assert store.stored_value(session, experiment.id, "cus_same",
                                  "revenue_per_visitor") == Decimal("75.00")


def test_other_features_get_the_arm_inside_their_own_transaction(ctx: AppContext) -> None:
    experiment = service.create_experiment(
        ctx, name="offer", target_kind="offer", target_name="free-shipping",
        arms=[("control", Decimal("0.5")), ("free", Decimal("0.5"))], metrics=["conversion"])
    expected = assign(experiment, "cus_9").name

    def failing_caller() -> None:
        with ctx.db.transaction() as session:
            assert service.arm_for_in(session, ctx, experiment.id, "cus_9") == expected
            raise RuntimeError("the caller's work failed")

    with pytest.raises(RuntimeError):
        failing_caller()
    assert row_counts(ctx) == (1, 0, 0)  # rolled back with the caller
    with ctx.db.transaction() as session:
        assert service.arm_for_in(session, ctx, experiment.id, "cus_9") == expected
    assert service.assignment(ctx, experiment.id, "cus_9")[1] is True
