"""Catalog tables (products, variants, listings, price lists) and product/variant queries."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    Numeric,
    PrimaryKeyConstraint,
    Row,
    String,
    Table,
    Text,
    insert,
    select,
)
from sqlalchemy.orm import Session

from kanaal.catalog.domain import Condition, Product, Variant
from kanaal.core.db import UtcDateTime, metadata

# Four decimals: cost prices of cheap components need them; shelf prices round to cents.
Amount = Numeric(14, 4)

products = Table(
    "products",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("handle", String(120), nullable=False, unique=True),
    Column("title", String(300), nullable=False),
    Column("description", Text, nullable=False),
    Column("brand", String(120), nullable=True),
    Column("attributes", JSON, nullable=False),
    Column("images", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

variants = Table(
    "variants",
    metadata,
    Column("sku", String(64), primary_key=True),
    Column("product_id", String(40), ForeignKey("products.id"), nullable=False, index=True),
    Column("title", String(300), nullable=False),
    Column("gtin", String(14), nullable=True, unique=True),
    Column("mpn", String(70), nullable=True),
    Column("condition", String(12), nullable=False),
    Column("attributes", JSON, nullable=False),
    Column("images", JSON, nullable=False),
    Column("cost_price", Amount, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("cost_price >= 0", name="cost_price_not_negative"),
)

channel_listings = Table(
    "channel_listings",
    metadata,
    Column("channel_id", String(40), nullable=False),
    Column("sku", String(64), ForeignKey("variants.sku"), nullable=False, index=True),
    Column("title", String(300), nullable=False),
    Column("description", Text, nullable=False),
    Column("price", Amount, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("published", Boolean, nullable=False),
    Column("url", Text, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("channel_id", "sku"),
    CheckConstraint("price >= 0", name="price_not_negative"),
)

price_lists = Table(
    "price_lists",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

price_list_tiers = Table(
    "price_list_tiers",
    metadata,
    Column("price_list_id", String(40), ForeignKey("price_lists.id"), nullable=False),
    Column("sku", String(64), ForeignKey("variants.sku"), nullable=False),
    # '' means every customer group: a primary key column cannot be NULL.
    Column("customer_group", String(64), nullable=False),
    Column("min_quantity", Integer, nullable=False),
    Column("unit_price", Amount, nullable=False),
    PrimaryKeyConstraint("price_list_id", "sku", "customer_group", "min_quantity"),
    CheckConstraint("min_quantity >= 1", name="min_quantity_positive"),
    CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
)


def amount(value: Any) -> Decimal:
    """A stored amount as a Decimal with four decimals (SQLite hands back floats)."""
    return Decimal(value).quantize(Decimal("0.0001")) if not isinstance(value, Decimal) \
        else value.quantize(Decimal("0.0001"))


def product_of(row: Row[Any]) -> Product:
    """A Product from a products row."""
    return Product(id=row.id, handle=row.handle, title=row.title, description=row.description,
                   brand=row.brand, attributes=dict(row.attributes), images=tuple(row.images))


def variant_of(row: Row[Any], brand: str | None) -> Variant:
    """A Variant from a variants row and its product's brand."""
    return Variant(
        sku=row.sku, product_id=row.product_id, title=row.title, brand=brand, gtin=row.gtin,
        cost_price=amount(row.cost_price), currency=row.currency, mpn=row.mpn,
        condition=Condition(row.condition), attributes=dict(row.attributes),
        images=tuple(row.images),
    )


def product_values(product: Product) -> dict[str, Any]:
    """Column values of a product (without timestamps)."""
    return {"id": product.id, "handle": product.handle, "title": product.title,
            "description": product.description, "brand": product.brand,
            "attributes": product.attributes, "images": list(product.images)}


def variant_values(variant: Variant) -> dict[str, Any]:
    """Column values of a variant (without timestamps)."""
    return {"sku": variant.sku, "product_id": variant.product_id, "title": variant.title,
            "gtin": variant.gtin, "mpn": variant.mpn, "condition": variant.condition.value,
            "attributes": variant.attributes, "images": list(variant.images),
            "cost_price": variant.cost_price, "currency": variant.currency}


def insert_product(session: Session, product: Product, items: Sequence[Variant],
                   now: datetime) -> None:
    """Store a new product with its variants."""
    session.execute(insert(products).values(created_at=now, updated_at=now,
                                            **product_values(product)))
    session.execute(insert(variants), [
        {"created_at": now, "updated_at": now, **variant_values(v)} for v in items
    ])


def find_product(session: Session, product_id: str) -> Product | None:
    """The product with this id, or None."""
    row = session.execute(select(products).where(products.c.id == product_id)).first()
    return None if row is None else product_of(row)


def product_id_for_handle(session: Session, handle: str) -> str | None:
    """The id of the product with this handle, or None."""
    return session.execute(
        select(products.c.id).where(products.c.handle == handle)
    ).scalar_one_or_none()


def variants_of(session: Session, product: Product) -> list[Variant]:
    """A product's variants, by sku."""
    rows = session.execute(
        select(variants).where(variants.c.product_id == product.id).order_by(variants.c.sku)
    )
    return [variant_of(row, product.brand) for row in rows]


def find_variant(session: Session, sku: str) -> Variant | None:
    """The variant with this sku (with its product's brand), or None."""
    row = session.execute(
        select(variants, products.c.brand)
        .join(products, products.c.id == variants.c.product_id)
        .where(variants.c.sku == sku)
    ).first()
    return None if row is None else variant_of(row, row.brand)


def _chunks(values: Sequence[str], size: int = 500) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def existing_skus(session: Session, skus: Iterable[str]) -> set[str]:
    """Which of `skus` are stored."""
    found: set[str] = set()
    for chunk in _chunks(sorted(set(skus))):
        found.update(session.execute(select(variants.c.sku).where(variants.c.sku.in_(chunk)))
                     .scalars())
    return found


def gtin_owners(session: Session, gtins: Iterable[str]) -> dict[str, str]:
    """Stored gtin -> sku for those of `gtins` already in use."""
    owners: dict[str, str] = {}
    for chunk in _chunks(sorted(set(gtins))):
        rows = session.execute(select(variants.c.gtin, variants.c.sku)
                               .where(variants.c.gtin.in_(chunk)))
        owners.update({row.gtin: row.sku for row in rows})
    return owners


def count_rows(session: Session, table: Table) -> int:
    """Number of rows in one of the catalog tables."""
    from sqlalchemy import func

    return int(session.execute(select(func.count()).select_from(table)).scalar_one())


def update_variant(session: Session, variant: Variant, now: datetime) -> None:
    """Overwrite a stored variant's fields (its sku and product stay)."""
    from sqlalchemy import update

    values = variant_values(variant)
    del values["sku"], values["product_id"]
    session.execute(update(variants).where(variants.c.sku == variant.sku)
                    .values(updated_at=now, **values))


def product_page(session: Session, *, after: str | None, limit: int) -> list[Product]:
    """Up to `limit` products by handle, starting after the handle `after`."""
    query = select(products).order_by(products.c.handle).limit(limit)
    if after is not None:
        query = query.where(products.c.handle > after)
    return [product_of(row) for row in session.execute(query)]
