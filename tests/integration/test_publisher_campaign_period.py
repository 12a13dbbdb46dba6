"""A campaign's period (starts_at, ends_at) and attribution window (attribution_days) over
HTTP: validation, invitations only while it runs, bookings refused after its end, ending it,
and the report counting only the orders placed within the window after the first reach."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from kanaal.core.clock import ManualClock
from kanaal.core.context import AppContext
from kanaal.inventory import service as inventory
from kanaal.orders import service as orders
from kanaal.publishers import store
from tests.conftest import Keys, bearer
from tests.integration.test_publisher_campaigns import (
    basic,
    campaign_body,
    exact,  # noqa: F401 - a fixture
    invite,
    report,
    world,
)
from tests.integration.test_publisher_channels import TRACKED, _call
from tests.support.catalog import list_variant, make_channel

# The clock fixture starts on Monday 5 January 2026, 09:00 UTC
SLOT = "2026-01-06T10:00:00Z"  # a free slot of the campaign's calendar (Tue 10-11 UTC)


def create(client: TestClient, keys: Keys, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/publisher-campaigns", json=body, headers=bearer(keys.writer))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def change(client: TestClient, keys: Keys, **fields: Any) -> Any:
    return client.patch("/v1/publisher-campaigns/test-drive", json=fields,
                        headers=bearer(keys.writer))


def book(client: TestClient, keys: Keys, key: str, slot: str = SLOT) -> Any:
    return client.post("/v1/publisher/appointments", headers={
        **basic(keys.write), "Idempotency-Key": key}, json={
        "campaign": "test-drive", "anonymousId": "pub-1", "slot_start": slot,
        "name": "Ann", "email": "ann@example.com"})


def error(response: Any) -> tuple[int, str, str]:
    body = response.json()["error"]
    return response.status_code, body["code"], body["message"]


def test_a_new_campaign_has_no_period_and_a_30_day_window_unless_given(
    ctx: AppContext, exact: None, client: TestClient, keys: Keys  # noqa: F811
) -> None:
    shop = world(ctx, available=1)
    plain = create(client, keys, campaign_body(shop))
    assert {k: plain[k] for k in ("starts_at", "ends_at", "attribution_days", "status")} == {
        "starts_at": None, "ends_at": None, "attribution_days": 30, "status": "running"}
    dated = create(client, keys, campaign_body(
        shop, handle="dated", starts_at="2026-02-01T00:00:00+01:00",
        ends_at="2026-03-01T00:00:00Z", attribution_days=7))
    assert {k: dated[k] for k in ("starts_at", "ends_at", "attribution_days", "status")} == {
        "starts_at": "2026-01-31T23:00:00Z", "ends_at": "2026-03-01T00:00:00Z",
        "attribution_days": 7, "status": "scheduled"}
    listed = client.get("/v1/publisher-campaigns", headers=bearer(keys.read)).json()
    assert [(c["handle"], c["status"]) for c in listed] == [("dated", "scheduled"),
                                                            ("test-drive", "running")]


def test_bad_periods_and_windows_are_refused_naming_the_field(
    ctx: AppContext, exact: None, client: TestClient, keys: Keys  # noqa: F811
) -> None:
    shop = world(ctx, available=1)
    cases = [
        ({"starts_at": "2026-03-01T00:00:00Z", "ends_at": "2026-03-01T00:00:00Z"},
         "invalid_period", "ends_at"),
        ({"starts_at": "2026-03-01T00:00:00Z", "ends_at": "2026-02-01T00:00:00Z"},
         "invalid_period", "ends_at"),
        ({"ends_at": "2026-01-05T08:00:00Z"}, "invalid_period", "ends_at"),  # before now
        ({"starts_at": "2026-02-01T00:00:00"}, "validation_error", "starts_at"),  # no zone
        ({"ends_at": "next week"}, "validation_error", "ends_at"),
        ({"attribution_days": 0}, "validation_error", "attribution_days"),
        ({"attribution_days": 366}, "validation_error", "attribution_days"),
    ]
    for fields, code, field in cases:
        response = client.post("/v1/publisher-campaigns", json=campaign_body(shop, **fields),
                               headers=bearer(keys.writer))
        status, got, message = error(response)
        assert (status, got) == (422, code), fields
        assert field in message, (fields, message)
    with ctx.db.reader() as session:
        assert store.all_campaigns(session) == []
    create(client, keys, campaign_body(shop, starts_at="2026-02-01T00:00:00Z"))
    for fields, code, field in [
        ({"ends_at": "2026-01-20T00:00:00Z"}, "invalid_period", "ends_at"),  # before its start
        ({"attribution_days": None}, "validation_error", "attribution_days"),
        ({"attribution_days": 400}, "validation_error", "attribution_days"),
        ({"handle": "renamed"}, "validation_error", "handle"),
    ]:
        status, got, message = error(change(client, keys, **fields))
        assert (status, got) == (422, code), fields
        assert field in message, (fields, message)
    [kept] = client.get("/v1/publisher-campaigns", headers=bearer(keys.read)).json()
    assert (kept["starts_at"], kept["ends_at"], kept["attribution_days"]) == (
        "2026-02-01T00:00:00Z", None, 30)
    missing = client.patch("/v1/publisher-campaigns/nope", json={"attribution_days": 9},
                           headers=bearer(keys.writer))
    assert error(missing)[:2] == (404, "unknown_campaign")


def test_invitations_show_only_while_the_campaign_runs(
    ctx: AppContext, exact: None, client: TestClient, keys: Keys,  # noqa: F811
    clock: ManualClock
) -> None:
    shop = world(ctx, available=1)
    create(client, keys, campaign_body(shop, starts_at="2026-01-05T10:00:00Z",
                                       ends_at="2026-01-05T12:00:00Z"))
    early = invite(client, keys, visitor="pub-early")
    assert (early["show"], early["reason"]) == (False, "campaign_not_started")
    clock.advance(hours=1)  # 10:00, its start
    assert invite(client, keys, visitor="pub-1")["show"] is True
    clock.advance(hours=2)  # 12:00, its end
    late = invite(client, keys, visitor="pub-late")
    assert (late["show"], late["reason"], late["decision_id"]) == (False, "campaign_ended", None)
    assert report(client, keys)["impressions"] == 1
    # Moved on: the campaign runs again until its new end
    moved = change(client, keys, ends_at="2026-01-06T12:00:00Z")
    assert (moved.status_code, moved.json()["status"]) == (200, "running")
    assert invite(client, keys, visitor="pub-2")["show"] is True
    assert report(client, keys)["impressions"] == 2


def test_an_ended_campaign_refuses_bookings_but_replays_one_made_before(
    ctx: AppContext, exact: None, client: TestClient, keys: Keys,  # noqa: F811
    clock: ManualClock
) -> None:
    shop = world(ctx, available=1)
    create(client, keys, campaign_body(shop))
    assert invite(client, keys)["show"] is True
    first = book(client, keys, "booking-1")
    assert first.status_code == 201, first.text
    clock.advance(minutes=5)
    ended = client.post("/v1/publisher-campaigns/test-drive/end", headers=bearer(keys.writer))
    assert ended.status_code == 200, ended.text
    assert (ended.json()["status"], ended.json()["ends_at"]) == ("ended", "2026-01-05T09:05:00Z")
    # Ending again (a retry) keeps the first end
    clock.advance(minutes=5)
    again = client.post("/v1/publisher-campaigns/test-drive/end", headers=bearer(keys.writer))
    assert (again.status_code, again.json()["ends_at"]) == (200, "2026-01-05T09:05:00Z")
    assert invite(client, keys, visitor="pub-2")["reason"] == "campaign_ended"
    refused = book(client, keys, "booking-2", slot="2026-01-06T11:00:00Z")
    assert error(refused)[:2] == (409, "campaign_ended")
    slots = client.get("/v1/publisher/campaigns/test-drive/slots",
                       params={"date": "2026-01-07"}, headers=basic(keys.write))
    assert error(slots)[:2] == (409, "campaign_ended")
    # The retry of the booking made while it ran answers that booking again
    replay = book(client, keys, "booking-1")
    assert (replay.status_code, replay.headers.get("Idempotent-Replayed")) == (201, "true")
    assert replay.json()["id"] == first.json()["id"]
    booked = client.get("/v1/publisher-campaigns/test-drive/appointments",
                        headers=bearer(keys.read)).json()
    assert [a["slot_start"] for a in booked] == ["2026-01-06T10:00:00Z"]
    assert report(client, keys)["appointments"] == 1


def test_a_campaign_not_started_yet_is_not_ended_and_takes_no_bookings(
    ctx: AppContext, exact: None, client: TestClient, keys: Keys  # noqa: F811
) -> None:
    shop = world(ctx, available=1)
    create(client, keys, campaign_body(shop, starts_at="2026-01-12T00:00:00Z"))
    ended = client.post("/v1/publisher-campaigns/test-drive/end", headers=bearer(keys.writer))
    assert error(ended)[:2] == (409, "campaign_not_started")
    assert error(book(client, keys, "early"))[:2] == (409, "campaign_not_started")
    missing = client.post("/v1/publisher-campaigns/nope/end", headers=bearer(keys.writer))
    assert error(missing)[:2] == (404, "unknown_campaign")


def _shop_that_sells(ctx: AppContext, shop: str) -> None:
    web = make_channel(ctx, "webshop", kind="web", location_ids=[shop])
    inventory.set_stock(ctx, sku="VOLTA-EV", location_id=shop, on_hand=20)
    list_variant(ctx, web, "VOLTA-EV", "2500.00")


def _order(ctx: AppContext, **customer: str) -> dict[str, Any]:
    order, _ = orders.create_order(ctx, {
        "channel": "webshop", "currency": "EUR", "lines": [{"sku": "VOLTA-EV", "quantity": 1}],
        "customer": customer}, idempotency_key=None)
    return order


def test_the_report_counts_only_orders_within_the_window_after_the_first_reach(
    ctx: AppContext, exact: None, client: TestClient, keys: Keys,  # noqa: F811
    clock: ManualClock
) -> None:
    shop = world(ctx, available=1)
    _shop_that_sells(ctx, shop)
    create(client, keys, campaign_body(shop, attribution_days=7))
    before = _order(ctx, anonymous_id="pub-1")  # before the campaign reached them
    first_reach = clock.advance(minutes=1)
    assert invite(client, keys)["show"] is True  # the first reach
    customer = before["customer_id"]
    assert client.get("/v1/customers", params={"anonymous_id": "pub-1"},
                      headers=bearer(keys.read)).json()["id"] == customer
    clock.advance(minutes=10)
    assert invite(client, keys)["show"] is True  # a later reach does not move the window
    clock.advance(days=1)
    _order(ctx, customer_id=customer)  # day 1: in the window
    closes = first_reach + timedelta(days=7)
    clock.advance(closes - timedelta(seconds=1) - clock.now())  # the window's last second
    _order(ctx, customer_id=customer)
    clock.advance(seconds=1)  # exactly 7 days after the first reach: the window has closed
    _order(ctx, customer_id=customer)
    clock.advance(days=20)
    _order(ctx, customer_id=customer)
    # The report reads orders only up to where the last window closes.
    bounded = orders.customer_orders_since(ctx, [customer], first_reach, closes)
    assert [o["created_at"] for o in bounded] == [first_reach + timedelta(days=1, minutes=10),
                                                 closes - timedelta(seconds=1)]
    figures = report(client, keys)
    assert (figures["sales"], figures["revenue"]) == (2, "5000.00")
    # A wider window, set on the running campaign, takes in the later orders (not the one
    # placed before the first reach)
    widened = change(client, keys, attribution_days=30)
    assert (widened.status_code, widened.json()["attribution_days"]) == (200, 30)
    assert change(client, keys, attribution_days=30).status_code == 200  # a retry: the same
    assert (report(client, keys)["sales"], report(client, keys)["revenue"]) == (4, "10000.00")


def test_tracked_calls_count_while_the_campaign_runs_and_their_sales_within_the_window(
    ctx: AppContext, exact: None, client: TestClient, keys: Keys,  # noqa: F811
    clock: ManualClock
) -> None:
    shop = world(ctx, available=1)
    _shop_that_sells(ctx, shop)
    secret = client.post("/v1/contact-center/acd/integrations", json={"name": "acd"},
                         headers=bearer(keys.admin)).json()["secret"]
    create(client, keys, campaign_body(shop, attribution_days=7))
    clock.advance(minutes=1)
    # A first call (no sale), then the same caller buys on the phone 8 days later: the call
    # counts, its sale falls outside the window of the first call
    _call(client, ctx, secret, "A1", caller="+31612345678", dialed=TRACKED, outcome="no_sale")
    clock.advance(days=8)
    _call(client, ctx, secret, "A2", caller="+31612345678", dialed=TRACKED, outcome="sale",
          sale_value="2500.00")
    # Another caller buys on the phone: a sale
    _call(client, ctx, secret, "B", caller="+31687654321", dialed=TRACKED, outcome="sale",
          sale_value="1800.00")
    clock.advance(minutes=1)
    assert client.post("/v1/publisher-campaigns/test-drive/end",
                       headers=bearer(keys.writer)).status_code == 200
    clock.advance(minutes=1)
    # After the end the number's calls are no longer the campaign's
    _call(client, ctx, secret, "C", caller="+31622222222", dialed=TRACKED, outcome="sale",
          sale_value="999.00")
    figures = report(client, keys)
    assert {k: figures[k] for k in ("calls", "contacts", "sales", "revenue")} == {
        "calls": 3, "contacts": 3, "sales": 1, "revenue": "1800.00"}
