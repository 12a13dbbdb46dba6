"""The inventory HTTP API: locations, counts, movements, availability and reservations."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from kanaal.core.clock import ManualClock
from kanaal.core.context import AppContext
from kanaal.inventory import service, store
from tests.conftest import Keys, bearer
from tests.support.catalog import make_variant
from tests.support.inventory import count_rows, ledger_problems, ledger_rows, stocked_world


def test_locations_are_created_and_listed(client: TestClient, keys: Keys) -> None:
    body = {"name": "3PL Venlo", "kind": "3pl", "latitude": 51.37, "longitude": 6.17,
            "address": "Logistiekweg 1, Venlo"}
    created = client.post("/v1/locations", json=body, headers=bearer(keys.writer))
    assert created.status_code == 201
    location = created.json()
    assert {k: location[k] for k in body} == body and location["id"].startswith("loc_")
    listed = client.get("/v1/locations", headers=bearer(keys.read)).json()
    assert [item["id"] for item in listed] == [location["id"]]
    one = client.get(f"/v1/locations/{location['id']}", headers=bearer(keys.read))
    assert one.json() == location
    missing = client.get("/v1/locations/loc_none", headers=bearer(keys.read))
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "unknown_location")


def test_bad_locations_are_refused(client: TestClient, keys: Keys, ctx: AppContext) -> None:
    for body, code in [
        ({"name": "X", "kind": "shed"}, "invalid_location"),
        ({"name": "X", "kind": "store", "latitude": 52.0}, "invalid_location"),
        ({"name": " ", "kind": "store"}, "invalid_location"),
        ({"name": "X", "kind": "store", "colour": "red"}, "validation_error"),
    ]:
        response = client.post("/v1/locations", json=body, headers=bearer(keys.writer))
        assert (response.status_code, response.json()["error"]["code"]) == (422, code)
    assert client.post("/v1/locations", json={"name": "X", "kind": "store"},
                       headers=bearer(keys.read)).status_code == 403
    assert count_rows(ctx, store.locations) == 0


@pytest.mark.parametrize("sku", ["TEE-RED-M", "BOX/12"])
def test_counts_movements_and_availability(
    client: TestClient, keys: Keys, ctx: AppContext, sku: str
) -> None:
    """Also for skus holding "/" (the paths take them whole)."""
    world = stocked_world(ctx, sku=sku, first=6, second=4, stock_buffer=1)
    url = f"/v1/inventory/{world.sku}/{world.first.id}"
    put = client.put(url, json={"on_hand": 8, "safety_stock": 2}, headers=bearer(keys.writer))
    assert put.status_code == 200
    assert put.json() == {"sku": world.sku, "location_id": world.first.id, "on_hand": 8,
                          "reserved": 0, "allocated": 0, "incoming": 0, "safety_stock": 2,
                          "available": 6}
    moved = client.post(f"{url}/movements", json={"reason": "receipt", "quantity": 5},
                        headers=bearer(keys.writer))
    assert moved.status_code == 201 and moved.json()["locations"][0]["on_hand"] == 13
    stock = client.get(f"/v1/inventory/{world.sku}", headers=bearer(keys.read)).json()
    assert {row["location_id"]: row["available"] for row in stock["locations"]} == {
        world.first.id: 11, world.second.id: 4}
    available = client.get(f"/v1/availability/{world.sku}",
                           params={"channel": world.channel.handle}, headers=bearer(keys.read))
    assert available.json() == {
        "sku": world.sku, "channel_id": world.channel.id, "available": 14,
        "locations": [{"location_id": world.first.id, "available": 11},
                      {"location_id": world.second.id, "available": 4}]}
    log = client.get(f"/v1/inventory/{world.sku}/movements", headers=bearer(keys.read)).json()
    assert [(m["reason"], m["on_hand_delta"]) for m in log[:2]] == [("receipt", 5), ("count", 2)]
    variant = client.get(f"/v1/variants/{world.sku}", headers=bearer(keys.read))
    assert variant.status_code == 200 and variant.json()["sku"] == world.sku


def test_a_sku_ending_in_movements_is_read_with_its_slash_encoded(
    client: TestClient, keys: Keys, ctx: AppContext
) -> None:
    world = stocked_world(ctx, sku="KIT/movements", first=6, second=4)
    rows = client.get("/v1/inventory/KIT%2Fmovements", headers=bearer(keys.read))
    assert rows.status_code == 200, rows.text
    assert rows.json()["sku"] == "KIT/movements"
    assert {row["location_id"]: row["on_hand"] for row in rows.json()["locations"]} == {
        world.first.id: 6, world.second.id: 4}
    # The literal suffix still lists movements: of KIT/movements here, of KIT (unknown) there.
    log = client.get("/v1/inventory/KIT%2Fmovements/movements", headers=bearer(keys.read))
    assert log.status_code == 200 and log.json()
    assert {m["sku"] for m in log.json()} == {"KIT/movements"}
    other = client.get("/v1/inventory/KIT/movements", headers=bearer(keys.read))
    assert (other.status_code, other.json()["error"]["code"]) == (404, "unknown_sku")


def test_reservation_lifecycle_over_http(
    client: TestClient, keys: Keys, ctx: AppContext, clock: ManualClock
) -> None:
    world = stocked_world(ctx, first=2, second=3)
    body = {"sku": world.sku, "quantity": 4, "channel": world.channel.handle,
            "ttl_seconds": 120, "reference": "cart-7"}
    created = client.post("/v1/reservations", json=body, headers=bearer(keys.writer))
    assert created.status_code == 201
    held = created.json()
    assert (held["status"], held["channel_id"], held["reference"]) == (
        "active", world.channel.id, "cart-7")
    assert {(x["location_id"], x["quantity"]) for x in held["lines"]} == {
        (world.first.id, 2), (world.second.id, 2)}
    assert held["expires_at"] == "2026-01-05T09:02:00Z"
    confirmed = client.post(f"/v1/reservations/{held['id']}/confirm",
                            json={"order_id": "ord_42"}, headers=bearer(keys.writer))
    assert (confirmed.json()["status"], confirmed.json()["order_id"]) == ("confirmed", "ord_42")
    second = client.post("/v1/reservations", json={**body, "quantity": 1},
                         headers=bearer(keys.writer)).json()
    generated = client.post(f"/v1/reservations/{second['id']}/confirm",
                            headers=bearer(keys.writer)).json()
    assert generated["order_id"].startswith("ord_")
    third = client.post("/v1/reservations", json={**body, "quantity": 1, "ttl_seconds": 60},
                        headers=bearer(keys.writer))
    assert third.status_code == 409 and third.json()["error"]["code"] == "insufficient_stock"
    rows = ledger_rows(ctx, world.sku)
    assert sum(r.allocated for r in rows.values()) == 5
    assert sum(r.reserved for r in rows.values()) == 0
    assert ledger_problems(ctx, world.sku) == []
    clock.advance(minutes=5)
    got = client.get(f"/v1/reservations/{held['id']}", headers=bearer(keys.read)).json()
    assert got["status"] == "confirmed"


def test_release_over_http_gives_units_back(
    client: TestClient, keys: Keys, ctx: AppContext
) -> None:
    world = stocked_world(ctx, first=2, second=0)
    body = {"sku": world.sku, "quantity": 2, "channel": world.channel.id, "ttl_seconds": 60}
    held = client.post("/v1/reservations", json=body, headers=bearer(keys.writer)).json()
    released = client.delete(f"/v1/reservations/{held['id']}", headers=bearer(keys.writer))
    assert (released.status_code, released.json()["status"]) == (200, "released")
    confirm = client.post(f"/v1/reservations/{held['id']}/confirm", headers=bearer(keys.writer))
    assert (confirm.status_code, confirm.json()["error"]["code"]) == (409, "reservation_released")
    assert ledger_rows(ctx, world.sku)[world.first.id].reserved == 0
    missing = client.delete("/v1/reservations/res_none", headers=bearer(keys.writer))
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "unknown_reservation")


def test_idempotency_key_replays_the_first_reservation(
    client: TestClient, keys: Keys, ctx: AppContext
) -> None:
    world = stocked_world(ctx, first=3, second=0)
    body = {"sku": world.sku, "quantity": 2, "channel": world.channel.handle, "ttl_seconds": 60}
    headers = {**bearer(keys.writer), "Idempotency-Key": "cart-7-checkout"}
    first = client.post("/v1/reservations", json=body, headers=headers)
    again = client.post("/v1/reservations", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert ledger_rows(ctx, world.sku)[world.first.id].reserved == 2
    reused = client.post("/v1/reservations", json={**body, "quantity": 1}, headers=headers)
    assert (reused.status_code, reused.json()["error"]["code"]) == (409, "idempotency_key_reused")
    assert count_rows(ctx, store.reservations) == 1


def test_bad_reservation_input_changes_nothing(
    client: TestClient, keys: Keys, ctx: AppContext
) -> None:
    world = stocked_world(ctx, first=6, second=4)
    make_variant(ctx, "OTHER-1")
    base: dict[str, object] = {"sku": world.sku, "quantity": 1, "channel": world.channel.handle,
                               "ttl_seconds": 60}
    before_rows, before_moves = ledger_rows(ctx, world.sku), count_rows(ctx, store.movements)
    cases: list[tuple[dict[str, object], int, str]] = [
        ({"sku": "NOPE-404"}, 404, "unknown_sku"),
        ({"quantity": -2}, 422, "invalid_quantity"),
        ({"quantity": 0}, 422, "invalid_quantity"),
        ({"quantity": "2"}, 422, "validation_error"),
        ({"quantity": 11}, 409, "insufficient_stock"),
        ({"sku": "OTHER-1"}, 409, "insufficient_stock"),
        ({"channel": "nowhere"}, 404, "unknown_channel"),
        ({"ttl_seconds": 0}, 422, "invalid_ttl"),
        ({"sku": "bad sku!"}, 422, "invalid_sku"),
    ]
    for change, status, code in cases:
        response = client.post("/v1/reservations", json={**base, **change},
                               headers=bearer(keys.writer))
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), change
    for url, body, status, code in [
        (f"/v1/inventory/NOPE-404/{world.first.id}", {"on_hand": 3}, 404, "unknown_sku"),
        (f"/v1/inventory/{world.sku}/loc_none", {"on_hand": 3}, 404, "unknown_location"),
        (f"/v1/inventory/{world.sku}/{world.first.id}", {"on_hand": -1}, 422,
         "invalid_quantity"),
        (f"/v1/inventory/{world.sku}/{world.first.id}", {}, 422, "nothing_to_change"),
    ]:
        response = client.put(url, json=body, headers=bearer(keys.writer))
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), url
    movement = client.post(f"/v1/inventory/{world.sku}/{world.first.id}/movements",
                           json={"reason": "receipt", "quantity": -4},
                           headers=bearer(keys.writer))
    assert (movement.status_code, movement.json()["error"]["code"]) == (422, "invalid_quantity")
    for url in ("/v1/inventory/NOPE-404", "/v1/inventory/NOPE-404/movements"):
        unknown = client.get(url, headers=bearer(keys.read))
        assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "unknown_sku")
    assert ledger_rows(ctx, world.sku) == before_rows
    assert count_rows(ctx, store.movements) == before_moves
    assert count_rows(ctx, store.reservations) == 0


def test_the_sweeper_function_expires_through_the_api_clock(
    make_client: Callable[[AppContext], TestClient], keys: Keys, ctx: AppContext,
    clock: ManualClock,
) -> None:
    # The app's own sweeper would race this test's explicit call; park it for an hour.
    ctx.business["inventory"] = {"sweep_seconds": 3600}
    client = make_client(ctx)
    world = stocked_world(ctx, first=1, second=0)
    body = {"sku": world.sku, "quantity": 1, "channel": world.channel.handle, "ttl_seconds": 30}
    held = client.post("/v1/reservations", json=body, headers=bearer(keys.writer)).json()
    clock.advance(seconds=30)
    assert service.expire_reservations(ctx) == 1
    got = client.get(f"/v1/reservations/{held['id']}", headers=bearer(keys.read)).json()
    assert (got["status"], got["closed_at"]) == ("expired", "2026-01-05T09:00:30Z")
    again = client.post("/v1/reservations", json=body, headers=bearer(keys.writer))
    assert again.status_code == 201
