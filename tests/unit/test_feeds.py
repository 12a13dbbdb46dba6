"""The pure feed builder: Google RSS/TSV and Meta CSV from listed entries and availability."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from decimal import Decimal

from hypothesis import assume, given
from hypothesis import strategies as st

from kanaal.catalog.feeds import (
    GOOGLE_NS,
    GOOGLE_TSV_COLUMNS,
    FeedEntry,
    feed_items,
    format_price,
    google_tsv,
    google_xml,
    meta_csv,
)

G = f"{{{GOOGLE_NS}}}"
REQUIRED = ("id", "title", "description", "link", "image_link", "availability", "price",
            "brand", "condition")


def entry(sku: str, **changes: object) -> FeedEntry:
    fields: dict[str, object] = {
        "sku": sku, "product_id": "prd_1", "title": f"Tee {sku}", "description": "Soft cotton",
        "url": f"https://shop.example.com/p/{sku}", "price": Decimal("12.5"), "currency": "EUR",
        "brand": "Acme", "gtin": "4006381333931", "mpn": None, "condition": "new",
        "images": (f"https://img.example.com/{sku}.jpg", "https://img.example.com/2.jpg"),
    }
    fields.update(changes)
    return FeedEntry(**fields)  # type: ignore[arg-type]


def test_google_xml_has_every_required_attribute_in_the_g_namespace() -> None:
    items, skipped = feed_items([entry("B-2", gtin=None, mpn="MPN-2"), entry("A-1"),
                                 entry("C-3", gtin=None)], {"A-1": 3, "B-2": 0})
    root = ET.fromstring(google_xml(items, title="Webshop", description="All"))
    assert skipped == []
    assert (root.tag, root.attrib) == ("rss", {"version": "2.0"})
    channel = root.find("channel")
    assert channel is not None
    assert [channel.findtext(t) for t in ("title", "link", "description")] == [
        "Webshop", "https://shop.example.com/", "All"]
    parsed = [{child.tag.removeprefix(G): child.text for child in item}
              for item in channel.iter("item")]
    for item in parsed:
        assert all(item.get(name) for name in REQUIRED), item
    assert [(i["id"], i["availability"], i["price"], i.get("gtin"), i.get("mpn"),
             i["identifier_exists"]) for i in parsed] == [
        ("A-1", "in_stock", "12.50 EUR", "4006381333931", None, "yes"),
        ("B-2", "out_of_stock", "12.50 EUR", None, "MPN-2", "yes"),
        ("C-3", "out_of_stock", "12.50 EUR", None, None, "no"),
    ]
    additional = channel.find("item")
    assert additional is not None
    assert [e.text for e in additional.findall(f"{G}additional_image_link")] == [
        "https://img.example.com/2.jpg"]


def test_entries_without_link_image_or_brand_are_skipped_with_the_reason() -> None:
    items, skipped = feed_items([entry("A-1", url=None), entry("B-2", images=(), brand=None),
                                 entry("C-3")], {"C-3": 1})
    assert [i.id for i in items] == ["C-3"]
    assert [(s.sku, s.reason) for s in skipped] == [
        ("A-1", "missing link"), ("B-2", "missing image_link, brand")]


def test_titles_are_clipped_and_empty_descriptions_fall_back_to_the_title() -> None:
    items, _ = feed_items([entry("A-1", title="x" * 200, description="  ")], {})
    assert len(items[0].title) == 150 and items[0].title.endswith("…")
    assert items[0].description == items[0].title


def test_google_tsv_and_meta_csv_carry_the_same_items() -> None:
    items, _ = feed_items([entry("A-1", title="Tab\there"), entry("B-2")], {"A-1": 1})
    tsv = [line.split("\t") for line in google_tsv(items).splitlines()]
    assert tsv[0] == list(GOOGLE_TSV_COLUMNS)
    rows = [dict(zip(tsv[0], line, strict=True)) for line in tsv[1:]]
    assert [(r["id"], r["title"], r["availability"], r["price"]) for r in rows] == [
        ("A-1", "Tab here", "in_stock", "12.50 EUR"), ("B-2", "Tee B-2", "out_of_stock",
                                                      "12.50 EUR")]
    meta = list(csv.DictReader(io.StringIO(meta_csv(items))))
    assert [(r["id"], r["availability"], r["price"], r["condition"], r["brand"]) for r in meta] == [
        ("A-1", "in stock", "12.50 EUR", "new", "Acme"),
        ("B-2", "out of stock", "12.50 EUR", "new", "Acme")]
    assert list(meta[0]) == ["id", "title", "description", "availability", "condition", "price",
                             "link", "image_link", "brand", "gtin", "mpn", "item_group_id",
                             "additional_image_link"]


@given(st.decimals(min_value=0, max_value=Decimal("99999999.9999"), places=4),
       st.sampled_from(["EUR", "USD", "GBP"]))
def test_prices_always_have_two_decimals_and_the_currency(amount: Decimal, currency: str) -> None:
    text = format_price(amount, currency)
    number, code = text.split(" ")
    assert re.fullmatch(r"\d+\.\d\d", number) and code == currency
    assert abs(Decimal(number) - amount) <= Decimal("0.005")


@given(st.text(min_size=1, max_size=60).filter(lambda s: s.strip()))
def test_any_title_survives_the_xml_round_trip(title: str) -> None:
    clean = "".join(c for c in title if c.isprintable())
    assume(clean.strip())
    items, _ = feed_items([entry("A-1", title=clean)], {})
    root = ET.fromstring(google_xml(items, title="W", description="D"))
    assert root.findtext(f"channel/item/{G}title") == " ".join(clean.split())
