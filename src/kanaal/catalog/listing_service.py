"""Listing and price list use cases: how variants are offered and priced per channel."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kanaal.catalog import store_pricing
from kanaal.catalog.domain import (
    Listing,
    PriceList,
    PriceTier,
    check_currency,
    check_tiers,
    parse_amount,
    problem,
    raise_problems,
)
from kanaal.catalog.service import unit_price_in, variant_in
from kanaal.catalog.store import existing_skus
from kanaal.channels.service import get_channel_in
from kanaal.core.context import AppContext
from kanaal.core.errors import InvalidInput, NotFound
from kanaal.core.money import Money
from kanaal.core.outbox import publish_event


def put_listing(ctx: AppContext, channel_ref: str, sku: str,
                fields: dict[str, Any]) -> tuple[Listing, bool]:
    """Create or replace the listing of `sku` on a channel; returns it and whether it is new."""
    price, problems = parse_amount(fields["price"], ["price"])
    problems += check_currency(fields["currency"], ["currency"])
    if not str(fields["title"]).strip():
        problems.append(problem(["title"], "must not be blank", "invalid_title"))
    raise_problems(problems, default_code="invalid_listing")
    assert price is not None
    with ctx.db.transaction() as session:
        channel = get_channel_in(session, channel_ref)
        variant_in(session, sku)
        if fields["currency"] != channel.currency:
            raise InvalidInput(
                f"the listing is in {fields['currency']}, channel {channel.handle} sells in "
                f"{channel.currency}", code="currency_mismatch",
                details=[problem(["currency"], f"must be {channel.currency}",
                                 "currency_mismatch")])
        listing = Listing(channel_id=channel.id, sku=sku, title=fields["title"],
                          description=fields.get("description") or "", price=price,
                          currency=channel.currency, published=bool(fields.get("published", True)),
                          url=fields.get("url") or None)
        created = store_pricing.find_listing(session, channel.id, sku) is None
        store_pricing.put_listing(session, listing, ctx.clock.now())
        publish_event(session, ids=ctx.ids, clock=ctx.clock, topic="listing.changed", data={
            "channel": channel.handle, "sku": sku, "price": str(listing.price),
            "currency": listing.currency, "published": listing.published})
        stored = store_pricing.find_listing(session, channel.id, sku)
    assert stored is not None
    return stored, created


def get_listing(ctx: AppContext, channel_ref: str, sku: str) -> Listing:
    """The listing of `sku` on a channel; NotFound code unknown_listing otherwise."""
    with ctx.db.reader() as session:
        channel = get_channel_in(session, channel_ref)
        listing = store_pricing.find_listing(session, channel.id, sku)
    if listing is None:
        raise NotFound(f"{sku} is not listed on {channel.handle}", code="unknown_listing")
    return listing


def create_price_list(ctx: AppContext, fields: dict[str, Any]) -> PriceList:
    """Create a B2B price list with its quantity tiers; all or nothing."""
    tiers = tuple(
        PriceTier(sku=t["sku"], customer_group=t.get("customer_group") or None,
                  min_quantity=t["min_quantity"], unit_price=t["unit_price"])
        for t in fields.get("tiers") or ()
    )
    problems = check_currency(fields["currency"], ["currency"]) + check_tiers(tiers)
    if not str(fields["name"]).strip():
        problems.append(problem(["name"], "must not be blank", "invalid_name"))
    raise_problems(problems, default_code="invalid_price_list")
    price_list = PriceList(id=ctx.ids.new("prl"), name=fields["name"],
                           currency=fields["currency"],
                           tiers=tuple(PriceTier(t.sku, t.customer_group, t.min_quantity,
                                                 Decimal(t.unit_price)) for t in tiers))
    with ctx.db.transaction() as session:
        missing = sorted({t.sku for t in tiers} - existing_skus(session, [t.sku for t in tiers]))
        if missing:
            raise InvalidInput(f"no variant with sku {missing[0]!r}", code="unknown_sku",
                               details=[problem(["tiers"], s, "unknown_sku") for s in missing])
        store_pricing.insert_price_list(session, price_list, ctx.clock.now())
        publish_event(session, ids=ctx.ids, clock=ctx.clock, topic="price_list.created",
                      data={"id": price_list.id, "name": price_list.name,
                            "tiers": len(price_list.tiers)})
        stored = store_pricing.find_price_list(session, price_list.id)
    assert stored is not None
    return stored


def get_price_list(ctx: AppContext, price_list_id: str) -> PriceList:
    """A price list with its tiers; NotFound code unknown_price_list otherwise."""
    with ctx.db.reader() as session:
        price_list = store_pricing.find_price_list(session, price_list_id)
    if price_list is None:
        raise NotFound(f"no price list {price_list_id!r}", code="unknown_price_list")
    return price_list


def quote(ctx: AppContext, channel_ref: str, sku: str, *, quantity: int,
          customer_group: str | None) -> tuple[Money, Money, Money]:
    """Unit price, unit cost and unit margin of `sku` on a channel for a quantity and group."""
    with ctx.db.reader() as session:
        channel = get_channel_in(session, channel_ref)
        price = unit_price_in(session, channel=channel, sku=sku, quantity=quantity,
                              customer_group=customer_group)
        variant = variant_in(session, sku)
    cost = Money(variant.cost_price, variant.currency)
    return price, cost, price - cost
