"""Catalog use cases. Other features call `variant_in`, `unit_price_in` and `unit_margin_in`."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kanaal.catalog import store, store_pricing
from kanaal.catalog.domain import (
    Condition,
    Product,
    Variant,
    check_attributes,
    check_currency,
    check_handle,
    check_images,
    check_variant,
    choose_tier,
    problem,
    raise_problems,
)
from kanaal.channels.domain import Channel
from kanaal.core.context import AppContext
from kanaal.core.errors import Conflict, InvalidInput, NotFound
from kanaal.core.money import Money
from kanaal.core.outbox import publish_event


def variant_in(session: Session, sku: str) -> Variant:
    """The variant with this sku; NotFound code unknown_sku otherwise."""
    variant = store.find_variant(session, sku)
    if variant is None:
        raise NotFound(f"no variant with sku {sku!r}", code="unknown_sku")
    return variant


def unit_price_in(session: Session, *, channel: Channel, sku: str, quantity: int,
                  customer_group: str | None = None) -> Money:
    """Unit price of `sku` on `channel`: the channel's B2B tier when one applies, else the
    published listing's price. NotFound unknown_sku / Conflict not_for_sale otherwise."""
    if quantity < 1:
        raise InvalidInput("quantity must be 1 or more", code="invalid_quantity")
    variant_in(session, sku)
    if channel.price_list_id is not None:
        tiers = store_pricing.tiers_for(session, channel.price_list_id, sku)
        tier = choose_tier(tiers, sku=sku, quantity=quantity, customer_group=customer_group)
        if tier is not None:
            return Money(tier.unit_price, channel.currency)
    listing = store_pricing.find_listing(session, channel.id, sku)
    if listing is None or not listing.published:
        raise Conflict(f"{sku} is not for sale on channel {channel.handle}", code="not_for_sale")
    return Money(listing.price, listing.currency)


def unit_margin_in(session: Session, *, channel: Channel, sku: str, quantity: int = 1,
                   customer_group: str | None = None) -> Money:
    """Unit price minus cost price (InvalidInput currency_mismatch when they differ)."""
    price = unit_price_in(session, channel=channel, sku=sku, quantity=quantity,
                          customer_group=customer_group)
    variant = variant_in(session, sku)
    return price - Money(variant.cost_price, variant.currency)


def listing_currencies_in(session: Session, channel_id: str) -> set[str]:
    """The currencies the channel's listings are priced in (empty when it lists nothing)."""
    return store_pricing.listing_currencies(session, channel_id)


def price_list_currency_in(session: Session, price_list_id: str) -> str:
    """The currency of a price list; InvalidInput code unknown_price_list when there is none."""
    currency = store_pricing.price_list_currency(session, price_list_id)
    if currency is None:
        raise InvalidInput(f"no price list {price_list_id!r}", code="unknown_price_list")
    return currency


def build_variant(product_id: str, fields: dict[str, Any], brand: str | None) -> Variant:
    """A Variant from plain fields (condition defaults to new)."""
    try:
        condition = Condition(fields.get("condition") or "new")
    except ValueError as exc:
        raise InvalidInput(f"condition {fields.get('condition')!r} is not new, refurbished or "
                           "used", code="invalid_condition") from exc
    return Variant(
        sku=fields["sku"], product_id=product_id, title=fields["title"], brand=brand,
        gtin=fields.get("gtin") or None, cost_price=fields["cost_price"],
        currency=fields["currency"], mpn=fields.get("mpn") or None, condition=condition,
        attributes=dict(fields.get("attributes") or {}),
        images=tuple(fields.get("images") or ()),
    )


def create_product(ctx: AppContext, fields: dict[str, Any]) -> tuple[Product, list[Variant]]:
    """Create a product with its variants in one go; all or nothing."""
    product = Product(
        id=ctx.ids.new("prd"), handle=fields["handle"], title=fields["title"],
        description=fields.get("description") or "", brand=fields.get("brand") or None,
        attributes=dict(fields.get("attributes") or {}), images=tuple(fields.get("images") or ()),
    )
    items = [build_variant(product.id, v, product.brand) for v in fields["variants"]]
    problems = check_handle(product.handle, ["handle"])
    if not product.title.strip():
        problems.append(problem(["title"], "must not be blank", "invalid_title"))
    if not items:
        problems.append(problem(["variants"], "a product needs a variant", "no_variants"))
    problems += check_images(product.images, ["images"])
    problems += check_attributes(product.attributes, ["attributes"])
    for index, variant in enumerate(items):
        problems += check_variant(variant, ["variants", index])
    raise_problems(problems, default_code="invalid_product")
    _refuse_duplicates(items)
    try:
        return _insert_product(ctx, product, items)
    except IntegrityError as exc:
        # Another request took the handle, a sku or a gtin between our check and our insert.
        raise Conflict("the handle, a sku or a gtin was taken meanwhile",
                       code="duplicate_product") from exc


