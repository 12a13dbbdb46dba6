"""Every refused intake request answers its documented status and code and stores nothing."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kanaal.core.context import AppContext
from tests.conftest import Keys
from tests.support.collect import basic, empty_counts, row_counts

GOOD = {"type": "track", "userId": "u1", "event": "Product Viewed"}


def _post(client: TestClient, path: str, body: Any, headers: dict[str, str]) -> Any:
    return client.post(path, content=json.dumps(body).encode(),
                       headers={**headers, "Content-Type": "application/json"})


def _assert_refused(response: Any, status: int, code: str, ctx: AppContext) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    assert row_counts(ctx) == empty_counts()
    return error


def test_malformed_json_is_400(client: TestClient, keys: Keys, ctx: AppContext) -> None:
    response = client.post("/v1/track", content=b'{"userId": "u1", "event": ',
                           headers={**basic(keys.write), "Content-Type": "application/json"})
    _assert_refused(response, 400, "malformed_json", ctx)


def test_a_body_that_is_not_an_object_is_422(
    client: TestClient, keys: Keys, ctx: AppContext
) -> None:
    _assert_refused(_post(client, "/v1/track", [GOOD], basic(keys.write)), 422, "invalid_body",
                    ctx)


def test_an_event_without_user_or_anonymous_id_is_422(
    client: TestClient, keys: Keys, ctx: AppContext
) -> None:
    body = {"event": "Product Viewed", "userId": None, "anonymousId": ""}
    error = _assert_refused(_post(client, "/v1/track", body, basic(keys.write)), 422,
                            "missing_identity", ctx)
    assert error["details"][0]["loc"] == "body"


def test_track_without_event_is_422(client: TestClient, keys: Keys, ctx: AppContext) -> None:
    error = _assert_refused(_post(client, "/v1/track", {"userId": "u1"}, basic(keys.write)),
                            422, "missing_event", ctx)
    assert error["details"] == [
        {"loc": "body.event", "code": "missing_event", "message": "event is required"},
    ]


def test_alias_without_previous_id_is_422(
    client: TestClient, keys: Keys, ctx: AppContext
) -> None:
    _assert_refused(_post(client, "/v1/alias", {"userId": "u1"}, basic(keys.write)), 422,
                    "missing_previous_id", ctx)


def test_one_bad_event_rejects_the_whole_batch_and_names_its_index(
    client: TestClient, keys: Keys, ctx: AppContext
) -> None:
    batch = [dict(GOOD, messageId=f"m{n}") for n in range(5)]
    batch[3] = {"type": "track", "userId": "u1", "messageId": "m3"}
    error = _assert_refused(_post(client, "/v1/batch", {"batch": batch}, basic(keys.write)),
                            422, "missing_event", ctx)
    assert [d["loc"] for d in error["details"]] == ["batch[3].event"]


def test_a_batch_item_with_an_unknown_type_is_422(
    client: TestClient, keys: Keys, ctx: AppContext
) -> None:
    body = {"batch": [GOOD, {**GOOD, "type": "purchase"}]}
    error = _assert_refused(_post(client, "/v1/batch", body, basic(keys.write)), 422,
                            "invalid_type", ctx)
    assert error["details"][0]["loc"] == "batch[1].type"


@pytest.mark.parametrize("stamp", ["yesterday", "2026-13-01T00:00:00Z", 1767600000, ""])
def test_an_invalid_timestamp_is_422(
    client: TestClient, keys: Keys, ctx: AppContext, stamp: Any
) -> None:
    body = {"batch": [GOOD, {**GOOD, "timestamp": stamp}]}
    error = _assert_refused(_post(client, "/v1/batch", body, basic(keys.write)), 422,
                            "invalid_timestamp", ctx)
    assert error["details"][0]["loc"] == "batch[1].timestamp"


def test_an_unknown_channel_is_422(client: TestClient, keys: Keys, ctx: AppContext) -> None:
    body = {**GOOD, "context": {"channel": "fax"}}
    _assert_refused(_post(client, "/v1/track", body, basic(keys.write)), 422, "invalid_channel",
                    ctx)


def test_an_event_over_32_kb_is_413(client: TestClient, keys: Keys, ctx: AppContext) -> None:
    big = {**GOOD, "properties": {"blob": "x" * (32 * 1024)}}
    _assert_refused(_post(client, "/v1/track", big, basic(keys.write)), 413, "payload_too_large",
                    ctx)
    error = _assert_refused(
        _post(client, "/v1/batch", {"batch": [GOOD, big]}, basic(keys.write)), 413,
        "payload_too_large", ctx,
    )
    assert error["details"][0]["loc"] == "batch[1]"


def test_a_batch_over_500_kb_is_413(client: TestClient, keys: Keys, ctx: AppContext) -> None:
    event = {**GOOD, "properties": {"blob": "x" * (20 * 1024)}}
    _assert_refused(_post(client, "/v1/batch", {"batch": [event] * 26}, basic(keys.write)),
                    413, "payload_too_large", ctx)


def test_a_gzip_body_that_inflates_over_500_kb_is_413(
    client: TestClient, keys: Keys, ctx: AppContext
) -> None:
    event = {**GOOD, "properties": {"blob": "x" * (20 * 1024)}}
    packed = gzip.compress(json.dumps({"batch": [event] * 30}).encode())
    response = client.post("/v1/batch", content=packed,
                           headers={**basic(keys.write), "Content-Encoding": "gzip"})
    _assert_refused(response, 413, "payload_too_large", ctx)


def test_broken_gzip_is_400(client: TestClient, keys: Keys, ctx: AppContext) -> None:
    response = client.post("/v1/batch", content=b"not gzip at all",
                           headers={**basic(keys.write), "Content-Encoding": "gzip"})
    _assert_refused(response, 400, "invalid_encoding", ctx)


def test_a_batch_of_more_than_2500_events_is_413(
    client: TestClient, keys: Keys, ctx: AppContext
) -> None:
    tiny = {"type": "track", "userId": "u", "event": "e"}
    _assert_refused(_post(client, "/v1/batch", {"batch": [tiny] * 2501}, basic(keys.write)),
                    413, "payload_too_large", ctx)


def test_a_missing_key_is_401(client: TestClient, ctx: AppContext) -> None:
    _assert_refused(_post(client, "/v1/track", GOOD, {}), 401, "missing_credentials", ctx)


def test_a_wrong_key_is_401(client: TestClient, ctx: AppContext) -> None:
    _assert_refused(_post(client, "/v1/track", GOOD, basic("wk_wrong")), 401, "invalid_key", ctx)
    _assert_refused(_post(client, "/v1/track", {**GOOD, "writeKey": "wk_wrong"}, {}), 401,
                    "invalid_key", ctx)
