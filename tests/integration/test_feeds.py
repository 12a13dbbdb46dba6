"""Feeds served over HTTP and written by the CLI, with availability from the inventory ledger."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kanaal.catalog.feeds import GOOGLE_NS
from kanaal.channels.domain import Channel
from kanaal.cli import app
from kanaal.core.context import AppContext
from kanaal.inventory.service import available_in, create_location, reserve_in, set_stock
from tests.conftest import Keys, bearer
from tests.support.catalog import list_variant, make_channel, make_variant

G = f"{{{GOOGLE_NS}}}"
REQUIRED = ("id", "title", "description", "link", "image_link", "availability", "price",
            "brand", "condition")


@pytest.fixture
def webshop(ctx: AppContext) -> Channel:
    """A web channel over a warehouse and a store, with four listed skus and stock for three.

    TEE-M: 4 + 3 on hand, 2 reserved; TEE-L: 1 on hand, withheld by the buffer of 1;
    TEE-S: none; MUG: 5 in the store only; HIDDEN: unpublished.
    """
    warehouse, store = (create_location(ctx, name=n, kind=k, latitude=None, longitude=None,
                                        address="NL").id
                        for n, k in (("DC", "warehouse"), ("Utrecht", "store")))
    channel = make_channel(ctx, "webshop-nl", location_ids=[warehouse, store], stock_buffer=1)
    for sku, gtin in (("TEE-M", "4006381333931"), ("TEE-L", None), ("TEE-S", None),
                      ("MUG", "96385074"), ("HIDDEN", None)):
        make_variant(ctx, sku, gtin=gtin)
        list_variant(ctx, channel, sku, "12.50", published=sku != "HIDDEN")
    for sku, location, units in (("TEE-M", warehouse, 4), ("TEE-M", store, 3),
                                 ("TEE-L", warehouse, 1), ("MUG", store, 5)):
        set_stock(ctx, sku=sku, location_id=location, on_hand=units)
    with ctx.db.transaction() as session:
        reserve_in(session, ctx, sku="TEE-M", quantity=2, channel=channel, ttl_seconds=600)
    return channel


def _ledger(ctx: AppContext, channel: Channel, skus: list[str]) -> dict[str, int]:
    with ctx.db.reader() as session:
        return {sku: available_in(session, sku=sku, channel=channel) for sku in skus}


def test_google_xml_feed_is_valid_and_matches_the_ledger(
    ctx: AppContext, client: TestClient, keys: Keys, webshop: Channel
) -> None:
    response = client.get("/v1/feeds/webshop-nl.xml", headers=bearer(keys.read))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/rss+xml; charset=utf-8"
    assert response.headers["kanaal-feed-items"] == "4"
    root = ET.fromstring(response.content)
    items = [{child.tag.removeprefix(G): child.text for child in item}
             for item in root.iter("item")]
    for item in items:
        missing = [name for name in REQUIRED if not item.get(name)]
        assert missing == [], item
        assert item.get("gtin") or item.get("mpn") or item["identifier_exists"] == "no"
    ledger = _ledger(ctx, webshop, [i["id"] for i in items])
    assert ledger == {"MUG": 4, "TEE-L": 0, "TEE-M": 4, "TEE-S": 0}
    assert {i["id"]: i["availability"] for i in items} == {
        sku: "in_stock" if units > 0 else "out_of_stock" for sku, units in ledger.items()}
    assert {i["price"] for i in items} == {"12.50 EUR"}
    first = items[0]
    assert (first["id"], first["link"], first["image_link"], first["brand"], first["gtin"]) == (
        "MUG", "https://shop.example.com/webshop-nl/MUG", "https://img.example.com/MUG.jpg",
        "Acme", "96385074")


def test_availability_follows_the_ledger_after_a_sale(
    ctx: AppContext, client: TestClient, keys: Keys, webshop: Channel
) -> None:
    mug_location = webshop.location_ids[1]
    set_stock(ctx, sku="MUG", location_id=mug_location, on_hand=1)  # only the buffer left
    root = ET.fromstring(client.get("/v1/feeds/webshop-nl.xml", headers=bearer(keys.read)).content)
    availability = {i.findtext(f"{G}id"): i.findtext(f"{G}availability")
                    for i in root.iter("item")}
    assert availability["MUG"] == "out_of_stock"
    assert _ledger(ctx, webshop, ["MUG"]) == {"MUG": 0}


def test_tsv_and_meta_csv_feeds_are_served(
    client: TestClient, keys: Keys, webshop: Channel
) -> None:
    tsv = client.get(f"/v1/feeds/{webshop.id}.tsv", headers=bearer(keys.read))
    assert tsv.headers["content-type"].startswith("text/tab-separated-values")
    rows = list(csv.DictReader(io.StringIO(tsv.text), delimiter="\t"))
    assert [(r["id"], r["availability"], r["price"]) for r in rows] == [
        ("MUG", "in_stock", "12.50 EUR"), ("TEE-L", "out_of_stock", "12.50 EUR"),
        ("TEE-M", "in_stock", "12.50 EUR"), ("TEE-S", "out_of_stock", "12.50 EUR")]
    meta = client.get("/v1/feeds/webshop-nl.csv", headers=bearer(keys.read))
    assert meta.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(meta.text)))
    assert [(r["id"], r["availability"], r["condition"], r["price"], r["brand"])
            for r in rows] == [
        ("MUG", "in stock", "new", "12.50 EUR", "Acme"),
        ("TEE-L", "out of stock", "new", "12.50 EUR", "Acme"),
        ("TEE-M", "in stock", "new", "12.50 EUR", "Acme"),
        ("TEE-S", "out of stock", "new", "12.50 EUR", "Acme")]


def test_unknown_channels_formats_and_missing_keys_are_refused(
    client: TestClient, keys: Keys, webshop: Channel
) -> None:
    cases = [("/v1/feeds/nowhere.xml", keys.read, 404, "unknown_channel"),
             (f"/v1/feeds/{webshop.handle}.json", keys.read, 404, "unknown_feed_format"),
             ("/v1/feeds/webshop-nl", keys.read, 404, "unknown_feed_format"),
             ("/v1/feeds/webshop-nl.xml", keys.write, 403, "secret_key_required")]
    for path, key, status, code in cases:
        response = client.get(path, headers=bearer(key))
        assert (response.status_code, response.json()["error"]["code"]) == (status, code)


def test_feeds_export_writes_every_format(
    ctx: AppContext, webshop: Channel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KANAAL_DATABASE_URL", ctx.settings.sqlalchemy_url())
    if ctx.settings.database_schema:
        monkeypatch.setenv("KANAAL_DATABASE_SCHEMA", ctx.settings.database_schema)
    monkeypatch.setenv("KANAAL_AUTO_MIGRATE", "false")
    out = tmp_path / "feeds"
    result = CliRunner().invoke(app, ["feeds", "export", webshop.handle, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "webshop-nl.csv", "webshop-nl.tsv", "webshop-nl.xml"]
    root = ET.parse(out / "webshop-nl.xml").getroot()
    assert len(list(root.iter("item"))) == 4
    assert f"{out / 'webshop-nl.xml'}: 4 items, 0 skipped" in result.stdout
    missing = CliRunner().invoke(app, ["feeds", "export", "nowhere", "--out", str(out)])
    assert missing.exit_code == 1 and "unknown_channel" in missing.output


def test_a_scheduled_fetch_with_basic_auth_gets_the_feed(
    client: TestClient, keys: Keys, webshop: Channel
) -> None:
    response = client.get(f"/v1/feeds/{webshop.handle}.xml", auth=(keys.read, ""))
    assert response.status_code == 200
    assert len(list(ET.fromstring(response.content).iter("item"))) == 4


def test_bulk_availability_equals_the_per_sku_figures_across_chunks(
    ctx: AppContext, webshop: Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The feed reads availability in bulk; it must say exactly what one read per sku says
    (reservations, buffer, locations outside the channel, skus without ledger rows), also
    when the skus span several query chunks."""
    from kanaal.inventory import store as inventory_store
    from kanaal.inventory.service import available_many_in

    outside = create_location(ctx, name="Elsewhere", kind="warehouse", latitude=None,
                              longitude=None, address="BE").id
    set_stock(ctx, sku="TEE-S", location_id=outside, on_hand=9)  # not the channel's location
    monkeypatch.setattr(inventory_store, "_SKU_CHUNK", 2)
    skus = ["TEE-M", "TEE-L", "TEE-S", "MUG", "HIDDEN", "NO-SUCH-SKU"]
    with ctx.db.reader() as session:
        bulk = available_many_in(session, skus=skus, channel=webshop)
    assert bulk == _ledger(ctx, webshop, skus)
    assert bulk["TEE-M"] == 4 and bulk["TEE-S"] == 0 and bulk["NO-SUCH-SKU"] == 0
