"""The real segment-analytics-python and rudder-sdk-python clients against a live Kanaal."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import rudderstack.analytics as rudder_analytics
import segment.analytics as analytics

from kanaal.app import create_app
from kanaal.core.context import AppContext
from tests.conftest import Keys, bearer
from tests.support.collect import row_counts, stored_events
from tests.support.server import live_server


@pytest.fixture
def base_url(ctx: AppContext) -> Iterator[str]:
    """A real uvicorn serving Kanaal on 127.0.0.1 and a random port."""
    with live_server(create_app(ctx=ctx)) as url:
        yield url


def _customer(url: str, keys: Keys, **query: str) -> dict[str, Any]:
    response = httpx.get(f"{url}/v1/customers", params=query, headers=bearer(keys.read))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _timeline(url: str, keys: Keys, customer_id: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{url}/v1/customers/{customer_id}/timeline", headers=bearer(keys.read))
    events: list[dict[str, Any]] = response.json()["events"]
    return events


@pytest.fixture
def segment_client(base_url: str, keys: Keys) -> Iterator[None]:
    """segment.analytics configured at module level, in sync mode, pointed at Kanaal."""
    analytics.write_key, analytics.host, analytics.sync_mode = keys.write, base_url, True
    analytics.default_client = None
    yield
    analytics.default_client = None


@pytest.mark.slow
@pytest.mark.usefixtures("segment_client")
def test_segment_client_identify_track_page_alias_stitch_one_customer(
    base_url: str, keys: Keys, ctx: AppContext
) -> None:
    analytics.page(anonymous_id="anon-1", name="Home", properties={"path": "/"},
                   message_id="seg-p1")
    analytics.track(anonymous_id="anon-1", event="Product Viewed", properties={"sku": "S1"},
                    message_id="seg-t1")
    analytics.identify(user_id="u1", traits={"email": "Ann@Example.com", "first_name": "Ann"},
                       message_id="seg-i1")
    analytics.alias(previous_id="anon-1", user_id="u1", message_id="seg-a1")
    customer = _customer(base_url, keys, email="ann@example.com")
    assert customer == _customer(base_url, keys, anonymous_id="anon-1")
    assert sorted((i["type"], i["value"]) for i in customer["identities"]) == [
        ("anonymous_id", "anon-1"), ("email", "ann@example.com"), ("user_id", "u1"),
    ]
    assert customer["traits"]["first_name"]["value"] == "Ann"
    assert customer["channels"] == ["web"]
    events = _timeline(base_url, keys, customer["id"])
    assert sorted((e["type"], e["event"], e["name"], e["message_id"]) for e in events) == [
        ("alias", None, None, "seg-a1"), ("identify", None, None, "seg-i1"),
        ("page", None, "Home", "seg-p1"), ("track", "Product Viewed", None, "seg-t1"),
    ]
    assert next(e for e in events if e["type"] == "track")["properties"] == {"sku": "S1"}
    # Resending the same messageId is accepted and stores nothing new.
    before = row_counts(ctx)
    analytics.track(anonymous_id="anon-1", event="Product Viewed", properties={"sku": "S2"},
                    message_id="seg-t1")
    assert row_counts(ctx) == before
    assert [e["properties"] for e in stored_events(ctx) if e["message_id"] == "seg-t1"] == [
        {"sku": "S1"}]


@pytest.mark.slow
def test_rudder_client_sends_gzip_batches_that_stitch_one_customer(
    base_url: str, keys: Keys, ctx: AppContext
) -> None:
    errors: list[Any] = []
    rudder_analytics.write_key, rudder_analytics.dataPlaneUrl = keys.write, base_url
    rudder_analytics.gzip, rudder_analytics.sync_mode = True, False
    rudder_analytics.on_error = lambda error, _batch: errors.append(error)
    rudder_analytics.default_client = None
    try:
        rudder_analytics.page(anonymous_id="anon-2", name="Pricing", message_id="rs-p1")
        rudder_analytics.track(anonymous_id="anon-2", event="Checkout Started",
                               properties={"total": 99.5}, message_id="rs-t1")
        rudder_analytics.identify(user_id="u2", traits={"phone": "06 1234 5678"},
                                  message_id="rs-i1")
        rudder_analytics.alias(previous_id="anon-2", user_id="u2", message_id="rs-a1")
        rudder_analytics.flush()
        assert errors == []
        customer = _customer(base_url, keys, phone="+31612345678")
        assert customer["id"] == _customer(base_url, keys, anonymous_id="anon-2")["id"]
        assert sorted(e["message_id"] for e in _timeline(base_url, keys, customer["id"])) == [
            "rs-a1", "rs-i1", "rs-p1", "rs-t1"]
        before = row_counts(ctx)
        rudder_analytics.track(anonymous_id="anon-2", event="Checkout Started",
                               message_id="rs-t1")
        rudder_analytics.flush()
        assert errors == [] and row_counts(ctx) == before
    finally:
        rudder_analytics.shutdown()
        rudder_analytics.default_client = None
