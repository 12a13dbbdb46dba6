"""CORS for the browser endpoints: configured shop origins only; others get a clear 403."""

from __future__ import annotations

import json

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kanaal.core.context import AppContext
from kanaal.touchpoints.domain import (
    ALLOWED_HEADERS,
    ALLOWED_METHODS,
    is_browser_path,
    origin_allowed,
)


def _own_origin(scope: Scope, headers: Headers) -> str:
    scheme = "https" if scope.get("scheme") in {"https", "wss"} else "http"
    return f"{scheme}://{headers.get('host', '')}"


class BrowserCors:
    """Answers preflights and adds CORS headers for allowed origins; refuses the rest (403)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_browser_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        ctx: AppContext = scope["app"].state.ctx
        if not origin_allowed(origin, _own_origin(scope, headers), ctx.settings.cors_origins):
            await _refuse(send, origin)
            return
        cors = [(b"access-control-allow-origin", origin.encode("latin-1")),
                (b"vary", b"Origin")]
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await send({"type": "http.response.start", "status": 204, "headers": cors + [
                (b"access-control-allow-methods", ALLOWED_METHODS.encode()),
                (b"access-control-allow-headers", ALLOWED_HEADERS.encode()),
                (b"access-control-max-age", b"600")]})
            await send({"type": "http.response.body", "body": b""})
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + cors
            await send(message)

        await self.app(scope, receive, with_cors)


async def _refuse(send: Send, origin: str) -> None:
    body = json.dumps({"error": {
        "code": "origin_not_allowed",
        "message": f"the origin {origin[:200]} may not call Kanaal from a browser; "
                   "add it to KANAAL_CORS_ORIGINS",
        "details": []}}).encode()
    # The refusal carries the origin so the widget can read and show the reason.
    await send({"type": "http.response.start", "status": 403, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"Origin")]})
    await send({"type": "http.response.body", "body": body})
