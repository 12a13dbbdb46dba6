"""Catalog over HTTP: products with variants, listings, price lists, quotes and bad input."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Table

from kanaal.catalog.service import create_product
from kanaal.catalog.store import (
    channel_listings,
    count_rows,
    price_list_tiers,
    price_lists,
    products,
    variants,
)
from kanaal.core.context import AppContext
from kanaal.core.errors import Conflict
from tests.conftest import Keys, bearer

TEE: dict[str, Any] = {
    "handle": "classic-tee", "title": "Classic tee", "description": "Heavy cotton",
    "brand": "Acme", "attributes": {"material": "cotton"},
    "images": ["https://img.example.com/tee.jpg"],
    "variants": [
        {"sku": "TEE-RED-M", "title": "Red M", "gtin": "4006381333931", "mpn": "T-R-M",
         "attributes": {"color": "red", "size": "M"}, "cost_price": "4.20", "currency": "EUR"},
        {"sku": "TEE-RED-L", "title": "Red L", "gtin": "96385074", "condition": "refurbished",
         "cost_price": "4.40", "currency": "EUR"},
    ],
}
LISTING = {"title": "Classic tee red M", "description": "Soft", "price": "12.50",
           "currency": "EUR", "url": "https://shop.example.com/tee-red-m"}
TABLES: tuple[Table, ...] = (products, variants, channel_listings, price_lists, price_list_tiers)


def _counts(ctx: AppContext) -> dict[str, int]:
    with ctx.db.reader() as session:
        return {table.name: count_rows(session, table) for table in TABLES}


@pytest.fixture
def webshop(client: TestClient, keys: Keys) -> str:
    """A EUR web channel without stock locations; returns its handle."""
    response = client.post("/v1/channels", headers=bearer(keys.admin), json={
        "handle": "webshop-nl", "name": "Webshop NL", "kind": "web", "currency": "EUR"})
    assert response.status_code == 201
    return "webshop-nl"


def test_a_product_with_its_variants_is_created_in_one_call(
    client: TestClient, keys: Keys
) -> None:
    created = client.post("/v1/products", json=TEE, headers=bearer(keys.writer))
    assert created.status_code == 201
    body = created.json()
    assert body["id"].startswith("prd_") and body["handle"] == "classic-tee"
    assert [(v["sku"], v["gtin"], v["condition"], v["cost_price"], v["brand"])
            for v in body["variants"]] == [
        ("TEE-RED-L", "96385074", "refurbished", "4.4000", "Acme"),
        ("TEE-RED-M", "4006381333931", "new", "4.2000", "Acme"),
    ]
    assert client.get(f"/v1/products/{body['id']}", headers=bearer(keys.read)).json() == body
    variant = client.get("/v1/variants/TEE-RED-M", headers=bearer(keys.read)).json()
    assert variant == body["variants"][1]
    assert variant["attributes"] == {"color": "red", "size": "M"}
    assert variant["mpn"] == "T-R-M"


def test_listing_is_created_then_replaced_and_quoted(
    client: TestClient, keys: Keys, webshop: str
) -> None:
    client.post("/v1/products", json=TEE, headers=bearer(keys.writer))
    first = client.put(f"/v1/listings/{webshop}/TEE-RED-M", json=LISTING,
                       headers=bearer(keys.writer))
    assert first.status_code == 201 and first.json()["price"] == "12.5000"
    again = client.put(f"/v1/listings/{webshop}/TEE-RED-M", json={**LISTING, "price": "11.00"},
                       headers=bearer(keys.writer))
    assert again.status_code == 200
    stored = client.get(f"/v1/listings/{webshop}/TEE-RED-M", headers=bearer(keys.read)).json()
    assert (stored["price"], stored["published"], stored["url"]) == (
        "11.0000", True, "https://shop.example.com/tee-red-m")
    quote = client.get(f"/v1/prices/{webshop}/TEE-RED-M?quantity=2",
                       headers=bearer(keys.read)).json()
    assert (quote["unit_price"], quote["unit_cost"], quote["unit_margin"], quote["currency"]) == (
        "11.0000", "4.2000", "6.8000", "EUR")


def test_a_b2b_channel_quotes_tier_prices_per_group(client: TestClient, keys: Keys) -> None:
    client.post("/v1/products", json=TEE, headers=bearer(keys.writer))
    price_list = client.post("/v1/price-lists", headers=bearer(keys.writer), json={
        "name": "Wholesale", "currency": "EUR", "tiers": [
            {"sku": "TEE-RED-M", "min_quantity": 10, "unit_price": "8.00"},
            {"sku": "TEE-RED-M", "min_quantity": 50, "unit_price": "7.00"},
            {"sku": "TEE-RED-M", "customer_group": "retailers", "min_quantity": 10,
             "unit_price": "6.50"}]})
    assert price_list.status_code == 201
    assert len(price_list.json()["tiers"]) == 3
    client.post("/v1/channels", headers=bearer(keys.admin), json={
        "handle": "wholesale", "name": "Wholesale", "kind": "b2b", "currency": "EUR",
        "price_list_id": price_list.json()["id"]})
    client.put("/v1/listings/wholesale/TEE-RED-M", headers=bearer(keys.writer),
               json={**LISTING, "price": "9.50"})

    def unit(query: str) -> str:
        response = client.get(f"/v1/prices/wholesale/TEE-RED-M?{query}",
                              headers=bearer(keys.read))
        return str(response.json()["unit_price"])

    assert [unit("quantity=1"), unit("quantity=10"), unit("quantity=50"),
            unit("quantity=10&customer_group=retailers")] == [
        "9.5000", "8.0000", "7.0000", "6.5000"]


def test_bad_products_are_refused_and_nothing_is_written(
    client: TestClient, keys: Keys, ctx: AppContext
) -> None:
    assert client.post("/v1/products", json=TEE, headers=bearer(keys.writer)).status_code == 201
    before = _counts(ctx)
    other = {**TEE, "handle": "other-tee"}
    one = TEE["variants"][0]
    cases = [
        (TEE, 409, "duplicate_product"),
        ({**other, "variants": [{**one, "gtin": None}]}, 409, "duplicate_sku"),
        ({**other, "variants": [{**one, "sku": "NEW-1"}]}, 409, "duplicate_gtin"),
        ({**other, "variants": [{**one, "sku": "N-1", "gtin": None},
                                {**one, "sku": "N-1", "gtin": None}]}, 409, "duplicate_sku"),
        ({**other, "variants": [{**one, "sku": "N-2", "gtin": "4006381333932"}]}, 422,
         "invalid_gtin"),
        ({**other, "variants": [{**one, "sku": "N-3", "gtin": None, "cost_price": "-1"}]}, 422,
         "negative_amount"),
        ({**other, "variants": [{**one, "sku": "N-4", "gtin": None, "currency": "eur"}]}, 422,
         "invalid_currency"),
        ({**other, "variants": [{**one, "sku": "bad sku", "gtin": None}]}, 422, "invalid_sku"),
        ({**other, "variants": [{**one, "sku": "N-5", "gtin": None, "condition": "broken"}]},
         422, "invalid_condition"),
        ({**other, "variants": []}, 422, "no_variants"),
        ({**other, "handle": "Not A Slug"}, 422, "invalid_handle"),
        ({**other, "images": ["ftp://img.example.com/a.jpg"]}, 422, "invalid_image"),
        ({**other, "variants": [{**one, "sku": "N-7", "gtin": None,
                                 "attributes": {"blob": "x" * 20_000}}]}, 422,
         "attributes_too_large"),
        ({**other, "variants": [{**one, "sku": "N-6", "gtin": None, "cost_price": "abc"}]}, 422,
         "validation_error"),
    ]
    for body, status, code in cases:
        response = client.post("/v1/products", json=body, headers=bearer(keys.writer))
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), code
    reader = client.post("/v1/products", json=other, headers=bearer(keys.read))
    assert (reader.status_code, reader.json()["error"]["code"]) == (403, "missing_scope")
    assert _counts(ctx) == before


def test_bad_listings_and_price_lists_are_refused_and_nothing_is_written(
    client: TestClient, keys: Keys, ctx: AppContext, webshop: str
) -> None:
    client.post("/v1/products", json=TEE, headers=bearer(keys.writer))
    assert client.put(f"/v1/listings/{webshop}/TEE-RED-M", json=LISTING,
                      headers=bearer(keys.writer)).status_code == 201
    before = _counts(ctx)
    listing_cases = [
        (f"/v1/listings/{webshop}/NOPE", LISTING, 404, "unknown_sku"),
        ("/v1/listings/nowhere/TEE-RED-M", LISTING, 404, "unknown_channel"),
        (f"/v1/listings/{webshop}/TEE-RED-M", {**LISTING, "currency": "USD"}, 422,
         "currency_mismatch"),
        (f"/v1/listings/{webshop}/TEE-RED-M", {**LISTING, "price": "-0.01"}, 422,
         "negative_amount"),
        (f"/v1/listings/{webshop}/TEE-RED-M", {**LISTING, "price": "1.00001"}, 422,
         "invalid_amount"),
    ]
    for path, body, status, code in listing_cases:
        response = client.put(path, json=body, headers=bearer(keys.writer))
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), code
    tier = {"sku": "TEE-RED-M", "min_quantity": 1, "unit_price": "5.00"}
    price_list_cases = [
        ([{**tier, "sku": "NOPE"}], 422, "unknown_sku"),
        ([{**tier, "unit_price": "-5.00"}], 422, "negative_amount"),
        ([{**tier, "min_quantity": 0}], 422, "invalid_quantity"),
        ([{**tier, "min_quantity": -3}], 422, "invalid_quantity"),
        ([tier, tier], 422, "duplicate_tier"),
    ]
    for tiers, status, code in price_list_cases:
        response = client.post("/v1/price-lists", headers=bearer(keys.writer),
                               json={"name": "Trade", "currency": "EUR", "tiers": tiers})
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), code
    stored = client.get(f"/v1/listings/{webshop}/TEE-RED-M", headers=bearer(keys.read)).json()
    assert (stored["price"], stored["currency"]) == ("12.5000", "EUR")
    assert _counts(ctx) == before


def test_unknown_things_answer_404_with_their_code(client: TestClient, keys: Keys) -> None:
    paths = {"/v1/products/prd_nope": "unknown_product", "/v1/variants/NOPE": "unknown_sku",
             "/v1/price-lists/prl_nope": "unknown_price_list"}
    for path, code in paths.items():
        response = client.get(path, headers=bearer(keys.read))
        assert (response.status_code, response.json()["error"]["code"]) == (404, code)


def test_a_channel_with_listings_keeps_its_currency(
    client: TestClient, keys: Keys, webshop: str
) -> None:
    client.post("/v1/products", json=TEE, headers=bearer(keys.writer))
    client.put(f"/v1/listings/{webshop}/TEE-RED-M", json=LISTING, headers=bearer(keys.writer))
    response = client.patch(f"/v1/channels/{webshop}", json={"currency": "USD"},
                            headers=bearer(keys.admin))
    assert (response.status_code, response.json()["error"]["code"]) == (409, "currency_mismatch")
    channel = client.get(f"/v1/channels/{webshop}", headers=bearer(keys.read)).json()
    assert channel["currency"] == "EUR"


def test_concurrent_creates_of_one_product_store_it_once(ctx: AppContext) -> None:
    outcomes: list[str] = []
    lock = threading.Lock()

    def create() -> None:
        try:
            create_product(ctx, {**TEE, "variants": [
                {**v, "cost_price": Decimal(v["cost_price"])} for v in TEE["variants"]]})
            outcome = "created"
        except Conflict as exc:
            outcome = exc.code
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("created") == 1
    # Whichever unique constraint a loser hits first names the conflict.
    assert set(outcomes) - {"created"} <= {"duplicate_product", "duplicate_sku",
                                           "duplicate_gtin"}
    assert len(outcomes) == 8
    assert _counts(ctx) == {"products": 1, "variants": 2, "channel_listings": 0,
                            "price_lists": 0, "price_list_tiers": 0}


def test_a_variant_is_changed_in_part_and_bad_changes_change_nothing(
    client: TestClient, keys: Keys
) -> None:
    client.post("/v1/products", json=TEE, headers=bearer(keys.writer))
    changed = client.patch("/v1/variants/TEE-RED-M", headers=bearer(keys.writer),
                           json={"cost_price": "3.95", "gtin": None, "mpn": "NEW-MPN"})
    assert changed.status_code == 200
    body = changed.json()
    assert (body["cost_price"], body["gtin"], body["mpn"], body["title"]) == (
        "3.9500", None, "NEW-MPN", "Red M")
    cases = [({"gtin": "96385074"}, 409, "duplicate_gtin"),
             ({"gtin": "96385075"}, 422, "invalid_gtin"),
             ({"cost_price": "-1"}, 422, "negative_amount"),
             ({"cost_price": None}, 422, "invalid_variant"),
             ({"condition": "broken"}, 422, "invalid_condition"),
             ({"sku": "OTHER"}, 422, "validation_error")]
    for patch, status, code in cases:
        response = client.patch("/v1/variants/TEE-RED-M", json=patch, headers=bearer(keys.writer))
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), patch
    missing = client.patch("/v1/variants/NOPE", json={"title": "x"}, headers=bearer(keys.writer))
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "unknown_sku")
    assert client.get("/v1/variants/TEE-RED-M", headers=bearer(keys.read)).json() == body


def test_products_are_listed_a_page_at_a_time(client: TestClient, keys: Keys) -> None:
    for n in range(5):
        product = {"handle": f"p-{n}", "title": f"P{n}", "variants": [
            {"sku": f"S-{n}", "title": "one", "cost_price": "1", "currency": "EUR"}]}
        assert client.post("/v1/products", json=product,
                           headers=bearer(keys.writer)).status_code == 201
    pages, after = [], None
    while True:
        query = "limit=2" + (f"&after={after}" if after else "")
        page = client.get(f"/v1/products?{query}", headers=bearer(keys.read)).json()
        pages.append([p["handle"] for p in page["products"]])
        after = page["next_after"]
        if after is None:
            break
    assert pages == [["p-0", "p-1"], ["p-2", "p-3"], ["p-4"]]


def test_the_openapi_document_describes_the_catalog_paths(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/channels", "/v1/channels/{id_or_handle}", "/v1/products",
            "/v1/products/{product_id}", "/v1/variants/{sku}", "/v1/listings/{channel}/{sku}",
            "/v1/price-lists", "/v1/price-lists/{price_list_id}", "/v1/prices/{channel}/{sku}",
            "/v1/feeds/{filename}"} <= set(paths)
    assert set(paths["/v1/listings/{channel}/{sku}"]) == {"get", "put"}
    assert set(paths["/v1/variants/{sku}"]) == {"get", "patch"}
