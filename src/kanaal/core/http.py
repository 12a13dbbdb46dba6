"""FastAPI dependencies shared by every feature's api.py: context, principals, idempotency."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Header, Request

from kanaal.core.auth import Principal, Scope, key_from_basic, key_from_bearer
from kanaal.core.context import AppContext
from kanaal.core.errors import PayloadTooLarge, Unauthenticated
from kanaal.core.idempotency import validate_key


async def read_capped(request: Request, limit: int, *, code: str = "body_too_large") -> bytes:
    """The raw body, refusing (413 `code`) to buffer more than `limit` bytes: a declared
    Content-Length over it is refused before reading, a streamed body as soon as it passes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body is over the limit of {limit} bytes", code=code)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body is over the limit of {limit} bytes", code=code)
        chunks.append(chunk)
    return b"".join(chunks)


def get_ctx(request: Request) -> AppContext:
    """The application context created by create_app()."""
    ctx: AppContext = request.app.state.ctx
    return ctx


Ctx = Annotated[AppContext, Depends(get_ctx)]


def key_from_header(authorization: str | None) -> str:
    """The raw key of `Authorization: Bearer KEY` or `Basic base64(KEY:)`."""
    if not authorization:
        raise Unauthenticated("missing Authorization header", code="missing_credentials")
    if authorization.lower().startswith("basic "):
        return key_from_basic(authorization)
    return key_from_bearer(authorization)


def principal_from_header(ctx: AppContext, authorization: str | None) -> Principal:
    """Resolve `Authorization: Bearer KEY` or `Basic base64(KEY:)` to a principal."""
    return ctx.keys.authenticate(key_from_header(authorization))


def require_scope(scope: Scope) -> Callable[..., Principal]:
    """Dependency: a secret key holding `scope`."""

    def dependency(request: Request, ctx: Ctx) -> Principal:
        principal = principal_from_header(ctx, request.headers.get("authorization"))
        principal.require(scope)
        request.state.principal = principal
        return principal

    return dependency


def any_key(request: Request, ctx: Ctx) -> Principal:
    """Dependency: any valid key, write or secret (browser-facing endpoints)."""
    principal = principal_from_header(ctx, request.headers.get("authorization"))
    request.state.principal = principal
    return principal


ReadKey = Annotated[Principal, Depends(require_scope(Scope.READ))]
WriteKey = Annotated[Principal, Depends(require_scope(Scope.WRITE))]
AdminKey = Annotated[Principal, Depends(require_scope(Scope.ADMIN))]
AnyKey = Annotated[Principal, Depends(any_key)]


def idempotency_key(
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> str | None:
    """The validated Idempotency-Key header, if any."""
    return validate_key(idempotency_key)


IdempotencyKey = Annotated[str | None, Depends(idempotency_key)]
