"""Channel listing and price list queries; never commits."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from kanaal.catalog.domain import Listing, PriceList, PriceTier
from kanaal.catalog.feeds import FeedEntry
from kanaal.catalog.store import (
    amount,
    channel_listings,
    price_list_tiers,
    price_lists,
    products,
    variants,
)


def listing_of(row: Row[Any]) -> Listing:
    """A Listing from a channel_listings row."""
    return Listing(channel_id=row.channel_id, sku=row.sku, title=row.title,
                   description=row.description, price=amount(row.price), currency=row.currency,
                   published=bool(row.published), url=row.url)


def find_listing(session: Session, channel_id: str, sku: str) -> Listing | None:
    """The listing of `sku` on the channel, or None."""
    row = session.execute(select(channel_listings).where(
        channel_listings.c.channel_id == channel_id, channel_listings.c.sku == sku)).first()
    return None if row is None else listing_of(row)


def put_listing(session: Session, listing: Listing, now: datetime) -> None:
    """Create or replace the listing of a sku on a channel (one upsert statement)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" \
        else sqlite.insert
    values = {"channel_id": listing.channel_id, "sku": listing.sku, "title": listing.title,
              "description": listing.description, "price": listing.price,
              "currency": listing.currency, "published": listing.published, "url": listing.url,
              "updated_at": now}
    stmt = insert(channel_listings).values(**values)
    session.execute(stmt.on_conflict_do_update(
        index_elements=[channel_listings.c.channel_id, channel_listings.c.sku],
        set_={k: v for k, v in values.items() if k not in ("channel_id", "sku")}))


def listing_currencies(session: Session, channel_id: str) -> set[str]:
    """The currencies of a channel's listings."""
    return set(session.execute(select(channel_listings.c.currency).distinct()
                               .where(channel_listings.c.channel_id == channel_id)).scalars())


def insert_price_list(session: Session, price_list: PriceList, now: datetime) -> None:
    """Store a new price list with its tiers."""
    session.execute(insert(price_lists).values(id=price_list.id, name=price_list.name,
                                               currency=price_list.currency, created_at=now))
    if price_list.tiers:
        session.execute(insert(price_list_tiers), [
            {"price_list_id": price_list.id, "sku": t.sku,
             "customer_group": t.customer_group or "", "min_quantity": t.min_quantity,
             "unit_price": t.unit_price}
            for t in price_list.tiers
        ])


def _tier(row: Row[Any]) -> PriceTier:
    return PriceTier(sku=row.sku, customer_group=row.customer_group or None,
                     min_quantity=row.min_quantity, unit_price=amount(row.unit_price))


def price_list_currency(session: Session, price_list_id: str) -> str | None:
    """The currency of a price list, or None when there is no such list."""
    return session.execute(
        select(price_lists.c.currency).where(price_lists.c.id == price_list_id)
    ).scalar_one_or_none()


def find_price_list(session: Session, price_list_id: str) -> PriceList | None:
    """A price list with all its tiers, or None."""
    head = session.execute(select(price_lists).where(price_lists.c.id == price_list_id)).first()
    if head is None:
        return None
    rows = session.execute(
        select(price_list_tiers).where(price_list_tiers.c.price_list_id == price_list_id)
        .order_by(price_list_tiers.c.sku, price_list_tiers.c.customer_group,
                  price_list_tiers.c.min_quantity))
    return PriceList(id=head.id, name=head.name, currency=head.currency,
                     tiers=tuple(_tier(row) for row in rows))


def tiers_for(session: Session, price_list_id: str, sku: str) -> list[PriceTier]:
    """The tiers of one sku in a price list."""
    rows = session.execute(select(price_list_tiers).where(
        price_list_tiers.c.price_list_id == price_list_id, price_list_tiers.c.sku == sku))
    return [_tier(row) for row in rows]


def feed_entries(session: Session, channel_id: str) -> list[FeedEntry]:
    """Published listings of a channel with their variant and product details, by sku."""
    rows = session.execute(
        select(channel_listings.c.sku, channel_listings.c.title, channel_listings.c.description,
               channel_listings.c.url, channel_listings.c.price, channel_listings.c.currency,
               variants.c.product_id, variants.c.gtin, variants.c.mpn, variants.c.condition,
               variants.c.images, products.c.brand,
               products.c.description.label("product_description"),
               products.c.images.label("product_images"))
        .join(variants, variants.c.sku == channel_listings.c.sku)
        .join(products, products.c.id == variants.c.product_id)
        .where(channel_listings.c.channel_id == channel_id, channel_listings.c.published)
        .order_by(channel_listings.c.sku)
    )
    return [
        FeedEntry(sku=r.sku, product_id=r.product_id, title=r.title,
                  description=r.description or r.product_description, url=r.url,
                  price=amount(r.price), currency=r.currency, brand=r.brand, gtin=r.gtin,
                  mpn=r.mpn, condition=r.condition,
                  images=tuple(dict.fromkeys([*r.images, *r.product_images])))
        for r in rows
    ]


def upsert_listings(session: Session, values: list[dict[str, Any]]) -> None:
    """Create or replace many listings in one executemany upsert."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" \
        else sqlite.insert
    stmt = insert(channel_listings)
    changed = ("title", "description", "price", "currency", "published", "url", "updated_at")
    session.execute(stmt.on_conflict_do_update(
        index_elements=[channel_listings.c.channel_id, channel_listings.c.sku],
        set_={c: stmt.excluded[c] for c in changed}), values)


def listings_of(session: Session, channel_id: str) -> Iterator[Listing]:
    """Every listing of a channel, by sku, streamed."""
    query = (select(channel_listings).where(channel_listings.c.channel_id == channel_id)
             .order_by(channel_listings.c.sku).execution_options(yield_per=2000))
    for row in session.execute(query):
        yield listing_of(row)
