"""POST /v1/decisions and outcomes over HTTP, with the real contact center and timelines."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from kanaal.collect.service import record_event
from kanaal.contact_center import service as cc
from kanaal.core.context import AppContext
from kanaal.core.errors import Conflict, InvalidInput, NotFound
from kanaal.decisions import store
from kanaal.decisions.domain import QueueView
from kanaal.decisions.outcomes import attribute_conversions
from kanaal.decisions.service import redeem_offer_code_in, runtime, validate_offer_code
from tests.conftest import Keys, bearer


def basic(key: str) -> dict[str, str]:
    """HTTP Basic with the write key as user name, as browsers send it."""
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


class StaticCapacity:
    """A hand-written capacity reader: queues in whatever state a test needs."""

    def __init__(self, views: dict[str, QueueView]) -> None:
        self.views = views

    def snapshot(self, _ctx: AppContext) -> dict[str, QueueView]:
        return self.views


def view(name: str, channel: str, *, over: bool = False) -> QueueView:
    return QueueView(queue=name, channel=channel, available_agents=0 if over else 3,
                     queue_length=6 if over else 0, handle_time_seconds=480.0,
                     predicted_wait_seconds=90.0 if over else 0.0, target_answer_seconds=20.0,
                     over_target=over, spare_agent_minutes_15=0.0 if over else 40.0)


@pytest.fixture
def engine(ctx: AppContext) -> AppContext:
    """No exploration and no holdout, so answers are exact."""
    ctx.business["decisions"] = {"explore": False, "experiment": {"holdout_share": 0.0}}
    return ctx


def staffed(ctx: AppContext) -> None:
    """A sales phone queue and a chat queue with available agents (the real contact center)."""
    cc.create_queue(ctx, name="sales", skill="sales", channel="phone", handle_time_seconds=480)
    cc.create_queue(ctx, name="chat", skill="sales", channel="chat", handle_time_seconds=480)
    for n in range(1):
        agent = cc.create_agent(ctx, name=f"Agent {n}", email=f"a{n}@example.com",
                                password="correct horse battery", skills=["sales"])
        cc.set_agent_state(ctx, agent.id, "available")


PERSUADABLE: dict[str, Any] = {
    "anonymousId": "anon-1", "channel": "web",
    "context": {"page": {"type": "cart", "url": "https://shop.example/cart"},
                "cart": {"value": "600.00", "currency": "EUR",
                         "items": [{"sku": "TV-55", "quantity": 2, "price": "300.00"}]},
                "session": {"pageviews": 6, "seconds_on_site": 300, "is_returning": False}},
    "allowed_actions": ["show_phone", "call_now", "callback_offer", "chat_invite", "offer"],
}


def decisions_count(ctx: AppContext) -> int:
    runtime(ctx).log.flush(ctx.db)
    with ctx.db.reader() as session:
        return int(session.execute(select(func.count()).select_from(store.decisions)).scalar_one())


def test_a_persuadable_visitor_with_idle_agents_is_offered_a_call(
    engine: AppContext, client: TestClient, keys: Keys
) -> None:
    staffed(engine)
    response = client.post("/v1/decisions", json=PERSUADABLE, headers=basic(keys.write))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["action"]["type"] == "callback_offer"  # no callback queue: the phone queue
    assert body["action"]["queue"] == "sales"
    assert body["action"]["predicted_wait_seconds"] == 0.0
    assert body["action"]["expires_at"] == "2026-01-05T09:15:00Z"
    # Catalog does not know TV-55 on this channel: margin = 600 x 25% default rate = 150.
    assert body["expected"] == {"incremental_margin": "2.57", "contact_cost": "0.60",
                                "p_buy_nothing": 0.075, "p_buy_action": 0.0935}
    assert body["experiment"] == {"name": "default", "arm": "kanaal"}
    assert "queue sales has idle agents: an agent minute costs no capacity" in body["reasons"]
    assert [a["type"] for a in body["alternatives"]] == [
        "call_now", "show_phone", "chat_invite", "none", "offer"]
    assert decisions_count(engine) == 1


def test_a_secret_key_may_ask_too_and_no_key_may_not(
    engine: AppContext, client: TestClient, keys: Keys
) -> None:
    assert client.post("/v1/decisions", json=PERSUADABLE,
                       headers=bearer(keys.writer)).status_code == 200
    refused = client.post("/v1/decisions", json=PERSUADABLE)
    assert (refused.status_code, refused.json()["error"]["code"]) == (401, "missing_credentials")


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"anonymousId": None}, 422, "missing_identity"),
        ({"channel": "fax"}, 422, "unknown_channel"),
        ({"context": {"cart": {"value": "-1"}}}, 422, "negative_amount"),
        ({"context": {"cart": {"items": [{"sku": "A", "price": "-3"}]}}}, 422,
         "negative_amount"),
        ({"allowed_actions": ["teleport"]}, 422, "validation_error"),
        ({"context": {"session": {"pageviews": -2}}}, 422, "validation_error"),
        ({"context": {"page": {"url": "x" * 17_000}}}, 413, "body_too_large"),
    ],
)
def test_bad_input_is_refused_with_a_code_and_nothing_is_logged(
    engine: AppContext, client: TestClient, keys: Keys, change: dict[str, Any], status: int,
    code: str
) -> None:
    staffed(engine)
    body = {**PERSUADABLE, **change}
    response = client.post("/v1/decisions", json=body, headers=basic(keys.write))
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert decisions_count(engine) == 0
    assert engine.live.incr("decisions:cap:session:anon:anon-1", 0) == 0


def test_malformed_json_is_a_400(engine: AppContext, client: TestClient, keys: Keys) -> None:
    response = client.post("/v1/decisions", content=b"{nope",
                           headers={**basic(keys.write), "Content-Type": "application/json"})
    assert (response.status_code, response.json()["error"]["code"]) == (400, "malformed_json")
    assert decisions_count(engine) == 0


def test_outcomes_join_once_teach_the_model_and_replay_with_the_same_key(
    engine: AppContext, client: TestClient, keys: Keys
) -> None:
    staffed(engine)
    decision = client.post("/v1/decisions", json=PERSUADABLE, headers=basic(keys.write)).json()
    url = f"/v1/decisions/{decision['decision_id']}/outcome"
    shown = client.post(url, json={"event": "shown"}, headers=basic(keys.write))
    again = client.post(url, json={"event": "shown"}, headers=basic(keys.write))
    accepted = client.post(url, json={"event": "accepted"}, headers=basic(keys.write))
    converted = client.post(url, json={"event": "converted", "revenue": "600", "margin": "150"},
                            headers={**basic(keys.write), "Idempotency-Key": "k-1"})
    replay = client.post(url, json={"event": "converted", "revenue": "600", "margin": "150"},
                         headers={**basic(keys.write), "Idempotency-Key": "k-1"})
    assert shown.json() == {"decision_id": decision["decision_id"], "event": "shown",
                            "recorded": True, "events": ["shown"]}
    assert again.json()["recorded"] is False
    assert accepted.json()["events"] == ["shown", "accepted"]
    assert converted.json()["events"] == ["shown", "accepted", "converted"]
    assert replay.json() == converted.json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    with engine.db.reader() as session:
        cells = {(r.action, r.bucket): r for r in store.model_cells(session, "default")}
        row = store.find_decision(session, decision["decision_id"])
        assert store.model_version(session, "default") == 3
    cell = cells[("callback_offer", "online:cart:mid")]
    assert (cell.buy_trials, cell.buy_wins, cell.accept_trials, cell.accept_wins) == (
        1.0, 1.0, 1.0, 1.0)
    assert row is not None and row.revenue == Decimal("600.00") and row.accepted is True


def test_unknown_decisions_and_bad_outcomes_are_refused(
    engine: AppContext, client: TestClient, keys: Keys
) -> None:
    missing = client.post("/v1/decisions/dec_nope/outcome", json={"event": "shown"},
                          headers=basic(keys.write))
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "unknown_decision")
    decision = client.post("/v1/decisions", json=PERSUADABLE, headers=basic(keys.write)).json()
    bad = client.post(f"/v1/decisions/{decision['decision_id']}/outcome",
                      json={"event": "bought"}, headers=basic(keys.write))
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "validation_error")
    with engine.db.reader() as session:
        assert store.outcome_events(session, decision["decision_id"]) == []


def test_a_dismissed_action_is_not_offered_again_during_the_cool_down(
    engine: AppContext, client: TestClient, keys: Keys
) -> None:
    staffed(engine)
    first = client.post("/v1/decisions", json=PERSUADABLE, headers=basic(keys.write)).json()
    client.post(f"/v1/decisions/{first['decision_id']}/outcome", json={"event": "dismissed"},
                headers=basic(keys.write))
    second = client.post("/v1/decisions", json=PERSUADABLE, headers=basic(keys.write)).json()
    assert first["action"]["type"] == "callback_offer"
    assert second["action"]["type"] == "call_now"
    assert ("callback_offer not offered: dismissed recently: not offered again for 240 minutes"
            in second["reasons"])
    third = client.post("/v1/decisions", json=PERSUADABLE, headers=basic(keys.write)).json()
    assert third["action"]["type"] == "none"
    assert "chat_invite not offered: frequency cap: 2 proposals this session" in third["reasons"]


def test_a_recent_caller_without_purchase_gets_a_personal_offer_checkout_can_validate(
    engine: AppContext, client: TestClient, keys: Keys
) -> None:
    engine.state["decisions.capacity"] = StaticCapacity(
        {"sales": view("sales", "phone", over=True), "chat": view("chat", "chat", over=True)})
    with engine.db.transaction() as session:
        customer = record_event(session, engine, event="Call Completed",
                                identities={"anonymous_id": "anon-7"}, channel="phone",
                                source="contact_center",
                                properties={"outcome": "quote", "quote": "1200.00",
                                            "queue": "sales", "agent_id": "agt_1"})
    engine.clock.advance(hours=20)  # type: ignore[attr-defined]
    body = {"anonymousId": "anon-7", "channel": "web",
            "context": {"page": {"type": "product"}, "product": {"sku": "TV-55"},
                        "cart": {"value": "1250", "currency": "EUR",
                                 "items": [{"sku": "TV-55", "quantity": 1, "price": "1250"}]}}}
    decision = client.post("/v1/decisions", json=body, headers=basic(keys.write)).json()
    assert decision["action"]["type"] == "offer"
    code = decision["action"]["offer_code"]
    assert decision["action"]["message"] == "Your personal offer from our advisor: 1200.00 EUR"
    assert decision["reasons"][1] == ("recent call on 2026-01-05 09:00 without an order: "
                                      "follow-up candidates")
    runtime(engine).log.flush(engine.db)  # the code is written with the decision log
    with engine.db.transaction() as session:
        offer = validate_offer_code(session, engine, code.lower(), customer_id=customer)
        assert (offer.discount_percent, offer.quote) == (Decimal("5.00"), Decimal("1200.00"))
        with pytest.raises(InvalidInput):
            validate_offer_code(session, engine, code, customer_id="cus_other")
        redeem_offer_code_in(session, engine, code, order_id="ord_1")
    with engine.db.reader() as session:
        with pytest.raises(Conflict):
            validate_offer_code(session, engine, code)
        with pytest.raises(NotFound):
            validate_offer_code(session, engine, "KNOPE")


def test_an_in_store_visitor_who_browsed_the_product_online_raises_a_staff_task(
    engine: AppContext, client: TestClient, keys: Keys
) -> None:
    engine.state["decisions.capacity"] = StaticCapacity({})
    with engine.db.transaction() as session:
        customer = record_event(session, engine, event="Product Viewed",
                                identities={"anonymous_id": "anon-9"}, channel="web",
                                source="web", properties={"sku": "TV-55", "price": "1300"})
    body = {"anonymousId": "anon-9", "channel": "store",
            "context": {"store_id": "loc_amsterdam", "product": {"sku": "TV-55"},
                        "cart": {"value": "1300", "currency": "EUR"}}}
    decision = client.post("/v1/decisions", json=body, headers=basic(keys.write)).json()
    assert decision["action"]["type"] == "hot_prospect_alert"
    tasks = cc.list_tasks(engine, store_id="loc_amsterdam")
    assert len(tasks) == 1
    task = tasks[0]
    assert (task["kind"], task["customer_id"]) == ("hot_prospect_alert", customer)
    assert task["context"]["decision_id"] == decision["decision_id"]
    assert task["context"]["browsed_product_online"] is True


def test_orders_of_the_same_customer_are_attributed_within_the_window(
    engine: AppContext, client: TestClient, keys: Keys
) -> None:
    staffed(engine)
    with engine.db.transaction() as session:
        record_event(session, engine, event="Page Viewed", identities={"anonymous_id": "anon-3"},
                     channel="web", source="web")
    decision = client.post("/v1/decisions", json={**PERSUADABLE, "anonymousId": "anon-3"},
                           headers=basic(keys.write)).json()
    engine.clock.advance(days=2)  # type: ignore[attr-defined]
    with engine.db.transaction() as session:
        record_event(session, engine, event="Order Completed",
                     identities={"anonymous_id": "anon-3"}, channel="web", source="web",
                     properties={"order_id": "ord_9", "revenue": "600.00", "margin": "150.00"})
    assert attribute_conversions(engine) == 1
    assert attribute_conversions(engine) == 0
    with engine.db.reader() as session:
        row = store.find_decision(session, decision["decision_id"])
        assert row is not None
        assert (row.order_id, row.revenue, row.margin) == ("ord_9", Decimal("600.00"),
                                                            Decimal("150.00"))
        assert store.outcome_events(session, decision["decision_id"]) == ["converted"]


def test_a_clean_shutdown_writes_every_queued_decision(engine: AppContext, keys: Keys) -> None:
    from kanaal.app import create_app

    with TestClient(create_app(ctx=engine)) as http:
        ids = [http.post("/v1/decisions", json={**PERSUADABLE, "anonymousId": f"anon-{n}"},
                         headers=basic(keys.write)).json()["decision_id"] for n in range(25)]
    assert len(runtime(engine).log) == 0
    with engine.db.reader() as session:
        stored = set(session.execute(select(store.decisions.c.id)).scalars())
    assert stored == set(ids)


@pytest.fixture
def half_held_out(ctx: AppContext) -> AppContext:
    """Configuration read when the app starts: a 50% holdout in experiment nbc-q1."""
    ctx.business["decisions"] = {"explore": False,
                                 "experiment": {"name": "nbc-q1", "holdout_share": 0.5}}
    return ctx


def test_a_customer_in_the_holdout_always_gets_nothing(
    half_held_out: AppContext, client: TestClient, keys: Keys
) -> None:
    from kanaal.decisions.holdout import Experiment

    staffed(half_held_out)
    experiment = Experiment(name="nbc-q1", holdout_share=0.5)
    held = next(n for n in range(100) if experiment.arm_for(f"anon:anon-{n}") == "holdout")
    treated = next(n for n in range(100) if experiment.arm_for(f"anon:anon-{n}") == "kanaal")
    answers = [client.post("/v1/decisions", json={**PERSUADABLE, "anonymousId": f"anon-{n}"},
                           headers=basic(keys.write)).json() for n in (held, held, treated)]
    assert [a["experiment"] for a in answers] == [{"name": "nbc-q1", "arm": "holdout"}] * 2 + [
        {"name": "nbc-q1", "arm": "kanaal"}]
    assert [a["action"]["type"] for a in answers] == ["none", "none", "callback_offer"]
    assert "policy never (holdout arm)" in answers[0]["reasons"]


def test_attribution_visits_every_customer_in_turn(
    engine: AppContext, client: TestClient, keys: Keys
) -> None:
    staffed(engine)
    for n in range(3):
        with engine.db.transaction() as session:
            record_event(session, engine, event="Page Viewed",
                         identities={"anonymous_id": f"anon-a{n}"}, channel="web", source="web")
        client.post("/v1/decisions", json={**PERSUADABLE, "anonymousId": f"anon-a{n}"},
                    headers=basic(keys.write))
    with engine.db.transaction() as session:
        for n in range(3):
            record_event(session, engine, event="Order Completed",
                         identities={"anonymous_id": f"anon-a{n}"}, channel="web",
                         source="web", properties={"order_id": f"ord_{n}"})
    assert [attribute_conversions(engine, limit=2) for _ in range(3)] == [2, 1, 0]


def test_the_log_reads_back_and_arms_compare_against_the_holdout(
    half_held_out: AppContext, client: TestClient, keys: Keys
) -> None:
    from kanaal.decisions.holdout import Experiment

    staffed(half_held_out)
    experiment = Experiment(name="nbc-q1", holdout_share=0.5)
    arms = {n: experiment.arm_for(f"anon:anon-{n}") for n in range(6)}
    made = {n: client.post("/v1/decisions", json={**PERSUADABLE, "anonymousId": f"anon-{n}"},
                           headers=basic(keys.write)).json()["decision_id"] for n in arms}
    for n in (0, 1, 2):  # the first three customers buy, margin 150 each
        client.post(f"/v1/decisions/{made[n]}/outcome", headers=basic(keys.write),
                    json={"event": "converted", "revenue": "600", "margin": "150"})
    one = client.get(f"/v1/decisions/{made[0]}", headers=bearer(keys.read)).json()
    assert (one["arm"], one["outcomes"], one["margin"]) == (arms[0], ["converted"], "150.00")
    assert one["features"]["pageviews"] == 6 and len(one["scores"]) == 6
    refused = client.get(f"/v1/decisions/{made[0]}", headers=basic(keys.write))
    assert (refused.status_code, refused.json()["error"]["code"]) == (403,
                                                                      "secret_key_required")
    summary = client.get("/v1/decisions/summary?experiment=nbc-q1",
                         headers=bearer(keys.read)).json()
    expected = []
    for arm in sorted(set(arms.values())):
        members = [n for n in arms if arms[n] == arm]
        bought = [n for n in members if n < 3]
        expected.append((arm, len(members), len(bought), f"{150 * len(bought):.2f}"))
    assert [(a["arm"], a["customers"], a["converted"], a["margin"])
            for a in summary["arms"]] == expected
    holdout = next(a for a in summary["arms"] if a["arm"] == "holdout")
    assert holdout["proposals"] == 0 and holdout["incremental_margin_per_customer"] == "0.00"
