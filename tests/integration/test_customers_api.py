"""Customer API: lookup by identity, profile, timeline pages, stitching over HTTP, erasure."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from kanaal.core.clock import ManualClock
from kanaal.core.context import AppContext
from kanaal.customers.store import customer_merges
from tests.conftest import Keys, bearer
from tests.support.collect import basic, empty_counts, row_counts, stored_events


def _send(client: TestClient, keys: Keys, kind: str, body: dict[str, Any]) -> None:
    response = client.post(f"/v1/{kind}", json=body, headers=basic(keys.write))
    assert response.status_code == 200, response.text


def _customer(client: TestClient, keys: Keys, **query: str) -> dict[str, Any]:
    response = client.get("/v1/customers", params=query, headers=bearer(keys.read))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_alias_stitches_the_anonymous_visitor_to_the_user(
    client: TestClient, keys: Keys, ctx: AppContext, clock: ManualClock
) -> None:
    _send(client, keys, "page", {"anonymousId": "anon-1", "name": "Home", "messageId": "p1"})
    clock.advance(minutes=1)
    _send(client, keys, "identify", {"userId": "u1", "traits": {"email": "ann@example.com"},
                                     "messageId": "i1"})
    clock.advance(minutes=1)
    _send(client, keys, "alias", {"userId": "u1", "previousId": "anon-1", "messageId": "a1"})
    by_anonymous = _customer(client, keys, anonymous_id="anon-1")
    by_email = _customer(client, keys, email=" ANN@example.com")
    assert by_anonymous["id"] == by_email["id"] == _customer(client, keys, user_id="u1")["id"]
    assert sorted((i["type"], i["value"]) for i in by_email["identities"]) == [
        ("anonymous_id", "anon-1"), ("email", "ann@example.com"), ("user_id", "u1"),
    ]
    assert by_email["channels"] == ["web"]
    assert by_email["first_seen_at"] == "2026-01-05T09:00:00Z"
    assert by_email["last_seen_at"] == "2026-01-05T09:02:00Z"
    assert by_email["traits"]["email"]["source"] == by_email["identities"][0]["source"]
    timeline = client.get(f"/v1/customers/{by_email['id']}/timeline", headers=bearer(keys.read))
    assert [e["message_id"] for e in timeline.json()["events"]] == ["a1", "i1", "p1"]
    with ctx.db.reader() as session:
        merge = session.execute(select(customer_merges)).one()
    assert (merge.customer_id, merge.message_id) == (by_email["id"], "a1")
    old = merge.merged_id
    again = client.get(f"/v1/customers/{old}", headers=bearer(keys.read))
    assert again.json()["id"] == by_email["id"]


def test_two_user_ids_never_merge_and_the_lowest_priority_identity_is_dropped(
    client: TestClient, keys: Keys, ctx: AppContext
) -> None:
    _send(client, keys, "identify", {"userId": "u1", "anonymousId": "shared", "messageId": "1"})
    _send(client, keys, "track", {"userId": "u2", "anonymousId": "shared", "event": "A",
                                  "messageId": "2"})
    first = _customer(client, keys, user_id="u1")
    second = _customer(client, keys, user_id="u2")
    assert first["id"] != second["id"]
    assert _customer(client, keys, anonymous_id="shared")["id"] == first["id"]
    assert [i["type"] for i in second["identities"]] == ["user_id"]
    events = {e["message_id"]: e["customer_id"] for e in stored_events(ctx)}
    assert events == {"1": first["id"], "2": second["id"]}


def test_timeline_pages_newest_first_with_an_opaque_cursor_and_channel_filter(
    client: TestClient, keys: Keys, clock: ManualClock
) -> None:
    for n in range(5):
        channel = "store" if n % 2 else "web"
        _send(client, keys, "track", {"userId": "u1", "event": f"E{n}", "messageId": f"m{n}",
                                      "context": {"channel": channel}})
        clock.advance(seconds=30)
    customer_id = _customer(client, keys, user_id="u1")["id"]
    url = f"/v1/customers/{customer_id}/timeline"
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get(url, params=params, headers=bearer(keys.read)).json()
        seen += [e["event"] for e in page["events"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert (seen, pages) == (["E4", "E3", "E2", "E1", "E0"], 3)
    stores = client.get(url, params={"channel": "store"}, headers=bearer(keys.read)).json()
    assert [e["event"] for e in stores["events"]] == ["E3", "E1"]
    bad = client.get(url, params={"cursor": "not-a-cursor"}, headers=bearer(keys.read))
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_cursor")


def test_lookup_errors(client: TestClient, keys: Keys) -> None:
    none = client.get("/v1/customers", headers=bearer(keys.read))
    assert (none.status_code, none.json()["error"]["code"]) == (422, "invalid_query")
    two = client.get("/v1/customers", params={"email": "a@b.nl", "user_id": "u"},
                     headers=bearer(keys.read))
    assert two.json()["error"]["code"] == "invalid_query"
    missing = client.get("/v1/customers", params={"email": "a@b.nl"}, headers=bearer(keys.read))
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "customer_not_found")
    junk = client.get("/v1/customers", params={"phone": "12"}, headers=bearer(keys.read))
    assert (junk.status_code, junk.json()["error"]["code"]) == (422, "invalid_identity")
    unknown = client.get("/v1/customers/cus_nope", headers=bearer(keys.read))
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "customer_not_found")
    write_key = client.get("/v1/customers/cus_nope", headers=bearer(keys.write))
    assert (write_key.status_code, write_key.json()["error"]["code"]) == (
        403, "secret_key_required")


def test_erasure_removes_everything_and_suppresses_until_new_consent(
    client: TestClient, keys: Keys, ctx: AppContext
) -> None:
    _send(client, keys, "identify", {"userId": "u1", "traits": {"email": "ann@example.com"},
                                     "messageId": "i1"})
    _send(client, keys, "track", {"userId": "u1", "event": "Order Completed", "messageId": "t1"})
    customer_id = _customer(client, keys, user_id="u1")["id"]
    refused = client.delete(f"/v1/customers/{customer_id}", headers=bearer(keys.read))
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "missing_scope")
    erased = client.delete(f"/v1/customers/{customer_id}", headers=bearer(keys.admin))
    assert erased.json() == {"id": customer_id, "erased": True, "suppressed_identities": 2}
    assert row_counts(ctx) == {**empty_counts(), "identity_suppressions": 2}
    assert client.get(f"/v1/customers/{customer_id}", headers=bearer(keys.read)).status_code == 404
    # Later events with an erased identity are accepted but dropped ...
    _send(client, keys, "track", {"anonymousId": "x", "event": "Viewed", "messageId": "t2",
                                  "context": {"traits": {"email": "ANN@example.com"}}})
    assert row_counts(ctx) == {**empty_counts(), "identity_suppressions": 2}
    # ... until the person gives consent again.
    _send(client, keys, "identify", {"userId": "u1", "traits": {"consent": True},
                                     "messageId": "i2"})
    assert [e["message_id"] for e in stored_events(ctx)] == ["i2"]
    assert row_counts(ctx)["identity_suppressions"] == 1
    gone = client.delete(f"/v1/customers/{customer_id}", headers=bearer(keys.admin))
    assert gone.status_code == 404


def test_device_external_ids_and_loyalty_card_stitch_store_and_web_visits(
    client: TestClient, keys: Keys, ctx: AppContext
) -> None:
    _send(client, keys, "track", {
        "anonymousId": "web-1", "event": "Product Viewed", "messageId": "w1",
        "context": {"device": {"id": "phone-77"},
                    "externalIds": [{"id": "CRM-9", "type": "crm_id", "collection": "users"}]},
    })
    _send(client, keys, "identify", {
        "anonymousId": "pos-1", "messageId": "s1", "traits": {"loyalty_card": "LC-1"},
        "context": {"channel": "store",
                    "externalIds": [{"id": "CRM-9", "type": "crm_id", "collection": "users"}]},
    })
    by_card = _customer(client, keys, loyalty_card="LC-1")
    assert by_card["id"] == _customer(client, keys, device_id="phone-77")["id"]
    assert sorted((i["type"], i["value"]) for i in by_card["identities"]) == [
        ("anonymous_id", "pos-1"), ("anonymous_id", "web-1"), ("crm_id", "CRM-9"),
        ("device_id", "phone-77"), ("loyalty_card", "LC-1"),
    ]
    assert by_card["channels"] == ["store", "web"]
    assert sorted(e["channel"] for e in stored_events(ctx)) == ["store", "web"]
