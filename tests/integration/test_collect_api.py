"""The Segment HTTP Tracking API on SQLite and PostgreSQL: auth, gzip, dedupe, skew, channels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from kanaal.app import create_app
from kanaal.core.clock import ManualClock
from kanaal.core.context import AppContext, build_context
from kanaal.core.live import MemoryLiveStore, open_live_store
from tests.conftest import Keys, bearer
from tests.support.collect import basic, gzipped, row_counts, stored_events

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_track_with_basic_auth_with_and_without_colon_and_body_write_key(
    client: TestClient, keys: Keys, ctx: AppContext
) -> None:
    body = {"anonymousId": "a1", "event": "Product Viewed", "properties": {"sku": "S1"}}
    with_colon = client.post("/v1/track", json={**body, "messageId": "m1"},
                             headers=basic(keys.write))
    without = client.post("/v1/track", json={**body, "messageId": "m2"},
                          headers=basic(keys.write, colon=False))
    in_body = client.post("/v1/track", json={**body, "messageId": "m3", "writeKey": keys.write})
    assert [r.status_code for r in (with_colon, without, in_body)] == [200, 200, 200]
    assert with_colon.json() == {"success": True}
    events = stored_events(ctx)
    assert [(e["message_id"], e["event"], e["channel"]) for e in events] == [
        ("m1", "Product Viewed", "web"), ("m2", "Product Viewed", "web"),
        ("m3", "Product Viewed", "web"),
    ]
    assert len({e["customer_id"] for e in events}) == 1
    assert events[0]["properties"] == {"sku": "S1"}
    assert events[0]["received_at"] == NOW and events[0]["timestamp"] == NOW


def test_every_event_type_is_accepted(client: TestClient, keys: Keys, ctx: AppContext) -> None:
    calls = {
        "identify": {"userId": "u1", "traits": {"name": "Ann"}},
        "track": {"userId": "u1", "event": "Order Completed"},
        "page": {"userId": "u1", "name": "Home"},
        "screen": {"userId": "u1", "name": "Cart"},
        "group": {"userId": "u1", "groupId": "g1", "traits": {"plan": "b2b"}},
        "alias": {"userId": "u1", "previousId": "anon-1"},
    }
    for kind, body in calls.items():
        response = client.post(f"/v1/{kind}", json={**body, "messageId": kind},
                               headers=basic(keys.write))
        assert response.status_code == 200, response.text
    events = {e["type"]: e for e in stored_events(ctx)}
    assert set(events) == set(calls)
    assert events["group"]["properties"] == {"groupId": "g1", "traits": {"plan": "b2b"}}
    assert events["page"]["name"] == "Home"
    assert len({e["customer_id"] for e in events.values()}) == 1


def test_gzip_bodies_are_accepted(client: TestClient, keys: Keys, ctx: AppContext) -> None:
    body = {"batch": [{"type": "track", "userId": "u1", "event": "A", "messageId": "g1"}]}
    response = client.post("/v1/batch", content=gzipped(body),
                           headers={**basic(keys.write), "Content-Encoding": "gzip",
                                    "Content-Type": "application/json"})
    assert response.status_code == 200
    assert [e["message_id"] for e in stored_events(ctx)] == ["g1"]


def test_repeated_message_id_is_accepted_and_stores_nothing_even_after_restart(
    client: TestClient, keys: Keys, ctx: AppContext, clock: ManualClock
) -> None:
    body = {"userId": "u1", "event": "Order Completed", "messageId": "m1",
            "properties": {"total": 10}}
    assert client.post("/v1/track", json=body, headers=basic(keys.write)).status_code == 200
    before = row_counts(ctx)
    again = client.post("/v1/track", json={**body, "properties": {"total": 99}},
                        headers=basic(keys.write))
    assert again.status_code == 200 and again.json() == {"success": True}
    restarted = build_context(ctx.settings, clock=clock, live=open_live_store(None))
    with TestClient(create_app(ctx=restarted)) as fresh:
        batch = {"batch": [{**body, "type": "track"}, {**body, "type": "track"}]}
        assert fresh.post("/v1/batch", json=batch, headers=basic(keys.write)).status_code == 200
    restarted.db.dispose()
    assert row_counts(ctx) == before
    assert [e["properties"] for e in stored_events(ctx)] == [{"total": 10}]


def test_clock_skew_is_corrected_from_sent_at(
    client: TestClient, keys: Keys, ctx: AppContext
) -> None:
    # The device clock runs an hour ahead: it stamped the event 10 s before sending it.
    body = {"batch": [
        {"type": "track", "userId": "u1", "event": "Skewed", "messageId": "s1",
         "originalTimestamp": "2026-01-05T10:00:00+00:00"},
        {"type": "track", "userId": "u1", "event": "Explicit", "messageId": "s2",
         "timestamp": "2025-12-31T23:00:00Z", "sentAt": None},
    ], "sentAt": "2026-01-05T10:00:10+00:00"}
    assert client.post("/v1/batch", json=body, headers=basic(keys.write)).status_code == 200
    by_name = {e["event"]: e for e in stored_events(ctx)}
    assert by_name["Skewed"]["timestamp"] == NOW - timedelta(seconds=10)
    assert by_name["Skewed"]["received_at"] == NOW
    # With the batch's sentAt the explicit timestamp is corrected too (same device clock).
    sent = datetime(2026, 1, 5, 10, 0, 10, tzinfo=UTC)
    expected = NOW - (sent - datetime(2025, 12, 31, 23, 0, tzinfo=UTC))
    assert by_name["Explicit"]["timestamp"] == expected


def test_events_are_tagged_with_the_source_channel_or_context_channel(
    client: TestClient, keys: Keys, ctx: AppContext
) -> None:
    client.post("/v1/track", json={"userId": "u1", "event": "A", "messageId": "c1"},
                headers=basic(keys.write))
    client.post("/v1/track", json={"userId": "u1", "event": "B", "messageId": "c2",
                                   "context": {"channel": "store"}}, headers=basic(keys.write))
    client.post("/v1/track", json={"userId": "u1", "event": "C", "messageId": "c3"},
                headers=bearer(keys.writer))
    assert [(e["event"], e["channel"]) for e in stored_events(ctx)] == [
        ("A", "web"), ("B", "store"), ("C", "web"),
    ]


def test_a_read_only_secret_key_may_not_send_events(
    client: TestClient, keys: Keys, ctx: AppContext
) -> None:
    response = client.post("/v1/track", json={"userId": "u1", "event": "A"},
                           headers=bearer(keys.read))
    assert (response.status_code, response.json()["error"]["code"]) == (403, "missing_scope")
    assert stored_events(ctx) == []


def test_rate_limit_answers_429_with_retry_after(
    client: TestClient, keys: Keys, ctx: AppContext
) -> None:
    ctx.settings.rate_limit_per_second = 0.5
    ctx.settings.rate_limit_burst = 2
    ctx.live = MemoryLiveStore(clock=lambda: 1_000.0)  # time stands still: no refill
    statuses = [
        client.post("/v1/track", json={"userId": "u1", "event": "A", "messageId": f"r{n}"},
                    headers=basic(keys.write))
        for n in range(3)
    ]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert statuses[2].json()["error"]["code"] == "rate_limited"
    assert statuses[2].headers["Retry-After"] == "2"
    assert [e["message_id"] for e in stored_events(ctx)] == ["r0", "r1"]


def test_explicit_nulls_are_absent_values_and_a_null_trait_removes_it(
    client: TestClient, keys: Keys, ctx: AppContext
) -> None:
    first = {"userId": "u1", "anonymousId": None, "traits": {"plan": "gold", "city": "Delft"},
             "context": None, "properties": None, "messageId": "n1"}
    second = {"userId": "u1", "traits": {"plan": None}, "messageId": "n2", "timestamp": None}
    assert client.post("/v1/identify", json=first, headers=basic(keys.write)).status_code == 200
    assert client.post("/v1/identify", json=second, headers=basic(keys.write)).status_code == 200
    profile = client.get("/v1/customers", params={"user_id": "u1"}, headers=bearer(keys.read))
    assert {k: v["value"] for k, v in profile.json()["traits"].items()} == {"city": "Delft"}
    assert [e["context"] for e in stored_events(ctx)] == [{}, {}]


def test_traits_come_from_traits_or_context_traits(
    client: TestClient, keys: Keys, ctx: AppContext
) -> None:
    client.post("/v1/track", json={
        "anonymousId": "a1", "event": "Signed Up", "messageId": "t1",
        "context": {"traits": {"email": " Ann@Example.com", "phone": "06 12345678"}},
    }, headers=basic(keys.write))
    client.post("/v1/identify", json={"anonymousId": "a1", "traits": {"first_name": "Ann"},
                                      "messageId": "t2"}, headers=basic(keys.write))
    response = client.get("/v1/customers", params={"phone": "+31612345678"},
                          headers=bearer(keys.read))
    assert response.status_code == 200
    customer = response.json()
    assert sorted((i["type"], i["value"]) for i in customer["identities"]) == [
        ("anonymous_id", "a1"), ("email", "ann@example.com"), ("phone", "+31612345678"),
    ]
    assert {k: v["value"] for k, v in customer["traits"].items()} == {
        "email": " Ann@Example.com", "phone": "06 12345678", "first_name": "Ann",
    }
    assert len(stored_events(ctx)) == 2


def test_openapi_describes_intake_and_customer_endpoints(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for kind in ("identify", "track", "page", "screen", "group", "alias", "batch"):
        assert "requestBody" in paths[f"/v1/{kind}"]["post"]
    batch = paths["/v1/batch"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "event" in batch["properties"]["batch"]["items"]["properties"]
    assert {"/v1/customers", "/v1/customers/{customer_id}",
            "/v1/customers/{customer_id}/timeline"} <= set(paths)


def test_json_the_fast_parser_refuses_is_still_read_and_stored_exactly(
    client: TestClient, keys: Keys, ctx: AppContext
) -> None:
    """orjson reads and writes the common case; a 70-bit integer (valid JSON it refuses)
    still goes through the standard library both ways, and non-ASCII text survives."""
    big = 2**70
    raw = ('{"anonymousId": "a-big", "event": "Quote Sent", "messageId": "big-1", '
           f'"properties": {{"reference": {big}, "city": "Zoetermeer \u00e9\u00e9n"}}}}')
    response = client.post("/v1/track", content=raw.encode(),
                           headers={**basic(keys.write), "Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert stored_events(ctx)[0]["properties"] == {"reference": big,
                                                   "city": "Zoetermeer \u00e9\u00e9n"}
    broken = client.post("/v1/track", content=b'{"anonymousId": "a", "event": ',
                         headers={**basic(keys.write), "Content-Type": "application/json"})
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "malformed_json"
