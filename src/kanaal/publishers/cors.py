"""CORS for the publisher tag's endpoints: configured publisher origins only (else 403)."""

from __future__ import annotations

import json

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kanaal.core.context import AppContext
from kanaal.touchpoints.domain import origin_allowed

PREFIX = "/v1/publisher/"
METHODS = b"GET, POST, OPTIONS"
HEADERS = b"Authorization, Content-Type"


class PublisherCors:
    """Answers preflights and adds CORS headers for origins in KANAAL_CORS_ORIGINS."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        ctx: AppContext = scope["app"].state.ctx
        own = f"{scope.get('scheme', 'http')}://{headers.get('host', '')}"
        cors = [(b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"Origin")]
        if not origin_allowed(origin, own, ctx.settings.cors_origins):
            body = json.dumps({"error": {
                "code": "origin_not_allowed", "details": [],
                "message": f"the origin {origin[:200]} may not call Kanaal from a browser; "
                           "add it to KANAAL_CORS_ORIGINS"}}).encode()
            await send({"type": "http.response.start", "status": 403, "headers": cors + [
                (b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": body})
            return
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await send({"type": "http.response.start", "status": 204, "headers": cors + [
                (b"access-control-allow-methods", METHODS),
                (b"access-control-allow-headers", HEADERS), (b"access-control-max-age", b"600")]})
            await send({"type": "http.response.body", "body": b""})
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + cors
            await send(message)

        await self.app(scope, receive, with_cors)
