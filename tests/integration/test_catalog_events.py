"""Catalog and channel changes reach webhook subscribers through the outbox, refused ones don't."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from kanaal.catalog.importer import import_csv
from kanaal.catalog.listing_service import create_price_list
from kanaal.catalog.service import change_variant
from kanaal.channels.service import change_channel
from kanaal.core.context import AppContext
from kanaal.core.errors import DomainError
from kanaal.core.outbox import add_webhook_endpoint, outbox_messages
from tests.support.catalog import list_variant, make_channel, make_variant


def _events(ctx: AppContext) -> list[tuple[str, dict[str, Any]]]:
    with ctx.db.reader() as session:
        rows = session.execute(select(outbox_messages.c.topic, outbox_messages.c.payload))
        # Ids are random within a millisecond and the clock stands still: sort by topic.
        return sorted(((row.topic, row.payload["data"]) for row in rows), key=lambda e: e[0])


def test_every_change_publishes_one_event_and_refusals_publish_none(ctx: AppContext) -> None:
    add_webhook_endpoint(ctx.db, ids=ctx.ids, clock=ctx.clock, url="http://127.0.0.1:9/hook",
                         topics=["*"], secret="s")
    channel = make_channel(ctx, "webshop-nl")
    variant = make_variant(ctx, "TEE-M")
    list_variant(ctx, channel, "TEE-M", "12.50")
    change_variant(ctx, "TEE-M", {"cost_price": Decimal("3.00")})
    change_channel(ctx, "webshop-nl", {"stock_buffer": 3})
    price_list = create_price_list(ctx, {"name": "Trade", "currency": "EUR", "tiers": [
        {"sku": "TEE-M", "min_quantity": 10, "unit_price": Decimal("9.00")}]})
    import_csv(ctx, io.StringIO(
        "product_handle,product_title,sku,variant_title,cost_price,currency\n"
        "mug,Mug,MUG-1,Mug,2.00,EUR\n"))
    refusals = [
        lambda: change_variant(ctx, "TEE-M", {"cost_price": Decimal("-1")}),
        lambda: change_channel(ctx, "webshop-nl", {"currency": "USD"}),
        lambda: list_variant(ctx, channel, "NOPE", "1.00"),
        lambda: import_csv(ctx, io.StringIO("sku\nX\n")),
    ]
    for refuse in refusals:
        with pytest.raises(DomainError):
            refuse()
    assert _events(ctx) == [
        ("catalog.imported", {"rows": 1, "products": 1, "created": 1, "updated": 0}),
        ("channel.changed", {"id": channel.id, "handle": "webshop-nl",
                             "changed": ["stock_buffer"]}),
        ("channel.created", {"id": channel.id, "handle": "webshop-nl", "kind": "web"}),
        ("listing.changed", {"channel": "webshop-nl", "sku": "TEE-M", "price": "12.50",
                             "currency": "EUR", "published": True}),
        ("price_list.created", {"id": price_list.id, "name": "Trade", "tiers": 1}),
        ("product.created", {"id": variant.product_id, "handle": "tee-m", "skus": ["TEE-M"]}),
        ("variant.changed", {"sku": "TEE-M", "changed": ["cost_price"]}),
    ]
