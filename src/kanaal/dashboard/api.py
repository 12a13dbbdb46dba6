"""The real-time dashboard: /dashboard (page), /dashboard/data (JSON), plotly.js (local)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from kanaal.contact_center.desk_session import require_agent_or_read_key
from kanaal.core.http import Ctx
from kanaal.dashboard.service import overview
from kanaal.web.render import render

router = APIRouter(prefix="/dashboard", tags=["dashboard"], include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def page(request: Request) -> HTMLResponse:
    """The dashboard shell; its script reads /dashboard/data every two seconds."""
    return render(request, "dashboard/index.html")


@router.get("/data")
def data(request: Request, ctx: Ctx) -> dict[str, Any]:
    """The live figures (a desk session or a read key)."""
    require_agent_or_read_key(ctx, request)
    return overview(ctx)


@lru_cache(maxsize=1)
def _plotly_js() -> bytes:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs().encode()


@router.get("/plotly.js")
def plotly_js() -> Response:
    """plotly.js from the installed plotly package (never a CDN)."""
    return Response(_plotly_js(), media_type="text/javascript",
                    headers={"Cache-Control": "public, max-age=86400"})
