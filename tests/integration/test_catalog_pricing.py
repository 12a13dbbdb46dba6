"""The interfaces other features use: variant_in, unit_price_in, unit_margin_in, get_channel_in."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kanaal.catalog.listing_service import create_price_list
from kanaal.catalog.service import unit_margin_in, unit_price_in, variant_in
from kanaal.channels.domain import AllocationStrategy
from kanaal.channels.service import get_channel_in
from kanaal.core.context import AppContext
from kanaal.core.errors import Conflict, InvalidInput, NotFound
from kanaal.core.money import Money
from kanaal.inventory.service import create_location
from tests.support.catalog import list_variant, make_channel, make_variant


def test_get_channel_in_finds_by_id_and_handle_and_refuses_unknown(ctx: AppContext) -> None:
    locations = [create_location(ctx, name=n, kind="warehouse", latitude=None, longitude=None,
                                 address="NL").id for n in ("A", "B")]
    channel = make_channel(ctx, "webshop-nl", location_ids=locations, stock_buffer=2)
    with ctx.db.reader() as session:
        by_id = get_channel_in(session, channel.id)
        by_handle = get_channel_in(session, "webshop-nl")
        with pytest.raises(NotFound) as missing:
            get_channel_in(session, "nope")
    assert by_id == by_handle == channel
    assert by_id.location_ids == tuple(locations)
    assert by_id.allocation_strategy == "priority" == AllocationStrategy.PRIORITY
    assert (by_id.kind, by_id.stock_buffer, by_id.quota) == ("web", 2, None)
    assert missing.value.code == "unknown_channel"


def test_variant_in_returns_brand_cost_and_gtin(ctx: AppContext) -> None:
    make_variant(ctx, "TEE-RED-M", cost_price="4.1234", gtin="4006381333931", brand="Acme")
    with ctx.db.reader() as session:
        variant = variant_in(session, "TEE-RED-M")
        with pytest.raises(NotFound) as missing:
            variant_in(session, "NOPE")
    assert (variant.sku, variant.brand, variant.gtin) == ("TEE-RED-M", "Acme", "4006381333931")
    assert (variant.cost_price, variant.currency) == (Decimal("4.1234"), "EUR")
    assert missing.value.code == "unknown_sku"


def test_listing_price_and_margin_on_a_web_channel(ctx: AppContext) -> None:
    channel = make_channel(ctx)
    make_variant(ctx, "TEE-RED-M", cost_price="4.00")
    list_variant(ctx, channel, "TEE-RED-M", "12.50")
    with ctx.db.reader() as session:
        price = unit_price_in(session, channel=channel, sku="TEE-RED-M", quantity=3)
        margin = unit_margin_in(session, channel=channel, sku="TEE-RED-M")
    assert price == Money(Decimal("12.5000"), "EUR")
    assert margin == Money(Decimal("8.5000"), "EUR")


def test_b2b_tiers_price_by_quantity_and_customer_group(ctx: AppContext) -> None:
    make_variant(ctx, "BOLT-M8", cost_price="0.0500")
    price_list = create_price_list(ctx, {"name": "Trade 2026", "currency": "EUR", "tiers": [
        {"sku": "BOLT-M8", "min_quantity": 1, "unit_price": Decimal("0.20")},
        {"sku": "BOLT-M8", "min_quantity": 100, "unit_price": Decimal("0.15")},
        {"sku": "BOLT-M8", "customer_group": "gold", "min_quantity": 100,
         "unit_price": Decimal("0.12")},
    ]})
    channel = make_channel(ctx, "trade", kind="b2b", price_list_id=price_list.id)
    with ctx.db.reader() as session:
        def price(quantity: int, group: str | None = None) -> Decimal:
            return unit_price_in(session, channel=channel, sku="BOLT-M8", quantity=quantity,
                                 customer_group=group).amount
        assert [price(1), price(99), price(100), price(100, "gold"), price(99, "gold")] == [
            Decimal("0.2000"), Decimal("0.2000"), Decimal("0.1500"), Decimal("0.1200"),
            Decimal("0.2000")]
        margin = unit_margin_in(session, channel=channel, sku="BOLT-M8", quantity=500,
                                customer_group="gold")
    assert margin == Money(Decimal("0.0700"), "EUR")


def test_unlisted_unpublished_and_bad_quantity_are_refused(ctx: AppContext) -> None:
    channel = make_channel(ctx)
    make_variant(ctx, "A-1")
    make_variant(ctx, "B-1")
    list_variant(ctx, channel, "B-1", "3.00", published=False)
    with ctx.db.reader() as session:
        with pytest.raises(Conflict) as unlisted:
            unit_price_in(session, channel=channel, sku="A-1", quantity=1)
        with pytest.raises(Conflict) as hidden:
            unit_price_in(session, channel=channel, sku="B-1", quantity=1)
        with pytest.raises(InvalidInput) as zero:
            unit_price_in(session, channel=channel, sku="B-1", quantity=0)
        with pytest.raises(NotFound) as unknown:
            unit_price_in(session, channel=channel, sku="Z-9", quantity=1)
    assert [unlisted.value.code, hidden.value.code, zero.value.code, unknown.value.code] == [
        "not_for_sale", "not_for_sale", "invalid_quantity", "unknown_sku"]


def test_margin_across_currencies_is_refused(ctx: AppContext) -> None:
    channel = make_channel(ctx)
    make_variant(ctx, "IMPORT-1", cost_price="3.00", currency="USD")
    list_variant(ctx, channel, "IMPORT-1", "9.00")
    with ctx.db.reader() as session, pytest.raises(InvalidInput) as mismatch:
        unit_margin_in(session, channel=channel, sku="IMPORT-1")
    assert mismatch.value.code == "currency_mismatch"
