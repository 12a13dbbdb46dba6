"""Catalog and channel fixtures for tests of any feature: a channel, a product, a listing."""

from __future__ import annotations

from decimal import Decimal
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
