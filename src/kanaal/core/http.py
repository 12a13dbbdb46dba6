"""FastAPI dependencies shared by every feature's api.py: context, principals, idempotency."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Header, Request

from kanaal.core.auth import Principal, Scope, key_from_basic, key_from_bearer
from kanaal.core.context import AppContext
from kanaal.core.errors import Unauthenticated
from kanaal.core.idempotency import validate_key


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
