"""Product feeds: Google Merchant Center RSS 2.0 XML and TSV, Meta catalog CSV. Pure functions.

The builder takes the listed variants and an availability mapping (sku -> units the channel may
offer), so it is tested without a database; `feed_service` fills both from the catalog and the
inventory ledger.
"""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from urllib.parse import urlsplit

from kanaal.core.money import quantize

GOOGLE_NS = "http://base.google.com/ns/1.0"
TITLE_MAX = 150
DESCRIPTION_MAX = 5000
ADDITIONAL_IMAGES_MAX = 10


class FeedFormat(StrEnum):
    """The feed files Kanaal writes; the value is the file extension."""

    GOOGLE_XML = "xml"
    GOOGLE_TSV = "tsv"
    META_CSV = "csv"


MEDIA_TYPES = {
    FeedFormat.GOOGLE_XML: "application/rss+xml; charset=utf-8",
    FeedFormat.GOOGLE_TSV: "text/tab-separated-values; charset=utf-8",
    FeedFormat.META_CSV: "text/csv; charset=utf-8",
}


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """A published listing with what the feed needs of its variant and product."""

    sku: str
    product_id: str
    title: str
    description: str
    url: str | None
    price: Decimal
    currency: str
    brand: str | None
    gtin: str | None
    mpn: str | None
    condition: str
    images: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One feed item with every required attribute filled in."""

    id: str
    item_group_id: str
    title: str
    description: str
    link: str
    image_link: str
    additional_image_links: tuple[str, ...]
    in_stock: bool
    price: str
    brand: str
    gtin: str | None
    mpn: str | None
    condition: str

    @property
    def identifier_exists(self) -> str:
        """`no` when the item has neither gtin nor mpn (Google then asks for nothing else)."""
        return "yes" if self.gtin or self.mpn else "no"


@dataclass(frozen=True, slots=True)
class SkippedEntry:
    """A listed sku left out of the feed because a required attribute is missing."""

    sku: str
    reason: str


def format_price(amount: Decimal, currency: str) -> str:
    """A feed price: two decimals, a space, the ISO currency (`12.50 EUR`)."""
    return f"{quantize(amount)} {currency}"


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def feed_items(entries: Iterable[FeedEntry], availability: Mapping[str, int]
               ) -> tuple[list[FeedItem], list[SkippedEntry]]:
    """Feed items for listed entries, in sku order; entries lacking a link, image or brand are
    skipped with the reason. A sku missing from `availability` counts as out of stock."""
    items: list[FeedItem] = []
    skipped: list[SkippedEntry] = []
    for entry in sorted(entries, key=lambda e: e.sku):
        missing = [name for name, value in (("link", entry.url), ("image_link", entry.images),
                                            ("brand", entry.brand)) if not value]
        if missing:
            skipped.append(SkippedEntry(entry.sku, "missing " + ", ".join(missing)))
            continue
        assert entry.url is not None and entry.brand is not None
        title = _clip(entry.title, TITLE_MAX)
        items.append(FeedItem(
            id=entry.sku, item_group_id=entry.product_id, title=title,
            description=_clip(entry.description, DESCRIPTION_MAX) or title,
            link=entry.url, image_link=entry.images[0],
            additional_image_links=entry.images[1:1 + ADDITIONAL_IMAGES_MAX],
            in_stock=availability.get(entry.sku, 0) > 0,
            price=format_price(entry.price, entry.currency), brand=entry.brand,
            gtin=entry.gtin, mpn=entry.mpn, condition=entry.condition,
        ))
    return items, skipped


def google_availability(item: FeedItem) -> str:
    """Google's availability value."""
    return "in_stock" if item.in_stock else "out_of_stock"


def meta_availability(item: FeedItem) -> str:
    """Meta's availability value."""
    return "in stock" if item.in_stock else "out of stock"


def _google_fields(item: FeedItem) -> list[tuple[str, str]]:
    fields = [("id", item.id), ("title", item.title), ("description", item.description),
              ("link", item.link), ("image_link", item.image_link)]
    fields += [("additional_image_link", url) for url in item.additional_image_links]
    fields += [("availability", google_availability(item)), ("price", item.price),
               ("brand", item.brand), ("condition", item.condition),
               ("item_group_id", item.item_group_id)]
    if item.gtin:
        fields.append(("gtin", item.gtin))
    if item.mpn:
        fields.append(("mpn", item.mpn))
    fields.append(("identifier_exists", item.identifier_exists))
    return fields


def google_xml(items: Iterable[FeedItem], *, title: str, description: str) -> bytes:
    """A Google Merchant Center RSS 2.0 feed with every attribute in the `g:` namespace."""
    ET.register_namespace("g", GOOGLE_NS)
    rss = ET.Element("rss", {"version": "2.0"})
    channel = ET.SubElement(rss, "channel")
    listed = list(items)
    parts = urlsplit(listed[0].link) if listed else None
    ET.SubElement(channel, "title").text = title
    ET.SubElement(channel, "link").text = f"{parts.scheme}://{parts.netloc}/" if parts else ""
    ET.SubElement(channel, "description").text = description
    for item in listed:
        element = ET.SubElement(channel, "item")
        for name, value in _google_fields(item):
            ET.SubElement(element, f"{{{GOOGLE_NS}}}{name}").text = value
    ET.indent(rss)
    return ET.tostring(rss, encoding="utf-8", xml_declaration=True) + b"\n"


GOOGLE_TSV_COLUMNS = ("id", "title", "description", "link", "image_link",
                      "additional_image_link", "availability", "price", "brand", "condition",
                      "item_group_id", "gtin", "mpn", "identifier_exists")


def _cell(value: str) -> str:
    # Tabs and line breaks would split a TSV cell; Google reads them as plain spaces anyway.
    return " ".join(value.split())


def google_tsv(items: Iterable[FeedItem]) -> str:
    """A Google Merchant Center tab-separated feed (header row first)."""
    lines = ["\t".join(GOOGLE_TSV_COLUMNS)]
    for item in items:
        values = dict(_google_fields(item))
        values["additional_image_link"] = ",".join(item.additional_image_links)
        lines.append("\t".join(_cell(values.get(c, "")) for c in GOOGLE_TSV_COLUMNS))
    return "\n".join(lines) + "\n"


META_COLUMNS = ("id", "title", "description", "availability", "condition", "price", "link",
                "image_link", "brand", "gtin", "mpn", "item_group_id", "additional_image_link")


def meta_csv(items: Iterable[FeedItem]) -> str:
    """A Meta (Facebook/Instagram) catalog CSV feed."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(META_COLUMNS)
    for item in items:
        writer.writerow([item.id, item.title, item.description, meta_availability(item),
                         item.condition, item.price, item.link, item.image_link, item.brand,
                         item.gtin or "", item.mpn or "", item.item_group_id,
                         ",".join(item.additional_image_links)])
    return buffer.getvalue()


def render(fmt: FeedFormat, items: list[FeedItem], *, title: str, description: str) -> bytes:
    """The feed file in `fmt`."""
    if fmt is FeedFormat.GOOGLE_XML:
        return google_xml(items, title=title, description=description)
    if fmt is FeedFormat.GOOGLE_TSV:
        return google_tsv(items).encode("utf-8")
    return meta_csv(items).encode("utf-8")
