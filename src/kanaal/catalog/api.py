"""Catalog endpoints: products, variants, channel listings, price lists and price quotes."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response, status

from kanaal.catalog import listing_service, service
from kanaal.catalog.schemas import (
    ListingIn,
    ListingOut,
    PriceListIn,
    PriceListOut,
    ProductIn,
    ProductOut,
    ProductPage,
    ProductSummary,
    QuoteOut,
    VariantOut,
    VariantPatch,
)
from kanaal.core.http import Ctx, ReadKey, WriteKey

router = APIRouter(prefix="/v1", tags=["catalog"])


@router.post("/products", status_code=status.HTTP_201_CREATED, response_model=ProductOut)
def create_product(body: ProductIn, ctx: Ctx, _principal: WriteKey) -> ProductOut:
    """Create a product with its variants in one call (all or nothing)."""
    product, items = service.create_product(ctx, body.model_dump())
    return ProductOut.of(product, items)


@router.get("/products", response_model=ProductPage)
def list_products(ctx: Ctx, _principal: ReadKey,
                  after: str | None = Query(None, max_length=120, description="last handle seen"),
                  limit: int = Query(50, ge=1, le=500)) -> ProductPage:
    """Products by handle, a page at a time."""
    page = service.list_products(ctx, after=after, limit=limit)
    return ProductPage(products=[ProductSummary.of(p) for p in page],
                       next_after=page[-1].handle if len(page) == limit else None)


@router.get("/products/{product_id}", response_model=ProductOut)
def get_product(product_id: str, ctx: Ctx, _principal: ReadKey) -> ProductOut:
    """A product with its variants."""
    return ProductOut.of(*service.get_product(ctx, product_id))


@router.get("/variants/{sku:path}", response_model=VariantOut)
def get_variant(sku: str, ctx: Ctx, _principal: ReadKey) -> VariantOut:
    """One variant by sku."""
    return VariantOut.of(service.get_variant(ctx, sku))


@router.patch("/variants/{sku:path}", response_model=VariantOut)
def change_variant(sku: str, body: VariantPatch, ctx: Ctx, _principal: WriteKey) -> VariantOut:
    """Change some of a variant's fields (cost price, gtin, ...)."""
    return VariantOut.of(service.change_variant(ctx, sku, body.model_dump(exclude_unset=True)))


@router.put("/listings/{channel}/{sku:path}", response_model=ListingOut,
            responses={201: {"description": "created"}, 200: {"description": "replaced"}})
def put_listing(channel: str, sku: str, body: ListingIn, response: Response, ctx: Ctx,
                _principal: WriteKey) -> ListingOut:
    """Create (201) or replace (200) how a sku is offered on a channel."""
    listing, created = listing_service.put_listing(ctx, channel, sku, body.model_dump())
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return ListingOut.of(listing)


@router.get("/listings/{channel}/{sku:path}", response_model=ListingOut)
def get_listing(channel: str, sku: str, ctx: Ctx, _principal: ReadKey) -> ListingOut:
    """How a sku is offered on a channel."""
    return ListingOut.of(listing_service.get_listing(ctx, channel, sku))


@router.post("/price-lists", status_code=status.HTTP_201_CREATED, response_model=PriceListOut)
def create_price_list(body: PriceListIn, ctx: Ctx, _principal: WriteKey) -> PriceListOut:
    """Create a B2B price list with quantity tiers per customer group."""
    return PriceListOut.of(listing_service.create_price_list(ctx, body.model_dump()))


@router.get("/price-lists/{price_list_id}", response_model=PriceListOut)
def get_price_list(price_list_id: str, ctx: Ctx, _principal: ReadKey) -> PriceListOut:
    """A price list with its tiers."""
    return PriceListOut.of(listing_service.get_price_list(ctx, price_list_id))


@router.get("/prices/{channel}/{sku:path}", response_model=QuoteOut)
def get_price(channel: str, sku: str, ctx: Ctx, _principal: ReadKey,
              quantity: int = Query(1, ge=1, le=1_000_000),
              customer_group: str | None = Query(None, max_length=64)) -> QuoteOut:
    """Unit price (listing or B2B tier), unit cost and unit margin for a quantity and group."""
    price, cost, margin = listing_service.quote(ctx, channel, sku, quantity=quantity,
                                                customer_group=customer_group)
    return QuoteOut(channel=channel, sku=sku, quantity=quantity, customer_group=customer_group,
                    unit_price=price.amount, unit_cost=cost.amount, unit_margin=margin.amount,
                    currency=price.currency)
