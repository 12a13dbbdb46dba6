"""Channels over HTTP: admins write, readers read, bad input changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from kanaal.core.context import AppContext
from kanaal.inventory.service import create_location
from tests.conftest import Keys, bearer

BASE: dict[str, Any] = {"handle": "webshop-nl", "name": "Webshop NL", "kind": "web",
                        "currency": "EUR", "allocation_strategy": "nearest", "stock_buffer": 2,
                        "quota": 50}


@pytest.fixture
def webshop(ctx: AppContext) -> dict[str, Any]:
    """A channel body drawing from a new warehouse and a new store, the warehouse first."""
    ids = [create_location(ctx, name=name, kind=kind, latitude=52.0, longitude=5.0,
                           address="NL").id
           for name, kind in (("Tilburg DC", "warehouse"), ("Utrecht", "store"))]
    return {**BASE, "location_ids": ids}


def _channels(client: TestClient, keys: Keys) -> list[dict[str, Any]]:
    response = client.get("/v1/channels", headers=bearer(keys.read))
    assert response.status_code == 200
    return list(response.json())


def test_admin_creates_reads_and_changes_a_channel(
    client: TestClient, keys: Keys, webshop: dict[str, Any]
) -> None:
    created = client.post("/v1/channels", json=webshop, headers=bearer(keys.admin))
    assert created.status_code == 201
    body = created.json()
    assert body == {"id": body["id"], "price_list_id": None, **webshop}
    assert body["id"].startswith("chn_")
    by_handle = client.get("/v1/channels/webshop-nl", headers=bearer(keys.read)).json()
    assert by_handle == body
    changed = client.patch("/v1/channels/webshop-nl", headers=bearer(keys.admin),
                           json={"location_ids": webshop["location_ids"][1:], "quota": None,
                                 "allocation_strategy": "fewest_splits"})
    assert changed.status_code == 200
    assert changed.json() == {**body, "location_ids": webshop["location_ids"][1:], "quota": None,
                              "allocation_strategy": "fewest_splits"}
    assert _channels(client, keys) == [changed.json()]


def test_every_sales_kind_is_accepted(client: TestClient, keys: Keys) -> None:
    kinds = ["web", "mobile", "store", "phone", "chat", "publisher", "marketplace", "social",
             "b2b", "shop_in_shop"]
    for kind in kinds:
        response = client.post("/v1/channels", headers=bearer(keys.admin), json={
            "handle": f"c-{kind.replace('_', '-')}", "name": kind, "kind": kind,
            "currency": "EUR"})
        assert response.status_code == 201, response.json()
    assert sorted(c["kind"] for c in _channels(client, keys)) == sorted(kinds)


def test_only_admins_write_and_only_keys_read(
    client: TestClient, keys: Keys, webshop: dict[str, Any]
) -> None:
    weak = client.post("/v1/channels", json=webshop, headers=bearer(keys.writer))
    assert (weak.status_code, weak.json()["error"]["code"]) == (403, "missing_scope")
    anonymous = client.get("/v1/channels")
    assert (anonymous.status_code, anonymous.json()["error"]["code"]) == (
        401, "missing_credentials")
    assert _channels(client, keys) == []


def test_bad_channels_are_refused_with_a_code_and_nothing_is_stored(
    client: TestClient, keys: Keys, webshop: dict[str, Any]
) -> None:
    assert client.post("/v1/channels", json=webshop, headers=bearer(keys.admin)).status_code == 201
    before = _channels(client, keys)
    cases = [
        ({**webshop, "handle": "webshop-nl"}, 409, "duplicate_channel"),
        ({**webshop, "handle": "email-1", "kind": "email"}, 422, "invalid_channel_kind"),
        ({**webshop, "handle": "x1", "kind": "fax"}, 422, "invalid_channel_kind"),
        ({**webshop, "handle": "Bad Handle"}, 422, "invalid_channel"),
        ({**webshop, "handle": "x2", "currency": "eur"}, 422, "invalid_channel"),
        ({**webshop, "handle": "x3", "location_ids": webshop["location_ids"] * 2}, 422,
         "invalid_channel"),
        ({**webshop, "handle": "x7", "location_ids": ["loc_nowhere"]}, 422, "unknown_location"),
        ({**webshop, "handle": "x4", "allocation_strategy": "random"}, 422, "invalid_strategy"),
        ({**webshop, "handle": "x5", "stock_buffer": -1}, 422, "validation_error"),
        ({**webshop, "handle": "x6", "price_list_id": "prl_missing"}, 422,
         "unknown_price_list"),
    ]
    for body, status, code in cases:
        response = client.post("/v1/channels", json=body, headers=bearer(keys.admin))
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), body
    patch = client.patch("/v1/channels/webshop-nl", json={"kind": "b2b"},
                         headers=bearer(keys.admin))
    assert (patch.status_code, patch.json()["error"]["code"]) == (422, "validation_error")
    null = client.patch("/v1/channels/webshop-nl", json={"currency": None},
                        headers=bearer(keys.admin))
    assert (null.status_code, null.json()["error"]["code"]) == (422, "invalid_channel")
    missing = client.patch("/v1/channels/nope", json={"name": "x"}, headers=bearer(keys.admin))
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "unknown_channel")
    assert _channels(client, keys) == before


def test_a_price_list_in_another_currency_is_refused(
    client: TestClient, keys: Keys, webshop: dict[str, Any]
) -> None:
    product = {"handle": "bolt", "title": "Bolt", "variants": [
        {"sku": "BOLT-M8", "title": "M8", "cost_price": "0.05", "currency": "EUR"}]}
    assert client.post("/v1/products", json=product, headers=bearer(keys.writer)).status_code == 201
    usd = client.post("/v1/price-lists", headers=bearer(keys.writer), json={
        "name": "US trade", "currency": "USD",
        "tiers": [{"sku": "BOLT-M8", "min_quantity": 1, "unit_price": "0.30"}]}).json()
    response = client.post("/v1/channels", headers=bearer(keys.admin), json={
        **webshop, "kind": "b2b", "price_list_id": usd["id"]})
    assert (response.status_code, response.json()["error"]["code"]) == (422, "currency_mismatch")
    fine = client.post("/v1/channels", headers=bearer(keys.admin), json={
        **webshop, "kind": "b2b", "currency": "USD", "price_list_id": usd["id"]})
    assert fine.status_code == 201 and fine.json()["price_list_id"] == usd["id"]
    assert [c["currency"] for c in _channels(client, keys)] == ["USD"]