def _insert_product(ctx: AppContext, product: Product, items: list[Variant]
                    ) -> tuple[Product, list[Variant]]:
    with ctx.db.transaction() as session:
        if store.product_id_for_handle(session, product.handle) is not None:
            raise Conflict(f"a product with handle {product.handle!r} exists",
                           code="duplicate_product")
        taken = store.existing_skus(session, [v.sku for v in items])
        if taken:
            raise Conflict(f"sku {sorted(taken)[0]!r} exists", code="duplicate_sku",
                           details=[{"loc": ["variants"], "message": s} for s in sorted(taken)])
        owners = store.gtin_owners(session, [v.gtin for v in items if v.gtin])
        if owners:
            gtin, owner = sorted(owners.items())[0]
            raise Conflict(f"gtin {gtin} belongs to sku {owner!r}", code="duplicate_gtin")
        store.insert_product(session, product, items, ctx.clock.now())
        publish_event(session, ids=ctx.ids, clock=ctx.clock, topic="product.created",
                      data={"id": product.id, "handle": product.handle,
                            "skus": [v.sku for v in items]})
        return product, store.variants_of(session, product)


def _refuse_duplicates(items: list[Variant]) -> None:
    skus = Counter(v.sku for v in items)
    gtins = Counter(v.gtin for v in items if v.gtin)
    repeated = [s for s, n in skus.items() if n > 1]
    if repeated:
        raise Conflict(f"sku {repeated[0]!r} appears twice", code="duplicate_sku")
    repeated = [g for g, n in gtins.items() if n > 1]
    if repeated:
        raise Conflict(f"gtin {repeated[0]} appears twice", code="duplicate_gtin")


def get_product(ctx: AppContext, product_id: str) -> tuple[Product, list[Variant]]:
    """A product with its variants; NotFound code unknown_product otherwise."""
    with ctx.db.reader() as session:
        product = store.find_product(session, product_id)
        if product is None:
            raise NotFound(f"no product {product_id!r}", code="unknown_product")
        return product, store.variants_of(session, product)


def get_variant(ctx: AppContext, sku: str) -> Variant:
    """One variant by sku."""
    with ctx.db.reader() as session:
        return variant_in(session, sku)


VARIANT_CHANGEABLE = frozenset({"title", "gtin", "mpn", "condition", "attributes", "images",
                                "cost_price", "currency"})


def change_variant(ctx: AppContext, sku: str, changes: dict[str, Any]) -> Variant:
    """Change some of a variant's fields; null clears gtin and mpn."""
    unknown = set(changes) - VARIANT_CHANGEABLE
    if unknown:
        raise InvalidInput(f"cannot change {sorted(unknown)}", code="invalid_variant")
    for required in ("title", "condition", "attributes", "images", "cost_price", "currency"):
        if required in changes and changes[required] is None:
            raise InvalidInput(f"{required} cannot be null", code="invalid_variant")
    try:
        with ctx.db.transaction() as session:
            current = variant_in(session, sku)
            fields = {"sku": sku, "title": current.title, "gtin": current.gtin,
                      "mpn": current.mpn, "condition": current.condition.value,
                      "attributes": current.attributes, "images": current.images,
                      "cost_price": current.cost_price, "currency": current.currency, **changes}
            variant = build_variant(current.product_id, fields, current.brand)
            raise_problems(check_variant(variant, []), default_code="invalid_variant")
            if variant.gtin and variant.gtin != current.gtin:
                owner = store.gtin_owners(session, [variant.gtin]).get(variant.gtin)
                if owner is not None:
                    raise Conflict(f"gtin {variant.gtin} belongs to sku {owner!r}",
                                   code="duplicate_gtin")
            store.update_variant(session, variant, ctx.clock.now())
            publish_event(session, ids=ctx.ids, clock=ctx.clock, topic="variant.changed",
                          data={"sku": sku, "changed": sorted(changes)})
            return variant_in(session, sku)
    except IntegrityError as exc:
        raise Conflict("another variant took that gtin meanwhile", code="duplicate_gtin") from exc


def list_products(ctx: AppContext, *, after: str | None, limit: int) -> list[Product]:
    """A page of products by handle (keyset pagination: pass the last handle as `after`)."""
    with ctx.db.reader() as session:
        return store.product_page(session, after=after, limit=limit)


def check_currency_code(currency: str, loc: list[str | int]) -> None:
    """Raise InvalidInput invalid_currency when `currency` is not an ISO code."""
    raise_problems(check_currency(currency, loc), default_code="invalid_currency")
