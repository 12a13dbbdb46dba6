"""Actual waits (queued to answered) and dialed numbers on calls, callbacks and interactions."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from kanaal.contact_center import service as cc
from kanaal.contact_center import store
from kanaal.contact_center.domain import check_e164, wait_summary
from kanaal.core.clock import ManualClock
from kanaal.core.context import AppContext
from kanaal.core.errors import InvalidInput
from tests.conftest import Keys
from tests.support.contact_center import (
    add_agent,
    add_queue,
    auth,
    count_rows,
    post_acd,
    set_state,
)

TRACKED = "+31205550101"


def _secret(client: TestClient, keys: Keys) -> str:
    response = client.post("/v1/contact-center/acd/integrations", json={"name": "acd"},
                           headers=auth(keys.admin))
    assert response.status_code == 201, response.text
    secret: str = response.json()["secret"]
    return secret


def _waits(client: TestClient, keys: Keys, **params: Any) -> dict[str, dict[str, Any]]:
    response = client.get("/v1/contact-center/waits", params=params, headers=auth(keys.read))
    assert response.status_code == 200, response.text
    return {q["queue"]: {k: v for k, v in q.items() if k != "queue"}
            for q in response.json()["queues"]}


def _queued_calls(ctx: AppContext) -> int:
    with ctx.db.reader() as session:
        return int(session.execute(
            select(func.count()).select_from(store.queued_calls)).scalar_one())


def _interaction(client: TestClient, keys: Keys, interaction_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/interactions/{interaction_id}", headers=auth(keys.read))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_wait_summary_gives_the_mean_and_the_nearest_rank_90th_percentile() -> None:
    assert wait_summary([]) == {"answered": 0, "mean_seconds": None, "p90_seconds": None}
    assert wait_summary([30.0]) == {"answered": 1, "mean_seconds": 30.0, "p90_seconds": 30.0}
    waits = [float(s) for s in range(100, 0, -10)]  # 100, 90, ... 10 in no particular order
    assert wait_summary(waits) == {"answered": 10, "mean_seconds": 55.0, "p90_seconds": 90.0}
    assert wait_summary([1.0, 2.0, 3.0, 400.0])["p90_seconds"] == 400.0


@pytest.mark.parametrize(("raw", "expected"), [
    ("+31205550101", "+31205550101"), ("+31 20 555 0101", "+31205550101"),
    ("+1 (415) 555-0100", "+14155550100")])
def test_e164_numbers_are_accepted_in_compact_form(raw: str, expected: str) -> None:
    assert check_e164(raw) == expected


@pytest.mark.parametrize("raw", ["0205550101", "+0205550101", "+31", "sip:desk@pbx", "+31abc"])
def test_numbers_that_are_not_e164_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_e164(raw)
    assert caught.value.code == "invalid_phone_number"


def test_an_acd_call_records_its_wait_and_dialed_number_and_the_queue_reports_them(
    client: TestClient, keys: Keys, ctx: AppContext, clock: ManualClock
) -> None:
    secret = _secret(client, keys)
    add_queue(client, keys.admin)
    add_agent(client, keys.admin, "ann@x.nl", external_id="WK-1")
    answered_ids = []
    # Ten calls waiting 10, 20, ... 100 seconds before an agent answers
    for n in range(1, 11):
        queued = post_acd(client, ctx, secret, {
            "id": f"q{n}", "type": "call.queued", "queue": "sales-phone", "call_id": f"C{n}",
            "phone": "+31612345678", "to": "+31 20 555 0101"})
        assert queued.json()["status"] == "applied", queued.text
        clock.advance(seconds=10 * n)
        answered = post_acd(client, ctx, secret, {
            "id": f"a{n}", "type": "call.answered", "queue": "sales-phone", "call_id": f"C{n}",
            "agent_external_id": "WK-1"})
        assert answered.json()["status"] == "applied", answered.text
        answered_ids.append(answered.json()["interaction_id"])
        post_acd(client, ctx, secret, {"id": f"c{n}", "type": "call.completed",
                                       "call_id": f"C{n}", "outcome": "no_sale"})
    first = _interaction(client, keys, answered_ids[0])
    assert (first["wait_seconds"], first["dialed_number"]) == (10.0, TRACKED)
    assert first["queued_at"] == "2026-01-05T09:00:00Z"
    assert first["started_at"] == "2026-01-05T09:00:10Z"
    assert _queued_calls(ctx) == 0  # answered calls leave the waiting list
    # Over the last 15 minutes (the calls span 550 s): all ten
    assert _waits(client, keys) == {"sales-phone": {
        "answered": 10, "mean_seconds": 55.0, "p90_seconds": 90.0}}
    # A 5-minute window holds only the calls answered in the last 300 s: waits 70..100
    assert _waits(client, keys, window_minutes=5)["sales-phone"] == {
        "answered": 4, "mean_seconds": 85.0, "p90_seconds": 100.0}
    clock.advance(minutes=15, seconds=1)
    assert _waits(client, keys)["sales-phone"] == {
        "answered": 0, "mean_seconds": None, "p90_seconds": None}


def test_an_abandoned_call_leaves_no_wait_behind(
    client: TestClient, keys: Keys, ctx: AppContext, clock: ManualClock
) -> None:
    secret = _secret(client, keys)
    add_queue(client, keys.admin)
    post_acd(client, ctx, secret, {"id": "q1", "type": "call.queued", "queue": "sales-phone",
                                   "call_id": "C1", "to": TRACKED})
    assert _queued_calls(ctx) == 1
    clock.advance(seconds=90)
    gone = post_acd(client, ctx, secret, {"id": "x1", "type": "call.abandoned",
                                          "queue": "sales-phone", "call_id": "C1"})
    assert gone.json()["status"] == "applied"
    assert _queued_calls(ctx) == 0
    assert _waits(client, keys)["sales-phone"]["answered"] == 0
    # A call whose end never arrives is forgotten a day later
    post_acd(client, ctx, secret, {"id": "q2", "type": "call.queued", "queue": "sales-phone",
                                   "call_id": "C2"})
    clock.advance(days=1, seconds=1)
    post_acd(client, ctx, secret, {"id": "q3", "type": "call.queued", "queue": "sales-phone",
                                   "call_id": "C3"})
    assert _queued_calls(ctx) == 1


def test_the_acds_own_wait_figure_wins_and_a_call_not_seen_queued_has_none(
    client: TestClient, keys: Keys, ctx: AppContext
) -> None:
    secret = _secret(client, keys)
    add_queue(client, keys.admin)
    add_agent(client, keys.admin, "ann@x.nl", external_id="WK-1")
    add_agent(client, keys.admin, "bob@x.nl", external_id="WK-2")
    told = post_acd(client, ctx, secret, {
        "id": "a1", "type": "call.answered", "queue": "sales-phone", "call_id": "C1",
        "agent_external_id": "WK-1", "wait_seconds": 42, "dialed_number": TRACKED}).json()
    unknown = post_acd(client, ctx, secret, {
        "id": "a2", "type": "call.answered", "queue": "sales-phone", "call_id": "C2",
        "agent_external_id": "WK-2"}).json()
    assert (_interaction(client, keys, told["interaction_id"])["wait_seconds"],
            _interaction(client, keys, told["interaction_id"])["dialed_number"]) == (42.0, TRACKED)
    assert (_interaction(client, keys, unknown["interaction_id"])["wait_seconds"],
            _interaction(client, keys, unknown["interaction_id"])["dialed_number"]) == (None, None)
    assert _waits(client, keys)["sales-phone"] == {
        "answered": 1, "mean_seconds": 42.0, "p90_seconds": 42.0}


def test_twilio_and_genesys_calls_carry_their_dialed_number_and_wait(
    client: TestClient, keys: Keys, ctx: AppContext, clock: ManualClock
) -> None:
    secret = _secret(client, keys)
    add_queue(client, keys.admin, external_id="WQ-sales")
    add_agent(client, keys.admin, "ann@x.nl", external_id="WK-1")
    add_agent(client, keys.admin, "bob@x.nl", external_id="user-2")
    attributes = json.dumps({"from": "+31612345678", "to": TRACKED})
    post_acd(client, ctx, secret, {"EventType": "task.created", "Sid": "EV1", "TaskSid": "WT-1",
                                   "TaskQueueName": "WQ-sales", "TaskAttributes": attributes},
             source="twilio")
    clock.advance(seconds=5)
    twilio = post_acd(client, ctx, secret, {
        "EventType": "reservation.accepted", "Sid": "EV2", "TaskSid": "WT-1", "TaskAge": "33",
        "TaskQueueName": "WQ-sales", "WorkerSid": "WK-1", "TaskAttributes": attributes},
        source="twilio").json()
    call = _interaction(client, keys, twilio["interaction_id"])
    # TaskAge is Twilio's own measure of the wait (the task existed before Kanaal heard of it)
    assert (call["dialed_number"], call["wait_seconds"]) == (TRACKED, 33.0)
    topic = "v2.detail.events.conversation.{id}.{phase}"
    body = {"queueId": "WQ-sales", "ani": "tel:+31687654321", "dnis": "tel:+31205550199"}
    post_acd(client, ctx, secret, {"topicName": topic.format(id="G1", phase="acd.start"),
                                   "metadata": {"CorrelationId": "g1"}, "eventBody": body},
             source="genesys")
    clock.advance(seconds=12)
    genesys = post_acd(client, ctx, secret, {
        "topicName": topic.format(id="G1", phase="user.start"),
        "metadata": {"CorrelationId": "g2"}, "eventBody": {**body, "userId": "user-2"}},
        source="genesys").json()
    call = _interaction(client, keys, genesys["interaction_id"])
    assert (call["dialed_number"], call["wait_seconds"]) == ("+31205550199", 12.0)


def test_a_dialed_number_that_is_not_e164_is_refused_and_nothing_is_stored(
    client: TestClient, keys: Keys, ctx: AppContext
) -> None:
    secret = _secret(client, keys)
    add_queue(client, keys.admin)
    before = count_rows(ctx)
    for key, value in [("to", "020 555 0101"), ("dialed_number", "sip:sales@pbx"),
                       ("to", 12345)]:
        response = post_acd(client, ctx, secret, {"id": f"q-{key}-{value}", "type": "call.queued",
                                                  "queue": "sales-phone", "call_id": "C1",
                                                  key: value})
        assert (response.status_code, response.json()["error"]["code"]) == (
            422, "invalid_acd_event"), response.text
        assert response.json()["error"]["details"] == [{"loc": [key]}]
    assert count_rows(ctx) == before
    assert _queued_calls(ctx) == 0


def test_an_accepted_callback_waited_from_when_it_was_due(
    client: TestClient, keys: Keys, clock: ManualClock
) -> None:
    add_queue(client, keys.admin, name="sales-callback", channel="callback")
    agent = add_agent(client, keys.admin, "ann@x.nl")
    client.post("/v1/callbacks", json={"phone": "0612345678", "queue": "sales-callback"},
                headers=auth(keys.writer))
    clock.advance(minutes=2)
    set_state(client, keys.writer, agent["id"], "available")
    accepted = client.post(f"/v1/agents/{agent['id']}/accept-next-callback",
                           headers=auth(keys.writer)).json()["callback"]
    call = _interaction(client, keys, accepted["interaction_id"])
    assert (call["queued_at"], call["wait_seconds"]) == ("2026-01-05T09:00:00Z", 120.0)
    assert _waits(client, keys)["sales-callback"] == {
        "answered": 1, "mean_seconds": 120.0, "p90_seconds": 120.0}


def test_an_interaction_opened_with_its_queue_time_records_the_wait(
    client: TestClient, keys: Keys, ctx: AppContext, clock: ManualClock
) -> None:
    add_queue(client, keys.admin, name="sales-chat", channel="chat", skill="sales")
    agent = add_agent(client, keys.admin, "ann@x.nl", concurrency={"chat": 3})
    set_state(client, keys.writer, agent["id"], "available")
    clock.advance(seconds=25)
    opened = client.post("/v1/interactions", json={
        "kind": "chat", "agent_id": agent["id"], "queue": "sales-chat",
        "queued_at": "2026-01-05T09:00:00Z"}, headers=auth(keys.writer))
    assert opened.status_code == 201, opened.text
    assert (opened.json()["wait_seconds"], opened.json()["dialed_number"]) == (25.0, None)
    # The service, as the chat desk calls it
    chat = cc.record_interaction(ctx, kind="chat", agent_id=agent["id"], customer_id=None,
                                 identities={}, queue="sales-chat",
                                 queued_at=clock.now().replace(second=15))
    assert chat.wait_seconds == 10.0
    assert _waits(client, keys)["sales-chat"] == {
        "answered": 2, "mean_seconds": 17.5, "p90_seconds": 25.0}
    logged = client.post("/v1/interactions", json={
        "kind": "call", "queue": "sales-chat", "outcome": "no_sale",
        "started_at": "2026-01-05T09:00:20Z", "queued_at": "2026-01-05T09:00:05Z",
        "dialed_number": "+31 20 555 0101"}, headers=auth(keys.writer))
    assert logged.status_code == 201, logged.text
    assert (logged.json()["wait_seconds"], logged.json()["dialed_number"]) == (15.0, TRACKED)


def test_bad_queue_times_and_dialed_numbers_on_interactions_are_refused(
    client: TestClient, keys: Keys, ctx: AppContext
) -> None:
    add_queue(client, keys.admin)
    before = count_rows(ctx)
    cases = [
        ({"kind": "call", "queued_at": "2026-01-05T09:05:00Z"}, 422, "invalid_queued_at"),
        ({"kind": "call", "queued_at": "2026-01-05T09:00:00"}, 422, "validation_error"),
        ({"kind": "call", "dialed_number": "0205550101"}, 422, "invalid_phone_number"),
        ({"kind": "chat", "dialed_number": TRACKED}, 422, "invalid_dialed_number"),
    ]
    for body, status, code in cases:
        response = client.post("/v1/interactions", json=body, headers=auth(keys.writer))
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), body
    assert count_rows(ctx) == before
