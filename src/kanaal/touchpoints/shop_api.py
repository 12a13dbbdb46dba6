"""The demo shop at /demo/shop: home, category, product, cart and checkout with the snippet."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from kanaal.core.context import AppContext
from kanaal.core.errors import NotFound
from kanaal.core.http import Ctx
from kanaal.touchpoints.domain import pick_language
from kanaal.touchpoints.shop import BY_SKU, CATEGORIES, CURRENCY, PRODUCTS, in_category

HERE = Path(__file__).parent
SHOP_STATIC = HERE / "static" / "shop"
# The shop's own scripts and the snippet come from this origin: no inline script anywhere.
SHOP_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
_TYPES = {".js": "text/javascript", ".css": "text/css"}

router = APIRouter(prefix="/demo/shop", tags=["demo shop"], include_in_schema=False)


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(loader=FileSystemLoader(HERE / "templates"),
                       autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True)


def _page(ctx: AppContext, request: Request, name: str, **values: Any) -> HTMLResponse:
    lang = pick_language(request.query_params.get("lang"))
    html = _env().get_template(f"shop/{name}.html").render(
        write_key=ctx.param("touchpoints.demo_write_key", ""), lang=lang,
        phone_number=ctx.param("touchpoints.phone_number", "+31 20 123 4567"),
        idle_seconds=int(ctx.param("touchpoints.idle_seconds", 45)),
        categories=CATEGORIES, currency=CURRENCY, **values)
    return HTMLResponse(html, headers={"Content-Security-Policy": SHOP_CSP,
                                       "X-Content-Type-Options": "nosniff",
                                       "Cache-Control": "no-store"})


@router.get("")
def home(request: Request, ctx: Ctx) -> HTMLResponse:
    """The demo shop's home page."""
    return _page(ctx, request, "home", page_type="home", featured=PRODUCTS[:3])


@router.get("/c/{category}")
def category(category: str, request: Request, ctx: Ctx) -> HTMLResponse:
    """A category page."""
    if category not in CATEGORIES:
        raise NotFound(f"no category {category!r}", code="unknown_category")
    return _page(ctx, request, "category", page_type="category", category=category,
                 products=in_category(category))


@router.get("/p/{sku}")
def product(sku: str, request: Request, ctx: Ctx) -> HTMLResponse:
    """A product page."""
    found = BY_SKU.get(sku)
    if found is None:
        raise NotFound(f"no product {sku!r}", code="unknown_product")
    return _page(ctx, request, "product", page_type="product", product=found)


@router.get("/cart")
def cart(request: Request, ctx: Ctx) -> HTMLResponse:
    """The cart (filled in the browser from the visit's cart)."""
    return _page(ctx, request, "cart", page_type="cart")


@router.get("/checkout")
def checkout(request: Request, ctx: Ctx) -> HTMLResponse:
    """Checkout: e-mail, offer code and payment."""
    return _page(ctx, request, "checkout", page_type="checkout")


@router.get("/static/{name}")
def static(name: str) -> FileResponse:
    """The shop's script and stylesheet."""
    path = SHOP_STATIC / name
    if path.suffix not in _TYPES or path.parent != SHOP_STATIC or not path.is_file():
        raise NotFound("no such file", code="not_found")
    return FileResponse(path, media_type=_TYPES[path.suffix])
