"""The snippet (/sdk/kanaal.js, /sdk/widgets.css) and the widget endpoints under /v1/touchpoints."""

from __future__ import annotations

import gzip
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from kanaal.core.errors import NotFound
from kanaal.core.http import AnyKey, Ctx, IdempotencyKey
from kanaal.touchpoints import service
from kanaal.touchpoints.cors import BrowserCors
from kanaal.touchpoints.schemas import (
    OfferCodeIn,
    OfferCodeOut,
    WidgetCallbackIn,
    WidgetCallbackOut,
)

STATIC = Path(__file__).parent / "static"
_TYPES = {"kanaal.js": "text/javascript; charset=utf-8", "widgets.css": "text/css; charset=utf-8",
          "desk/desk-chat.js": "text/javascript; charset=utf-8",
          "desk/desk-chat.css": "text/css; charset=utf-8"}

router = APIRouter(tags=["touchpoints"])
# Added to the app by create_app (CORS for the browser endpoints of every feature).
middleware = [BrowserCors]


@lru_cache(maxsize=4)
def _asset(name: str) -> tuple[bytes, bytes]:
    raw = (STATIC / name).read_bytes()
    return raw, gzip.compress(raw, compresslevel=9, mtime=0)


def _serve(name: str, request: Request) -> Response:
    raw, packed = _asset(name)
    headers = {"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff",
               "Cross-Origin-Resource-Policy": "cross-origin", "Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(packed, media_type=_TYPES[name],
                        headers={**headers, "Content-Encoding": "gzip"})
    return Response(raw, media_type=_TYPES[name], headers=headers)


@router.get("/sdk/kanaal.js", include_in_schema=False)
def snippet(request: Request) -> Response:
    """The browser SDK (gzip when accepted)."""
    return _serve("kanaal.js", request)


@router.get("/sdk/widgets.css", include_in_schema=False)
def widget_styles(request: Request) -> Response:
    """The widgets' stylesheet (CSS variables to restyle)."""
    return _serve("widgets.css", request)


@router.get("/sdk/desk/{name}", include_in_schema=False)
def desk_asset(name: str, request: Request) -> Response:
    """The desk chat page's script and stylesheet."""
    if f"desk/{name}" not in _TYPES:
        raise NotFound("no such file", code="not_found")
    return _serve(f"desk/{name}", request)


@router.post("/v1/touchpoints/callbacks", status_code=201, response_model=WidgetCallbackOut)
async def request_callback(body: WidgetCallbackIn, ctx: Ctx, _key: AnyKey,
                           idempotency_key: IdempotencyKey,
                           response: Response) -> dict[str, object]:
    """Queue a callback from the callback widget (browser write key)."""
    result, replayed = await run_in_threadpool(
        service.request_callback, ctx, body.model_dump(mode="json", exclude_none=True),
        idempotency_key)
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return result


@router.post("/v1/touchpoints/offer-codes/validate", response_model=OfferCodeOut)
def validate_offer_code(body: OfferCodeIn, ctx: Ctx, _key: AnyKey) -> dict[str, object]:
    """Check an offer code at checkout: the discount, or 404/409/422 with a code."""
    return service.check_offer_code(ctx, body.model_dump(mode="json"))
