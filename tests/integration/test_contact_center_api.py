"""Contact center over HTTP on SQLite and PostgreSQL: agents, capacity, callbacks, outcomes."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from kanaal.contact_center import service, store
from kanaal.core.clock import ManualClock
from kanaal.core.context import AppContext
from kanaal.customers.service import find_customer_id, recent_events
from tests.conftest import Keys
from tests.support.contact_center import (
    add_agent,
    add_queue,
    auth,
    capacity_of,
    count_rows,
    set_state,
)


def test_an_agent_is_created_offline_and_never_shows_a_password(
    client: TestClient, keys: Keys, ctx: AppContext
) -> None:
    agent = add_agent(client, keys.admin, "Ann@Example.nl", concurrency={"chat": 3})
    assert (agent["email"], agent["state"], agent["skills"], agent["concurrency"]) == (
        "ann@example.nl", "offline", ["sales", "language:nl"], {"phone": 1, "chat": 3})
    assert "password" not in agent and "password_hash" not in agent
    with ctx.db.reader() as session:
        stored = service.get_agent_by_email_in(session, "ANN@example.nl")
    assert stored.password_hash.startswith("$argon2id$")
    assert service.authenticate_agent(ctx, "ann@example.nl", "correct horse battery").id == \
        agent["id"]
    again = client.post("/v1/agents", json={"name": "Ann", "email": "ann@example.nl",
                                            "password": "another password"},
                        headers=auth(keys.admin))
    assert (again.status_code, again.json()["error"]["code"]) == (409, "agent_exists")


def test_state_changes_show_in_the_capacity_snapshot(client: TestClient, keys: Keys) -> None:
    add_queue(client, keys.admin, arrival_rate_per_minute=100 / 30)
    agents = [add_agent(client, keys.admin, f"a{i}@x.nl") for i in range(15)]
    for a in agents[:14]:
        assert set_state(client, keys.writer, a["id"], "available").status_code == 200
    cap = capacity_of(client, keys.read, "sales-phone")
    assert (cap["available_agents"], cap["busy_agents"], cap["queue_length"]) == (14, 0, 0)
    assert round(cap["service_level"], 6) == 0.888350
    assert cap["required_agents"] == 14 and cap["over_target"] is False
    assert cap["predicted_wait_seconds"] == pytest.approx(0.174132 * 180 / 4, abs=1e-4)
    assert set_state(client, keys.writer, agents[0]["id"], "away").status_code == 200
    cap = capacity_of(client, keys.read, "sales-phone")
    assert (cap["available_agents"], cap["over_target"]) == (13, True)
    assert round(cap["service_level"], 6) == 0.795595


def test_bad_agent_input_is_refused_and_changes_nothing(
    client: TestClient, keys: Keys, ctx: AppContext
) -> None:
    agent = add_agent(client, keys.admin, "bo@x.nl")
    before = count_rows(ctx)
    unknown = set_state(client, keys.writer, "agt_nope", "available")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "unknown_agent")
    invalid = set_state(client, keys.writer, agent["id"], "busy")
    assert (invalid.status_code, invalid.json()["error"]["code"]) == (
        409, "invalid_state_transition")
    bogus = set_state(client, keys.writer, agent["id"], "sleeping")
    assert (bogus.status_code, bogus.json()["error"]["code"]) == (422, "invalid_state")
    weak = client.post("/v1/agents", json={"name": "C", "email": "c@x.nl", "password": "short"},
                       headers=auth(keys.admin))
    assert (weak.status_code, weak.json()["error"]["code"]) == (422, "weak_password")
    skill = client.post("/v1/agents", json={"name": "C", "email": "c@x.nl",
                                            "password": "long enough pw", "skills": ["a b"]},
                        headers=auth(keys.admin))
    assert (skill.status_code, skill.json()["error"]["code"]) == (422, "invalid_skill")
    reader = set_state(client, keys.read, agent["id"], "available")
    assert (reader.status_code, reader.json()["error"]["code"]) == (403, "missing_scope")
    assert client.get(f"/v1/agents/{agent['id']}", headers=auth(keys.read)).json()[
        "state"] == "offline"
    assert count_rows(ctx) == before


def test_bad_callbacks_are_refused_and_change_nothing(
    client: TestClient, keys: Keys, ctx: AppContext, clock: ManualClock
) -> None:
    add_queue(client, keys.admin, name="sales-callback", channel="callback")
    add_queue(client, keys.admin)
    before = count_rows(ctx)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"phone": "12ab", "queue": "sales-callback"}, 422, "invalid_phone"),
        ({"phone": "+3161234", "queue": "sales-callback"}, 422, "invalid_phone"),
        ({"phone": "0612345678", "queue": "sales-callback",
          "slot_start": (clock.now() - timedelta(hours=1)).isoformat()}, 422, "slot_in_past"),
        ({"phone": "0612345678", "queue": "nope"}, 404, "unknown_queue"),
        ({"phone": "0612345678", "queue": "sales-phone"}, 422, "not_a_callback_queue"),
        ({"phone": "0612345678", "queue": "sales-callback",
          "slot_start": "2026-01-05T10:00:00"}, 422, "validation_error"),
        ({"phone": "0612345678", "queue": "sales-callback", "context": {"x": "y" * 17000}},
         413, "context_too_large"),
    ]
    for body, status, code in cases:
        response = client.post("/v1/callbacks", json=body, headers=auth(keys.writer))
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), body
    assert count_rows(ctx) == before
    with ctx.db.reader() as session:
        assert find_customer_id(session, "phone", "+31612345678") is None


def test_a_retried_callback_with_the_same_idempotency_key_is_created_once(
    client: TestClient, keys: Keys, ctx: AppContext
) -> None:
    add_queue(client, keys.admin, name="sales-callback", channel="callback")
    body = {"phone": "06 1234 5678", "queue": "sales-callback", "context": {"sku": "TV-55"}}
    headers = {**auth(keys.writer), "Idempotency-Key": "cb-1"}
    first = client.post("/v1/callbacks", json=body, headers=headers)
    again = client.post("/v1/callbacks", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert first.json()["phone"] == "+31612345678"
    assert count_rows(ctx)["cc_callbacks"] == 1
    reused = client.post("/v1/callbacks", json={**body, "phone": "0687654321"}, headers=headers)
    assert (reused.status_code, reused.json()["error"]["code"]) == (409, "idempotency_key_reused")


def test_a_callback_is_offered_to_the_longest_idle_agent_with_the_skill(
    client: TestClient, keys: Keys, clock: ManualClock
) -> None:
    add_queue(client, keys.admin, name="sales-callback", channel="callback")
    first = add_agent(client, keys.admin, "first@x.nl")
    second = add_agent(client, keys.admin, "second@x.nl")
    service_only = add_agent(client, keys.admin, "svc@x.nl", skills=["service"])
    set_state(client, keys.writer, service_only["id"], "available")
    clock.advance(minutes=1)
    set_state(client, keys.writer, first["id"], "available")
    clock.advance(minutes=1)
    set_state(client, keys.writer, second["id"], "available")
    made = [client.post("/v1/callbacks", json={"phone": f"061234567{i}",
                                               "queue": "sales-callback"},
                        headers=auth(keys.writer)).json() for i in range(3)]
    assert [c["offered_agent_id"] for c in made] == [first["id"], second["id"], None]


def test_a_callback_goes_from_request_to_sale_onto_the_customers_timeline(
    client: TestClient, keys: Keys, ctx: AppContext, clock: ManualClock
) -> None:
    add_queue(client, keys.admin, name="sales-callback", channel="callback", sla_seconds=600)
    agent = add_agent(client, keys.admin, "ann@x.nl")
    set_state(client, keys.writer, agent["id"], "available")
    seen: list[dict[str, Any]] = []
    ctx.live.subscribe("contact_center", seen.append)
    callback = client.post("/v1/callbacks", json={
        "phone": "0612345678", "queue": "sales-callback", "context": {"cart_value": "899.00"}},
        headers=auth(keys.writer)).json()
    assert (callback["status"], callback["due_at"], callback["sla_deadline"]) == (
        "queued", "2026-01-05T09:00:00Z", "2026-01-05T09:10:00Z")
    assert capacity_of(client, keys.read, "sales-callback")["queue_length"] == 1
    accepted = client.post(f"/v1/agents/{agent['id']}/accept-next-callback",
                           headers=auth(keys.writer)).json()["callback"]
    assert (accepted["id"], accepted["status"], accepted["agent_id"], accepted["attempts"]) == (
        callback["id"], "assigned", agent["id"], 1)
    assert client.get(f"/v1/agents/{agent['id']}", headers=auth(keys.read)).json()[
        "state"] == "busy"
    clock.advance(minutes=4)
    done = client.post(f"/v1/interactions/{accepted['interaction_id']}/outcome", json={
        "outcome": "sale", "sale_value": "899.00", "upsell_value": "49.95",
        "notes": "wants wall mount"}, headers=auth(keys.writer))
    assert done.status_code == 200, done.text
    assert (done.json()["handle_seconds"], done.json()["outcome"]) == (240.0, "sale")
    assert client.get(f"/v1/agents/{agent['id']}", headers=auth(keys.read)).json()[
        "state"] == "wrap_up"
    assert client.get(f"/v1/callbacks/{callback['id']}", headers=auth(keys.read)).json()[
        "status"] == "completed"
    cap = capacity_of(client, keys.read, "sales-callback")
    assert (cap["queue_length"], cap["handle_time_seconds"]) == (0, 0.8 * 180 + 0.2 * 240)
    with ctx.db.reader() as session:
        customer = find_customer_id(session, "phone", "+31612345678")
        assert customer is not None and customer == callback["customer_id"]
        events = recent_events(session, customer)
    assert [e["event"] for e in events] == ["Call Completed", "Callback Requested"]
    call = events[0]
    assert (call["channel"], call["properties"]["outcome"], call["properties"]["sale_value"],
            call["properties"]["upsell_value"]) == ("phone", "sale", "899.00", "49.95")
    assert [m["type"] for m in seen] == ["callback.created", "callback.assigned",
                                         "interaction.completed"]
    again = client.post(f"/v1/interactions/{accepted['interaction_id']}/outcome",
                        json={"outcome": "no_sale"}, headers=auth(keys.writer))
    assert (again.status_code, again.json()["error"]["code"]) == (
        409, "interaction_already_completed")


def test_accepting_needs_an_available_agent_and_a_waiting_callback(
    client: TestClient, keys: Keys, clock: ManualClock
) -> None:
    add_queue(client, keys.admin, name="sales-callback", channel="callback")
    agent = add_agent(client, keys.admin, "ann@x.nl")
    offline = client.post(f"/v1/agents/{agent['id']}/accept-next-callback",
                          headers=auth(keys.writer))
    assert (offline.status_code, offline.json()["error"]["code"]) == (409, "agent_not_available")
    set_state(client, keys.writer, agent["id"], "available")
    later = (clock.now() + timedelta(hours=2)).isoformat()
    client.post("/v1/callbacks", json={"phone": "0612345678", "queue": "sales-callback",
                                       "slot_start": later}, headers=auth(keys.writer))
    none_due = client.post(f"/v1/agents/{agent['id']}/accept-next-callback",
                           headers=auth(keys.writer))
    assert none_due.json() == {"callback": None}
    clock.advance(hours=2)
    due = client.post(f"/v1/agents/{agent['id']}/accept-next-callback",
                      headers=auth(keys.writer)).json()["callback"]
    assert due["status"] == "assigned"


def test_a_finished_store_visit_is_logged_on_the_timeline(
    client: TestClient, keys: Keys, ctx: AppContext, clock: ManualClock
) -> None:
    started = clock.now().isoformat()
    clock.advance(minutes=25)
    response = client.post("/v1/interactions", json={
        "kind": "store_visit", "identities": {"email": "kim@example.nl"}, "started_at": started,
        "outcome": "quote", "quote": "1450.00", "notes": "kitchen plan"},
        headers=auth(keys.writer))
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["handle_seconds"], body["quote"], body["outcome"]) == (1500.0, "1450.00", "quote")
    with ctx.db.reader() as session:
        customer = find_customer_id(session, "email", "kim@example.nl")
        assert customer is not None
        events = recent_events(session, customer)
    assert [(e["event"], e["channel"], e["properties"]["quote"]) for e in events] == [
        ("Store Visit Completed", "store", "1450.00")]


def test_a_chat_agent_holds_up_to_their_concurrency(
    client: TestClient, keys: Keys, ctx: AppContext
) -> None:
    agent = add_agent(client, keys.admin, "chat@x.nl", concurrency={"chat": 2})
    set_state(client, keys.writer, agent["id"], "available")
    opened = [client.post("/v1/interactions", json={"kind": "chat", "agent_id": agent["id"]},
                          headers=auth(keys.writer)) for _ in range(3)]
    assert [r.status_code for r in opened] == [201, 201, 409]
    assert opened[2].json()["error"]["code"] == "agent_at_capacity"
    with ctx.db.reader() as session:
        assert store.open_interactions_of(session, agent["id"]) == 2
        states = session.execute(select(store.agents.c.state)).scalars().all()
    assert states == ["busy"]
    away = set_state(client, keys.writer, agent["id"], "wrap_up")
    assert away.status_code == 200
    offline = set_state(client, keys.writer, agent["id"], "offline")
    assert (offline.status_code, offline.json()["error"]["code"]) == (409, "open_interactions")


def test_tasks_for_store_staff_are_listed(client: TestClient, keys: Keys, ctx: AppContext
                                          ) -> None:
    with ctx.db.transaction() as session:
        task_id = service.create_task_in(session, ctx, kind="hot_prospect_alert",
                                         customer_id="cus_1", queue=None, store_id="loc_ams",
                                         context={"sku": "TV-55"})
    listed = client.get("/v1/contact-center/tasks?store_id=loc_ams", headers=auth(keys.read))
    assert [(t["id"], t["kind"], t["context"]) for t in listed.json()] == [
        (task_id, "hot_prospect_alert", {"sku": "TV-55"})]


def test_an_unreached_callback_is_retried_until_its_attempts_run_out(
    client: TestClient, keys: Keys, clock: ManualClock
) -> None:
    add_queue(client, keys.admin, name="sales-callback", channel="callback")
    agent = add_agent(client, keys.admin, "ann@x.nl")
    set_state(client, keys.writer, agent["id"], "available")
    callback = client.post("/v1/callbacks", json={"phone": "0612345678",
                                                  "queue": "sales-callback",
                                                  "max_attempts": 2},
                           headers=auth(keys.writer)).json()
    early = client.post(f"/v1/callbacks/{callback['id']}/not-reached",
                        json={"reason": "no_answer"}, headers=auth(keys.writer))
    assert (early.status_code, early.json()["error"]["code"]) == (409, "callback_not_assigned")
    statuses = []
    for _ in range(2):
        client.post(f"/v1/agents/{agent['id']}/accept-next-callback", headers=auth(keys.writer))
        clock.advance(minutes=1)
        result = client.post(f"/v1/callbacks/{callback['id']}/not-reached",
                             json={"reason": "no_answer"}, headers=auth(keys.writer)).json()
        statuses.append((result["status"], result["attempts"], result["due_at"]))
        assert set_state(client, keys.writer, agent["id"], "available").status_code == 200
        clock.advance(minutes=10)
    assert statuses == [("queued", 1, "2026-01-05T09:11:00Z"),
                        ("failed", 2, "2026-01-05T09:11:00Z")]
    nothing = client.post(f"/v1/agents/{agent['id']}/accept-next-callback",
                          headers=auth(keys.writer))
    assert nothing.json() == {"callback": None}


def test_a_chat_with_a_known_customer_ends_as_chat_completed_on_their_timeline(
    client: TestClient, keys: Keys, ctx: AppContext, clock: ManualClock
) -> None:
    visit = client.post("/v1/interactions", json={
        "kind": "store_visit", "identities": {"email": "kim@example.nl"}, "outcome": "no_sale"},
        headers=auth(keys.writer))
    customer = visit.json()["customer_id"]
    agent = add_agent(client, keys.admin, "chat@x.nl", concurrency={"chat": 3})
    set_state(client, keys.writer, agent["id"], "available")
    chat = client.post("/v1/interactions", json={
        "kind": "chat", "agent_id": agent["id"], "identities": {"email": "kim@example.nl"}},
        headers=auth(keys.writer)).json()
    assert (chat["customer_id"], chat["ended_at"]) == (customer, None)
    clock.advance(minutes=6)
    client.post(f"/v1/interactions/{chat['id']}/outcome", json={"outcome": "follow_up_needed"},
                headers=auth(keys.writer))
    with ctx.db.reader() as session:
        events = recent_events(session, customer)
    assert [(e["event"], e["channel"], e["properties"]["outcome"],
             e["properties"]["handle_seconds"]) for e in events] == [
        ("Chat Completed", "chat", "follow_up_needed", 360.0),
        ("Store Visit Completed", "store", "no_sale", 0.0)]


def test_two_agents_accepting_at_once_never_get_the_same_callback(ctx: AppContext) -> None:
    service.create_queue(ctx, name="sales-callback", skill="sales", channel="callback")
    agents = [service.create_agent(ctx, name=f"A{i}", email=f"a{i}@x.nl",
                                   password="long enough pw", skills=["sales"])
              for i in range(4)]
    for agent in agents:
        service.set_agent_state(ctx, agent.id, "available")
    for i in range(2):
        service.create_callback(ctx, customer_id=None, phone=f"061234567{i}",
                                queue="sales-callback", slot_start=None, context={})
    start = threading.Barrier(len(agents))
    got: dict[str, str | None] = {}

    def accept(agent_id: str) -> None:
        start.wait()
        callback = service.accept_next_callback(ctx, agent_id)
        got[agent_id] = None if callback is None else callback.id

    threads = [threading.Thread(target=accept, args=(a.id,)) for a in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    taken = [c for c in got.values() if c is not None]
    assert len(taken) == 2 and len(set(taken)) == 2
    assigned = service.list_callbacks(ctx, status="assigned")
    assert sorted(c.id for c in assigned) == sorted(taken)
    assert {c.agent_id for c in assigned} == {a for a, c in got.items() if c is not None}


def test_bad_interactions_are_refused_and_change_nothing(
    client: TestClient, keys: Keys, ctx: AppContext
) -> None:
    agent = add_agent(client, keys.admin, "ann@x.nl")
    before = count_rows(ctx)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"kind": "call", "agent_id": "agt_nope"}, 404, "unknown_agent"),
        ({"kind": "fax"}, 422, "invalid_kind"),
        ({"kind": "call", "agent_id": agent["id"]}, 409, "invalid_state_transition"),
        ({"kind": "call", "outcome": "sale"}, 422, "sale_value_required"),
        ({"kind": "call", "outcome": "sale", "sale_value": "-5"}, 422, "invalid_amount"),
        ({"kind": "call", "queue": "nope"}, 404, "unknown_queue"),
    ]
    for body, status, code in cases:
        response = client.post("/v1/interactions", json=body, headers=auth(keys.writer))
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), body
    missing = client.post("/v1/interactions/int_nope/outcome", json={"outcome": "no_sale"},
                          headers=auth(keys.writer))
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "unknown_interaction")
    assert count_rows(ctx) == before
    assert client.get(f"/v1/agents/{agent['id']}", headers=auth(keys.read)).json()[
        "state"] == "offline"


def test_a_scheduled_callback_joins_the_queue_length_once_its_slot_is_due(
    client: TestClient, keys: Keys, ctx: AppContext, clock: ManualClock
) -> None:
    add_queue(client, keys.admin, name="sales-callback", channel="callback")
    slot = (clock.now() + timedelta(minutes=30)).isoformat()
    client.post("/v1/callbacks", json={"phone": "0612345678", "queue": "sales-callback",
                                       "slot_start": slot}, headers=auth(keys.writer))
    assert capacity_of(client, keys.read, "sales-callback")["queue_length"] == 0
    clock.advance(minutes=30)
    service.refresh_capacity(ctx)  # what the background refresh does every few seconds
    assert capacity_of(client, keys.read, "sales-callback")["queue_length"] == 1


def test_callbacks_booked_within_the_horizon_come_off_its_spare_agent_minutes(
    client: TestClient, keys: Keys, clock: ManualClock
) -> None:
    add_queue(client, keys.admin, name="sales-callback", channel="callback")
    for i in range(3):
        agent = add_agent(client, keys.admin, f"agent{i}@x.nl")
        assert set_state(client, keys.writer, agent["id"], "available").status_code == 200
    free = capacity_of(client, keys.read, "sales-callback")
    handle_minutes = free["handle_time_seconds"] / 60.0
    assert free["spare_agent_minutes_15"] > 2 * handle_minutes
    for minutes in (10, 10, 20, 40):  # two due within 15 minutes, three within 30
        slot = (clock.now() + timedelta(minutes=minutes)).isoformat()
        response = client.post("/v1/callbacks", json={
            "phone": "0612345678", "queue": "sales-callback", "slot_start": slot},
            headers=auth(keys.writer))
        assert response.status_code == 201, response.text
    booked = capacity_of(client, keys.read, "sales-callback")
    assert booked["queue_length"] == 0  # none is due yet
    assert booked["spare_agent_minutes_15"] == pytest.approx(
        free["spare_agent_minutes_15"] - 2 * handle_minutes)
    assert booked["spare_agent_minutes_30"] == pytest.approx(
        free["spare_agent_minutes_30"] - 3 * handle_minutes)


def test_an_agent_who_becomes_available_is_offered_one_waiting_callback(
    client: TestClient, keys: Keys
) -> None:
    add_queue(client, keys.admin, name="sales-callback", channel="callback")
    made = [client.post("/v1/callbacks", json={"phone": f"061234567{i}",
                                               "queue": "sales-callback"},
                        headers=auth(keys.writer)).json() for i in range(2)]
    assert [c["offered_agent_id"] for c in made] == [None, None]
    agent = add_agent(client, keys.admin, "ann@x.nl")
    set_state(client, keys.writer, agent["id"], "available")
    set_state(client, keys.writer, agent["id"], "away")
    set_state(client, keys.writer, agent["id"], "available")
    offers = [client.get(f"/v1/callbacks/{c['id']}", headers=auth(keys.read)).json()[
        "offered_agent_id"] for c in made]
    assert offers == [agent["id"], None]


def test_a_call_with_a_new_caller_stitches_their_number_when_it_ends(
    client: TestClient, keys: Keys, ctx: AppContext
) -> None:
    agent = add_agent(client, keys.admin, "ann@x.nl")
    set_state(client, keys.writer, agent["id"], "available")
    call = client.post("/v1/interactions", json={
        "kind": "call", "agent_id": agent["id"], "identities": {"phone": "06-12345678"}},
        headers=auth(keys.writer)).json()
    assert call["customer_id"] is None
    done = client.post(f"/v1/interactions/{call['id']}/outcome", json={
        "outcome": "quote", "quote": "250.00"}, headers=auth(keys.writer)).json()
    with ctx.db.reader() as session:
        customer = find_customer_id(session, "phone", "+31612345678")
        assert customer is not None
        events = recent_events(session, customer)
    assert done["customer_id"] == customer
    assert [(e["event"], e["properties"]["quote"]) for e in events] == [
        ("Call Completed", "250.00")]
    bad = client.post("/v1/interactions", json={"kind": "call", "identities": {"email": "x"}},
                      headers=auth(keys.writer))
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_identity")


class _BrokenLive:
    """A live store that is down: every call fails."""

    def __getattr__(self, name: str) -> Any:
        def fail(*_args: Any, **_kwargs: Any) -> Any:
            raise ConnectionError("live store down")

        return fail


def test_a_committed_state_change_survives_a_live_store_outage(ctx: AppContext) -> None:
    service.create_queue(ctx, name="sales-phone", skill="sales", channel="phone")
    agent = service.create_agent(ctx, name="Ann", email="ann@x.nl", password="long enough pw",
                                 skills=["sales"])
    healthy = ctx.live
    ctx.live = _BrokenLive()
    try:
        assert service.set_agent_state(ctx, agent.id, "available").state.value == "available"
    finally:
        ctx.live = healthy
    assert service.get_agent(ctx, agent.id).state.value == "available"
    assert service.refresh_capacity(ctx)["sales-phone"].available_agents == 1
