"""Catalog request and response bodies. Amounts travel as decimal strings."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kanaal.catalog.domain import Listing, PriceList, Product, Variant

MAX_VARIANTS = 1000


class VariantIn(BaseModel):
    """A variant in a new product."""

    model_config = ConfigDict(extra="forbid")

    sku: str = Field(max_length=64, examples=["TEE-RED-M"])
    title: str = Field(max_length=300)
    gtin: str | None = Field(None, max_length=14, description="GTIN-8/12/13/14 (EAN, UPC)")
    mpn: str | None = Field(None, max_length=70)
    condition: str = Field("new", description="new, refurbished or used")
    attributes: dict[str, Any] = Field(default_factory=dict, examples=[{"color": "red"}])
    images: list[str] = Field(default_factory=list, max_length=50)
    cost_price: Decimal = Field(description="what one unit costs you, for margins")
    currency: str = Field(min_length=3, max_length=3, examples=["EUR"])


class VariantPatch(BaseModel):
    """A partial change of a variant; omitted fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, max_length=300)
    gtin: str | None = Field(None, max_length=14)
    mpn: str | None = Field(None, max_length=70)
    condition: str | None = None
    attributes: dict[str, Any] | None = None
    images: list[str] | None = Field(None, max_length=50)
    cost_price: Decimal | None = None
    currency: str | None = Field(None, min_length=3, max_length=3)


class ProductSummary(BaseModel):
    """A product in a list, without its variants."""

    id: str
    handle: str
    title: str
    brand: str | None

    @classmethod
    def of(cls, p: Product) -> ProductSummary:
        """List entry for a domain product."""
        return cls(id=p.id, handle=p.handle, title=p.title, brand=p.brand)


class ProductPage(BaseModel):
    """One page of products; pass `next_after` as `after` for the next page."""

    products: list[ProductSummary]
    next_after: str | None


class ProductIn(BaseModel):
    """A new product with all its variants."""

    model_config = ConfigDict(extra="forbid")

    handle: str = Field(max_length=120, examples=["classic-tee"])
    title: str = Field(max_length=300)
    description: str = Field("", max_length=20000)
    brand: str | None = Field(None, max_length=120)
    attributes: dict[str, Any] = Field(default_factory=dict)
    images: list[str] = Field(default_factory=list, max_length=50)
    variants: list[VariantIn] = Field(max_length=MAX_VARIANTS)


class VariantOut(BaseModel):
    """A stored variant."""

    sku: str
    product_id: str
    title: str
    brand: str | None
    gtin: str | None
    mpn: str | None
    condition: str
    attributes: dict[str, Any]
    images: list[str]
    cost_price: Decimal
    currency: str

    @classmethod
    def of(cls, v: Variant) -> VariantOut:
        """Response body for a domain variant."""
        return cls(sku=v.sku, product_id=v.product_id, title=v.title, brand=v.brand,
                   gtin=v.gtin, mpn=v.mpn, condition=v.condition.value,
                   attributes=v.attributes, images=list(v.images), cost_price=v.cost_price,
                   currency=v.currency)


class ProductOut(BaseModel):
    """A stored product with its variants."""

    id: str
    handle: str
    title: str
    description: str
    brand: str | None
    attributes: dict[str, Any]
    images: list[str]
    variants: list[VariantOut]

    @classmethod
    def of(cls, p: Product, items: list[Variant]) -> ProductOut:
        """Response body for a product and its variants."""
        return cls(id=p.id, handle=p.handle, title=p.title, description=p.description,
                   brand=p.brand, attributes=p.attributes, images=list(p.images),
                   variants=[VariantOut.of(v) for v in items])


class ListingIn(BaseModel):
    """How a variant is offered on a channel; the currency must be the channel's."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(max_length=300)
    description: str = Field("", max_length=20000)
    price: Decimal
    currency: str = Field(min_length=3, max_length=3)
    published: bool = True
    url: str | None = Field(None, max_length=2000, description="product page on the channel")


class ListingOut(BaseModel):
    """A stored listing."""

    channel_id: str
    sku: str
    title: str
    description: str
    price: Decimal
    currency: str
    published: bool
    url: str | None

    @classmethod
    def of(cls, li: Listing) -> ListingOut:
        """Response body for a domain listing."""
        return cls(channel_id=li.channel_id, sku=li.sku, title=li.title,
                   description=li.description, price=li.price, currency=li.currency,
                   published=li.published, url=li.url)


class TierIn(BaseModel):
    """Unit price from `min_quantity` up, for one customer group (omit it for everyone)."""

    model_config = ConfigDict(extra="forbid")

    sku: str = Field(max_length=64)
    customer_group: str | None = Field(None, max_length=64)
    min_quantity: int
    unit_price: Decimal


class PriceListIn(BaseModel):
    """A new B2B price list."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=200)
    currency: str = Field(min_length=3, max_length=3)
    tiers: list[TierIn] = Field(max_length=100_000)


class PriceListOut(BaseModel):
    """A stored price list."""

    id: str
    name: str
    currency: str
    tiers: list[TierIn]

    @classmethod
    def of(cls, pl: PriceList) -> PriceListOut:
        """Response body for a domain price list."""
        return cls(id=pl.id, name=pl.name, currency=pl.currency, tiers=[
            TierIn(sku=t.sku, customer_group=t.customer_group, min_quantity=t.min_quantity,
                   unit_price=t.unit_price) for t in pl.tiers])


class QuoteOut(BaseModel):
    """Unit price, cost and margin of a sku on a channel."""

    channel: str
    sku: str
    quantity: int
    customer_group: str | None
    unit_price: Decimal
    unit_cost: Decimal
    unit_margin: Decimal
    currency: str
