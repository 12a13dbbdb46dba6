"""QR codes (/v1/qr-codes, /q/{token}), the mobile product page (/m/p/{sku}) and presence."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Cookie, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2.utils import markupsafe

from kanaal.core.errors import DomainError, NotFound
from kanaal.core.http import AnyKey, Ctx, ReadKey, WriteKey
from kanaal.stores import service
from kanaal.stores.domain import AID_COOKIE, AID_MAX_AGE
from kanaal.stores.pages import render_product
from kanaal.stores.schemas import (
    PresenceIn,
    PresenceOut,
    QrCodeIn,
    QrCodeOut,
    ScanListOut,
    ScanOut,
)

router = APIRouter(tags=["stores"])
_IMAGE = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}


@router.post("/v1/qr-codes", status_code=201, response_model=QrCodeOut)
def create_code(body: QrCodeIn, ctx: Ctx, _key: WriteKey) -> dict[str, object]:
    """A QR code for a product in a store, encoding the short link /q/{token}."""
    code = service.create_code(ctx, **body.model_dump())
    return service.code_json(ctx, code)


@router.get("/v1/qr-codes/{token}", response_model=QrCodeOut)
def get_code(token: str, ctx: Ctx, _key: ReadKey) -> dict[str, object]:
    """One QR code."""
    return service.code_json(ctx, service.get_code(ctx, token))


@router.get("/v1/qr-codes/{token}/qr.{kind}", responses={200: {"content": {
    "image/png": {}, "image/svg+xml": {}}}})
def code_image(token: str, kind: str, ctx: Ctx) -> Response:
    """The code as PNG or SVG (public: it only encodes a public link)."""
    if kind not in {"png", "svg"}:
        raise NotFound("images are qr.png or qr.svg", code="unknown_format")
    return Response(service.code_image(ctx, token, kind), media_type=_IMAGE[kind],
                    headers={"Cache-Control": "public, max-age=86400"})


@router.get("/v1/qr-codes/{token}/scans", response_model=ScanListOut)
def scans(token: str, ctx: Ctx, _key: ReadKey) -> dict[str, object]:
    """Scans of one code, oldest first."""
    return {"scans": service.scans_of_code(ctx, token)}


@router.get("/v1/qr-scans/{scan_id}", response_model=ScanOut)
def get_scan(scan_id: str, ctx: Ctx, _key: ReadKey) -> dict[str, object]:
    """One scan with the engine's answer."""
    return service.scan_json(ctx, scan_id)


@router.get("/v1/stores/{store_id}/qr-sheet.{kind}", responses={200: {"content": {
    "application/pdf": {}, "image/png": {}}}})
def sheet(store_id: str, kind: str, ctx: Ctx, _key: ReadKey) -> Response:
    """The store's printable sheet of codes: PDF, or its first page as PNG."""
    if kind not in {"pdf", "png"}:
        raise NotFound("sheets are qr-sheet.pdf or qr-sheet.png", code="unknown_format")
    return Response(service.store_sheet(ctx, store_id, kind), media_type=_IMAGE[kind])


@router.post("/v1/stores/presence", status_code=201, response_model=PresenceOut)
def presence(body: PresenceIn, ctx: Ctx, _key: AnyKey) -> dict[str, object]:
    """Store Entered / Store Left, accepted only with the customer's consent (else 403)."""
    return service.record_presence(ctx, body.model_dump())


@router.get("/q/{token}", include_in_schema=False)
def scan(token: str, request: Request, ctx: Ctx,
         kanaal_aid: Annotated[str | None, Cookie()] = None) -> Response:
    """A scanned short link: record, stitch, ask the engine, redirect to the product page."""
    try:
        target, anonymous_id = service.scan(ctx, token, cookie=kanaal_aid)
    except DomainError as exc:
        return _error_page(exc)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(AID_COOKIE, anonymous_id, max_age=AID_MAX_AGE, path="/",
                        samesite="lax", secure=request.url.scheme == "https")
    return response


@router.get("/m/p/{sku}", include_in_schema=False)
def product_page(sku: str, ctx: Ctx,
                 store: Annotated[str | None, Query(max_length=40)] = None,
                 scan: Annotated[str | None, Query(max_length=40)] = None) -> Response:
    """The mobile product page with the store in context and the engine's action."""
    try:
        page = service.product_page(ctx, sku, store, scan)
    except DomainError as exc:
        return _error_page(exc)
    return HTMLResponse(render_product(page), headers={"Cache-Control": "no-store"})


def _error_page(exc: DomainError) -> HTMLResponse:
    from kanaal.app import status_for

    message = markupsafe.escape(exc.message)
    html = (f'<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width, initial-scale=1"><title>Not available</title></head>'
            f'<body><h1>This code cannot be used</h1><p data-code="{exc.code}">{message}</p>'
            f"</body></html>")
    return HTMLResponse(html, status_code=status_for(exc))
