"""Catalog and channel fixtures for tests of any feature: a channel, a product, a listing."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from kanaal.catalog import service as catalog
from kanaal.catalog.domain import Listing, Variant
from kanaal.catalog.listing_service import put_listing
from kanaal.channels import service as channels
from kanaal.channels.domain import Channel
from kanaal.core.context import AppContext


def make_channel(ctx: AppContext, handle: str = "webshop-nl", *, kind: str = "web",
                 currency: str = "EUR", **fields: Any) -> Channel:
    """Create a channel (location_ids, price_list_id, stock_buffer, ... as keyword fields)."""
    return channels.create_channel(ctx, {"handle": handle, "name": handle.replace("-", " "),
                                         "kind": kind, "currency": currency, **fields})


def make_variant(ctx: AppContext, sku: str = "TEE-RED-M", *, cost_price: str = "4.00",
                 currency: str = "EUR", gtin: str | None = None, brand: str = "Acme",
                 handle: str | None = None) -> Variant:
    """Create a one-variant product and return the variant."""
    _, items = catalog.create_product(ctx, {
        "handle": handle or sku.lower().replace(".", "-").replace("_", "-").replace("/", "-"),
        "title": f"Product {sku}", "description": f"About {sku}", "brand": brand,
        "images": [f"https://img.example.com/{sku}.jpg"],
        "variants": [{"sku": sku, "title": f"Variant {sku}", "gtin": gtin,
                      "cost_price": Decimal(cost_price), "currency": currency}],
    })
    return items[0]


def list_variant(ctx: AppContext, channel: Channel, sku: str, price: str = "12.50",
                 *, published: bool = True) -> Listing:
    """Offer `sku` on `channel` at `price` in the channel's currency."""
    return put_listing(ctx, channel.id, sku, {
        "title": f"Listed {sku}", "description": f"{sku} on {channel.handle}",
        "price": Decimal(price), "currency": channel.currency, "published": published,
        "url": f"https://shop.example.com/{channel.handle}/{sku}",
    })[0]


def catalog_rows(products: int, variants_per_product: int = 4) -> list[list[str]]:
    """Rows of a generated catalog CSV (header first), in the order `export` writes them."""
    from kanaal.catalog.csv_rows import COLUMNS
    from kanaal.catalog.domain import gtin_check_digit

    rows: list[list[str]] = [list(COLUMNS)]
    sizes = ["S", "M", "L", "XL", "XXL", "3XL", "4XL", "5XL", "6XL"][:variants_per_product]
    for p in range(products):
        handle = f"product-{p:06d}"
        for v, size in sorted(enumerate(sizes), key=lambda item: f"SKU-{p:06d}-{item[1]}"):
            n = p * variants_per_product + v
            body = f"200{n:09d}"
            cells = {
                "product_handle": handle, "product_title": f"Product {p}",
                "product_description": f"Description of product {p}, with a comma",
                "brand": f"Brand {p % 37}", "sku": f"SKU-{p:06d}-{size}",
                "variant_title": f"Product {p} {size}", "gtin": body + gtin_check_digit(body),
                "mpn": f"MPN{n}", "condition": "new", "cost_price": f"{1 + n % 50}.{n % 100:02d}00",
                "currency": "EUR", "attributes": json.dumps({"size": size}),
                "images": f"https://img.example.com/{p}/1.jpg|https://img.example.com/{p}/2.jpg",
            }
            rows.append([cells[c] for c in COLUMNS])
    return rows


def write_catalog_csv(path: Path, products: int, variants_per_product: int = 4) -> Path:
    """Write a generated catalog CSV of products x variants_per_product rows to `path`."""
    with path.open("w", newline="", encoding="utf-8") as target:
        csv.writer(target, lineterminator="\n").writerows(
            catalog_rows(products, variants_per_product))
    return path
