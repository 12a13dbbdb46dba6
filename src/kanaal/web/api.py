"""Static files of the web layer (CSS, JavaScript) under /static, from the installed package."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from kanaal.core.errors import NotFound
from kanaal.web.render import STATIC
from kanaal.web.sse import remember_shutdown

router = APIRouter(tags=["web"], include_in_schema=False)

# Live streams end when the app shuts down: they watch the stop event this worker keeps.
workers = [remember_shutdown]

_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
}


@router.get("/static/{path:path}")
def static_file(path: str) -> FileResponse:
    """A file below web/static; anything outside it or of an unknown type is 404."""
    root = STATIC.resolve()
    target = (root / path).resolve()
    if not target.is_relative_to(root) or not target.is_file() or target.suffix not in _TYPES:
        raise NotFound("no such static file", code="unknown_static_file")
    return FileResponse(
        target,
        media_type=_TYPES[target.suffix],
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )
