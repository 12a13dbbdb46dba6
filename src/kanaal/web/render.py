"""Rendering server-side pages: one Jinja2 environment, the shared layout and safe headers."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from kanaal import __version__
from kanaal.core.clock import ensure_utc

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

# Everything comes from this origin: no inline script or style, no CDN, no framing.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def format_when(value: datetime | str | None) -> str:
    """A timestamp as `2026-01-05 09:00 UTC` (ISO strings accepted)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
    else:
        moment = value
    return ensure_utc(moment).strftime("%Y-%m-%d %H:%M UTC")


def format_money(value: Any, currency: str | None = None) -> str:
    """An amount with two decimals and its currency, e.g. `EUR 1,249.00`."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    text = f"{amount:,.2f}"
    return f"{currency} {text}" if currency else text


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The shared Jinja2 environment (autoescaping on, undefined names are errors)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = format_when
    env.filters["money"] = format_money
    env.globals["kanaal_version"] = __version__
    return env


def render_text(name: str, **context: Any) -> str:
    """Render a template to a string."""
    return environment().get_template(name).render(**context)


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a page or fragment as an HTML response with the security headers."""
    values = {"request_path": request.url.path, **(context or {})}
    return HTMLResponse(
        render_text(name, **values), status_code=status_code, headers=SECURITY_HEADERS
    )
