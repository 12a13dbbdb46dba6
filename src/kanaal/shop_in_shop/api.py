"""Shop-in-shop: brands (/v1/shop-in-shop), the themed page (/shop-in-shop/{brand})."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import HTMLResponse
from pydantic import AwareDatetime

from kanaal.core.http import AnyKey, Ctx, IdempotencyKey, ReadKey, WriteKey
from kanaal.shop_in_shop import service
from kanaal.shop_in_shop.domain import Brand
from kanaal.shop_in_shop.page import render
from kanaal.shop_in_shop.schemas import (
    BrandIn,
    BrandOut,
    OrderIn,
    QuestionIn,
    QuestionOut,
    ReportOut,
)

router = APIRouter(tags=["shop-in-shop"])


def _out(ctx: Ctx, brand: Brand) -> dict[str, Any]:
    fields = {name: getattr(brand, name) for name in Brand.__slots__}
    return {**fields, "skus": list(brand.skus),
            "page_url": f"{ctx.settings.public_base_url.rstrip('/')}/shop-in-shop/{brand.handle}"}


@router.post("/v1/shop-in-shop", status_code=201, response_model=BrandOut)
def create_brand(body: BrandIn, ctx: Ctx, _key: WriteKey) -> dict[str, Any]:
    """A brand section: channel, question queue, theme, copy and assortment."""
    return _out(ctx, service.create_brand(ctx, body.model_dump()))


@router.get("/v1/shop-in-shop", response_model=list[BrandOut])
def list_brands(ctx: Ctx, _key: ReadKey) -> list[dict[str, Any]]:
    """Every brand section."""
    return [_out(ctx, b) for b in service.list_brands(ctx)]


@router.get("/v1/shop-in-shop/{brand}/report", response_model=ReportOut)
def report(brand: str, ctx: Ctx, _key: ReadKey,
           since: Annotated[AwareDatetime | None, Query(description="period start")] = None,
           until: Annotated[AwareDatetime | None, Query(description="period end (excl.)")] = None,
           ) -> dict[str, Any]:
    """Contacts, conversions and revenue of every order in the period, for both parties."""
    return service.report(ctx, brand, since=since, until=until)


@router.post("/v1/shop-in-shop/{brand}/questions", status_code=201, response_model=QuestionOut)
def ask(brand: str, body: QuestionIn, ctx: Ctx, _key: AnyKey) -> dict[str, Any]:
    """A presales question, queued for agents with skill brand:<brand>."""
    return service.ask_question(ctx, brand, body.model_dump())


@router.post("/v1/shop-in-shop/{brand}/orders", status_code=201)
def order(brand: str, body: OrderIn, ctx: Ctx, _key: AnyKey,
          idempotency_key: IdempotencyKey) -> dict[str, Any]:
    """An order in the section: credited to the retailer, attributed to the brand."""
    return service.place_order(ctx, brand, body.model_dump(), idempotency_key)


@router.get("/shop-in-shop/{brand}", include_in_schema=False)
def page(brand: str, ctx: Ctx) -> Response:
    """The embeddable themed page (frame-ancestors: Kanaal and KANAAL_CORS_ORIGINS)."""
    ancestors = " ".join(["'self'", *ctx.settings.cors_origins])
    return HTMLResponse(render(service.page(ctx, brand)), headers={
        "Content-Security-Policy": f"frame-ancestors {ancestors}", "Cache-Control": "no-store"})
