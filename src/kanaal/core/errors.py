"""Domain errors shared by every feature; app.py maps them to HTTP once."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A rule was broken; `code` is stable and machine readable, `message` is for people."""

    code = "domain_error"

    def __init__(
        self, message: str, *, code: str | None = None, details: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details: list[dict[str, Any]] = details or []


class InvalidInput(DomainError):
    """The request is well formed but its content breaks a rule (HTTP 400/422)."""

    code = "invalid_input"


class NotFound(DomainError):
    """The thing asked for does not exist (HTTP 404)."""

    code = "not_found"


class Conflict(DomainError):
    """The request clashes with the current state (HTTP 409)."""

    code = "conflict"


class Unauthenticated(DomainError):
    """No valid credential was given (HTTP 401)."""

    code = "unauthenticated"


class Forbidden(DomainError):
    """The credential is valid but may not do this (HTTP 403)."""

    code = "forbidden"


class PayloadTooLarge(DomainError):
    """The body or one of its parts is over a documented limit (HTTP 413)."""

    code = "payload_too_large"


class RateLimited(DomainError):
    """Too many requests for this key; retry after `retry_after` seconds (HTTP 429)."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(DomainError):
    """A dependency is down or the system is shutting down (HTTP 503)."""

    code = "unavailable"
