"""ACD webhooks: signed events applied, bad signatures refused, replays ignored."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from kanaal.contact_center.acd import sign
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
    post_acd,
)


def _integration(client: TestClient, keys: Keys) -> str:
    response = client.post("/v1/contact-center/acd/integrations", json={"name": "twilio"},
                           headers=auth(keys.admin))
    assert response.status_code == 201
    secret: str = response.json()["secret"]
    return secret


def _agent_state(client: TestClient, keys: Keys, agent_id: str) -> str:
    state: str = client.get(f"/v1/agents/{agent_id}", headers=auth(keys.read)).json()["state"]
    return state


def test_a_signed_agent_state_event_is_applied(client: TestClient, keys: Keys, ctx: AppContext
                                               ) -> None:
    secret = _integration(client, keys)
    add_queue(client, keys.admin)
    agent = add_agent(client, keys.admin, "ann@x.nl", external_id="WK-1")
    response = post_acd(client, ctx, secret, {"id": "e1", "type": "agent.state",
                                              "agent_external_id": "WK-1", "state": "busy"})
    assert response.json() == {"status": "applied", "agent_id": agent["id"], "state": "busy"}
    # the telephony platform is authoritative: offline -> busy is taken as it comes
    assert _agent_state(client, keys, agent["id"]) == "busy"
    assert capacity_of(client, keys.read, "sales-phone")["busy_agents"] == 1


def test_a_bad_signature_gets_401_and_changes_nothing(
    client: TestClient, keys: Keys, ctx: AppContext
) -> None:
    secret = _integration(client, keys)
    agent = add_agent(client, keys.admin, "ann@x.nl", external_id="WK-1")
    before = count_rows(ctx)
    event = {"id": "e1", "type": "agent.state", "agent_external_id": "WK-1",
             "state": "available"}
    body = json.dumps(event).encode()
    stamp = int(ctx.clock.now().timestamp())
    attempts = [
        {"Kanaal-Signature": sign("wrong-secret", stamp, body)},
        {"Kanaal-Signature": sign(secret, stamp, body + b" ")},  # signed another body
        {"Kanaal-Signature": f"t={stamp}"},
        {},
    ]
    for headers in attempts:
        response = client.post("/v1/contact-center/acd/events", content=body, headers=headers)
        assert (response.status_code, response.json()["error"]["code"]) == (
            401, "invalid_signature")
    assert _agent_state(client, keys, agent["id"]) == "offline"
    assert count_rows(ctx) == before
    # the same event correctly signed is then applied: the bad attempts did not burn its id
    assert post_acd(client, ctx, secret, event).json()["status"] == "applied"


def test_replays_are_ignored(client: TestClient, keys: Keys, ctx: AppContext,
                             clock: ManualClock) -> None:
    secret = _integration(client, keys)
    add_queue(client, keys.admin)
    queued = {"id": "e1", "type": "call.queued", "queue": "sales-phone", "call_id": "CA1"}
    assert post_acd(client, ctx, secret, queued).json()["status"] == "applied"
    replay = post_acd(client, ctx, secret, queued)
    assert (replay.status_code, replay.json()) == (200, {"status": "duplicate",
                                                         "reason": "seen"})
    stale_at = int(clock.now().timestamp()) - 301
    stale = post_acd(client, ctx, secret, {**queued, "id": "e2"}, at=stale_at)
    assert (stale.status_code, stale.json()) == (200, {"status": "duplicate",
                                                       "reason": "stale_timestamp"})
    assert capacity_of(client, keys.read, "sales-phone")["queue_length"] == 1
    assert count_rows(ctx)["cc_acd_events"] == 1


def test_a_call_from_queue_to_completion_through_twilio_events(
    client: TestClient, keys: Keys, ctx: AppContext, clock: ManualClock
) -> None:
    secret = _integration(client, keys)
    add_queue(client, keys.admin, external_id="WQ-sales")
    agent = add_agent(client, keys.admin, "ann@x.nl", external_id="WK-1")
    events = [
        {"EventType": "worker.activity.update", "Sid": "EV1", "WorkerSid": "WK-1",
         "WorkerActivityName": "Available"},
        {"EventType": "task.created", "Sid": "EV2", "TaskSid": "WT-1",
         "TaskQueueName": "WQ-sales", "TaskAttributes": json.dumps({"from": "+31612345678"})},
    ]
    for event in events:
        assert post_acd(client, ctx, secret, event, source="twilio").json()["status"] == "applied"
    cap = capacity_of(client, keys.read, "sales-phone")
    assert (cap["queue_length"], cap["available_agents"]) == (1, 1)
    answered = post_acd(client, ctx, secret, {
        "EventType": "reservation.accepted", "Sid": "EV3", "TaskSid": "WT-1",
        "TaskQueueName": "WQ-sales", "WorkerSid": "WK-1",
        "TaskAttributes": json.dumps({"from": "+31612345678"})}, source="twilio").json()
    assert answered["status"] == "applied"
    cap = capacity_of(client, keys.read, "sales-phone")
    assert (cap["queue_length"], cap["available_agents"], cap["busy_agents"]) == (0, 0, 1)
    clock.advance(minutes=5)
    completed = post_acd(client, ctx, secret, {
        "EventType": "task.completed", "Sid": "EV4", "TaskSid": "WT-1", "TaskAge": "300",
        "TaskAttributes": json.dumps({"outcome": "follow_up_needed"})},
        source="twilio").json()
    assert completed["status"] == "applied"
    with ctx.db.reader() as session:
        customer = find_customer_id(session, "phone", "+31612345678")
        assert customer is not None and completed["customer_id"] == customer
        timeline = recent_events(session, customer)
    assert [(e["event"], e["properties"]["outcome"], e["properties"]["handle_seconds"])
            for e in timeline] == [("Call Completed", "follow_up_needed", 300.0)]
    interaction = client.get(f"/v1/interactions/{answered['interaction_id']}",
                             headers=auth(keys.read)).json()
    assert (interaction["handle_seconds"], interaction["outcome"], interaction["agent_id"]) == (
        300.0, "follow_up_needed", agent["id"])
    assert _agent_state(client, keys, agent["id"]) == "wrap_up"
    ignored = post_acd(client, ctx, secret, {"EventType": "workflow.timeout", "Sid": "EV5"},
                       source="twilio")
    assert ignored.json() == {"status": "ignored"}


def test_events_naming_unknown_things_are_refused_and_change_nothing(
    client: TestClient, keys: Keys, ctx: AppContext
) -> None:
    secret = _integration(client, keys)
    add_queue(client, keys.admin)
    before = count_rows(ctx)
    cases = [
        ({"id": "e1", "type": "agent.state", "agent_email": "ghost@x.nl", "state": "busy"},
         404, "unknown_agent"),
        ({"id": "e2", "type": "call.queued", "queue": "nope", "call_id": "C"}, 404,
         "unknown_queue"),
        ({"id": "e3", "type": "call.teleported"}, 422, "invalid_acd_event"),
    ]
    for event, status, code in cases:
        response = post_acd(client, ctx, secret, event)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert count_rows(ctx) == before
    signed_garbage = b"not json"
    stamp = int(ctx.clock.now().timestamp())
    response = client.post("/v1/contact-center/acd/events", content=signed_garbage,
                           headers={"Kanaal-Signature": sign(secret, stamp, signed_garbage)})
    assert (response.status_code, response.json()["error"]["code"]) == (400, "malformed_json")
    huge = json.dumps({"id": "big", "type": "call.queued", "pad": "x" * 70_000}).encode()
    response = client.post("/v1/contact-center/acd/events", content=huge,
                           headers={"Kanaal-Signature": sign(secret, stamp, huge)})
    assert (response.status_code, response.json()["error"]["code"]) == (413, "payload_too_large")
    unsigned = client.post("/v1/contact-center/acd/events?source=nope", content=b"{}")
    assert (unsigned.status_code, unsigned.json()["error"]["code"]) == (401, "invalid_signature")
    assert count_rows(ctx) == before
