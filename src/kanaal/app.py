"""create_app(): mounts every feature's router and maps domain errors to HTTP once."""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kanaal import __version__
from kanaal.config import Settings
from kanaal.core import errors
from kanaal.core.context import AppContext, Worker, build_context
from kanaal.core.outbox import OutboxDispatcher

log = logging.getLogger("kanaal.http")

# Feature API modules, in mounting order. Each has `router`; it may also have `workers`
# (background loops) and `on_startup(ctx)`.
FEATURE_APIS: list[str] = [
    "kanaal.core.admin_api",
    "kanaal.collect.api",
    "kanaal.customers.api",
    "kanaal.channels.api",
    "kanaal.catalog.api",
    "kanaal.catalog.feeds_api",
    "kanaal.analytics.api",
    "kanaal.inventory.api",
    "kanaal.orders.api",
    "kanaal.contact_center.api",
    "kanaal.web.api",
    "kanaal.contact_center.desk_api",
    "kanaal.decisions.api",
    "kanaal.marketing.api",
    "kanaal.touchpoints.api",
    "kanaal.touchpoints.shop_api",
    "kanaal.touchpoints.chat_api",
    "kanaal.stores.api",
    "kanaal.calendars.api",
    "kanaal.publishers.api",
    "kanaal.dashboard.api",
    "kanaal.shop_in_shop.api",
]

_STATUS: list[tuple[type[errors.DomainError], int]] = [
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.Unauthenticated, 401),
    (errors.Forbidden, 403),
    (errors.PayloadTooLarge, 413),
    (errors.RateLimited, 429),
    (errors.Unavailable, 503),
    (errors.InvalidInput, 422),
]


def error_body(code: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    """DESIGN.md's error shape."""
    return {"error": {"code": code, "message": message, "details": details or []}}


def status_for(exc: errors.DomainError) -> int:
    """The HTTP status for a domain error (a `status` attribute on the error wins)."""
    explicit = getattr(exc, "status", None)
    if isinstance(explicit, int):
        return explicit
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 400


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.DomainError)
    headers = {}
    if isinstance(exc, errors.RateLimited):
        headers["Retry-After"] = str(max(1, int(exc.retry_after + 0.999)))
    return JSONResponse(
        error_body(exc.code, exc.message, exc.details), status_code=status_for(exc),
        headers=headers,
    )


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        {"loc": list(err.get("loc", ())), "message": err.get("msg", ""), "type": err.get("type")}
        for err in exc.errors()
    ]
    malformed = any(d["type"] == "json_invalid" for d in details)
    if malformed:
        return JSONResponse(
            error_body("malformed_json", "the body is not valid JSON", details), status_code=400
        )
    first = details[0] if details else {"loc": [], "message": "invalid request"}
    where = ".".join(str(p) for p in first["loc"])
    return JSONResponse(
        error_body("validation_error", f"{where}: {first['message']}", details), status_code=422
    )


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(
        error_body(code, str(exc.detail)), status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


async def _unexpected_error(_request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", exc_info=exc)
    return JSONResponse(error_body("internal_error", "internal server error"), status_code=500)


class RequestLogMiddleware:
    """One structured line per request: method, path, status, duration. No headers, no bodies."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            if log.isEnabledFor(logging.INFO):
                principal = scope.get("state", {}).get("principal")
                log.info(
                    "request",
                    extra={
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "ms": round((time.perf_counter() - started) * 1000, 2),
                        "source": getattr(principal, "source_name", None),
                    },
                )


def create_app(settings: Settings | None = None, *, ctx: AppContext | None = None) -> FastAPI:
    """Build the Kanaal ASGI app. Pass `ctx` to inject a clock, ids or live store in tests."""
    context = ctx or build_context(settings or Settings())
    modules = [importlib.import_module(name) for name in FEATURE_APIS]
    dispatcher = OutboxDispatcher(context.db, context.clock)
    context.state["outbox"] = dispatcher

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if context.settings.auto_migrate:
            from kanaal.migrations.runner import upgrade

            await asyncio.to_thread(upgrade, context.db)
        for module in modules:
            hook = getattr(module, "on_startup", None)
            if hook is not None:
                hook(context)
        # Everything built so far (modules, routes, schemas) lives as long as the process:
        # keep it out of the collector's full passes, which otherwise pause every request.
        if context.settings.gc_freeze:
            gc.collect()
            gc.freeze()
        stop = asyncio.Event()
        workers: list[Worker] = [lambda _ctx, stop_event: dispatcher.run(stop_event)]
        for module in modules:
            workers.extend(getattr(module, "workers", []))
        if not context.settings.run_workers:
            workers = []
        tasks = [asyncio.create_task(worker(context, stop)) for worker in workers]
        try:
            yield
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            for module in modules:
                hook = getattr(module, "on_shutdown", None)
                if hook is not None:
                    hook(context)

    app = FastAPI(
        title="Kanaal",
        version=__version__,
        description="Omnichannel sales hub: event intake, customers, commerce, contact center "
        "and the next-best-channel engine.",
        lifespan=lifespan,
    )
    app.state.ctx = context
    app.add_middleware(RequestLogMiddleware)
    for module in modules:  # e.g. CORS for the browser endpoints (touchpoints)
        for middleware in getattr(module, "middleware", []):
            app.add_middleware(middleware)
    app.add_exception_handler(errors.DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok", "version": __version__}

    for module in modules:
        app.include_router(module.router)
    return app
