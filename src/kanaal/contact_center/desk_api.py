"""Agent desk pages (/desk): sign-in, state, callback queue, customer panel, outcome, live SSE."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from kanaal.app import status_for
from kanaal.contact_center import desk_session, desk_views
from kanaal.core.context import AppContext
from kanaal.core.errors import DomainError, Forbidden, InvalidInput, RateLimited, Unauthenticated
from kanaal.core.http import Ctx
from kanaal.web.render import SECURITY_HEADERS, render
from kanaal.web.session import WebSession, check_csrf
from kanaal.web.sse import live_events

router = APIRouter(prefix="/desk", tags=["agent desk"], include_in_schema=False)

CsrfField = Annotated[str, Form(max_length=200)]
LOGIN = "/desk/login"
# Notices named in the redirect's query string; their text lives here, never in the URL.
NOTICES = {
    "outcome_logged": ("Outcome logged. Thank you!", "success"),
    "queue_empty": ("No callback is waiting for you right now.", "info"),
    "signed_out": ("You are signed out.", "info"),
    "retry_scheduled": ("Not reached: the callback is back in the queue for a later try.",
                        "info"),
    "callback_failed": ("Not reached: the callback has no attempts left and is closed.", "info"),
}


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def _web_session(ctx: AppContext, request: Request) -> WebSession | None:
    return desk_session.codec(ctx).from_request(request)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _notice(code: str | None) -> tuple[str | None, str]:
    message, kind = NOTICES.get(code or "", (None, "info"))
    return message, kind


def _login_page(
    ctx: AppContext, request: Request, *, session: WebSession | None = None,
    error: str | None = None, info: str | None = None, email: str = "", status_code: int = 200,
) -> HTMLResponse:
    session = session or WebSession.anonymous()
    response = render(
        request, "desk/login.html",
        {"agent": None, "csrf_token": session.csrf, "error": error, "info": info, "email": email},
        status_code=status_code,
    )
    desk_session.codec(ctx).attach(response, request, session)
    return response


def _error_page(request: Request, exc: DomainError, status_code: int) -> HTMLResponse:
    return render(
        request, "error.html",
        {"heading": "That did not work", "message": exc.message, "back_url": "/desk",
         "back_label": "Back to the desk"},
        status_code=status_code,
    )


# ---------------------------------------------------------------- sign in and out


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, ctx: Ctx, notice: str | None = None) -> Response:
    """The sign-in form (signed-in agents go straight to the desk)."""
    if desk_session.signed_in(ctx, request) is not None:
        return _see_other("/desk")
    existing = _web_session(ctx, request)
    return _login_page(ctx, request, session=existing, info=_notice(notice)[0])


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    ctx: Ctx,
    csrf_token: CsrfField = "",
    email: Annotated[str, Form(max_length=desk_session.MAX_EMAIL)] = "",
    password: Annotated[str, Form(max_length=desk_session.MAX_PASSWORD)] = "",
) -> Response:
    """Check the email and password; on success start a session and open the desk."""
    before = _web_session(ctx, request)
    try:
        check_csrf(before, csrf_token)
        desk_session.check_rate(ctx, email=email, client=_client(request))
        agent_id = desk_session.authenticate(ctx, email=email, password=password)
    except Forbidden as exc:
        return _login_page(ctx, request, error=exc.message, email=email, status_code=403)
    except RateLimited as exc:
        page = _login_page(ctx, request, session=before, error=exc.message, email=email,
                           status_code=429)
        page.headers["Retry-After"] = str(max(1, int(exc.retry_after + 0.999)))
        return page
    except Unauthenticated:
        return _login_page(ctx, request, session=before, error="Wrong email or password.",
                           email=email, status_code=401)
    session = desk_session.open_session(ctx, before, agent_id)
    response = _see_other("/desk")
    desk_session.codec(ctx).attach(response, request, session)
    return response


@router.post("/logout")
def logout(request: Request, ctx: Ctx, csrf_token: CsrfField = "") -> Response:
    """End the session (the agent goes offline when their state allows it)."""
    current = desk_session.signed_in(ctx, request)
    if current is None:
        return _see_other(LOGIN)
    session, agent_id = current
    try:
        check_csrf(session, csrf_token)
    except Forbidden as exc:
        return _error_page(request, exc, 403)
    desk_views.go_offline(ctx, agent_id)
    desk_session.close_session(ctx, session)
    response = _see_other(f"{LOGIN}?notice=signed_out")
    desk_session.codec(ctx).clear(response, request)
    return response


# ---------------------------------------------------------------- the desk


@router.get("", response_class=HTMLResponse)
def desk(request: Request, ctx: Ctx, notice: str | None = None) -> Response:
    """The desk: the agent's state, the callback queue and "accept next"."""
    current = desk_session.signed_in(ctx, request)
    if current is None:
        return _see_other(LOGIN)
    session, agent_id = current
    message, kind = _notice(notice)
    values = desk_views.desk_context(ctx, agent_id)
    values.update(csrf_token=session.csrf, message=message, message_kind=kind)
    return render(request, "desk/index.html", values)


@router.get("/partials/{part}", response_class=HTMLResponse)
def partial(part: str, request: Request, ctx: Ctx) -> Response:
    """A fragment of the desk (status or queue) that desk.js swaps in on a live update."""
    current = desk_session.signed_in(ctx, request)
    if current is None:
        return Response(status_code=401, headers=SECURITY_HEADERS)
    templates = {"status": "desk/_status.html", "queue": "desk/_queue.html"}
    if part not in templates:
        return Response(status_code=404, headers=SECURITY_HEADERS)
    session, agent_id = current
    values = desk_views.desk_context(ctx, agent_id, queue=part == "queue")
    values["csrf_token"] = session.csrf
    return render(request, templates[part], values)


@router.post("/state")
def change_state(
    request: Request, ctx: Ctx, csrf_token: CsrfField = "",
    state: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Set the agent's state (available, away, wrap_up, offline)."""
    current = desk_session.signed_in(ctx, request)
    if current is None:
        return _see_other(LOGIN)
    session, agent_id = current
    try:
        check_csrf(session, csrf_token)
        desk_views.change_state(ctx, agent_id, state)
    except DomainError as exc:
        return _desk_with_error(ctx, request, session, agent_id, exc)
    return _see_other("/desk")


@router.post("/accept")
def accept_next(request: Request, ctx: Ctx, csrf_token: CsrfField = "") -> Response:
    """Take the next callback for this agent and open its customer panel."""
    current = desk_session.signed_in(ctx, request)
    if current is None:
        return _see_other(LOGIN)
    session, agent_id = current
    try:
        check_csrf(session, csrf_token)
        interaction_id = desk_views.accept_next(ctx, agent_id)
    except DomainError as exc:
        return _desk_with_error(ctx, request, session, agent_id, exc)
    if interaction_id is None:
        return _see_other("/desk?notice=queue_empty")
    return _see_other(f"/desk/interactions/{interaction_id}")


def _desk_with_error(
    ctx: AppContext, request: Request, session: WebSession, agent_id: str, exc: DomainError
) -> HTMLResponse:
    values = desk_views.desk_context(ctx, agent_id)
    values.update(csrf_token=session.csrf, message=exc.message, message_kind="error")
    return render(request, "desk/index.html", values, status_code=status_for(exc))


# ---------------------------------------------------------------- customer panel and outcome


@router.get("/interactions/{interaction_id}", response_class=HTMLResponse)
def interaction_page(interaction_id: str, request: Request, ctx: Ctx) -> Response:
    """The customer panel of one of the agent's calls, with the outcome form."""
    current = desk_session.signed_in(ctx, request)
    if current is None:
        return _see_other(LOGIN)
    session, agent_id = current
    try:
        values = desk_views.interaction_context(ctx, agent_id, interaction_id)
    except DomainError as exc:
        return _error_page(request, exc, status_for(exc))
    values.update(csrf_token=session.csrf, message=None, message_kind="info", form={}, errors={})
    return render(request, "desk/interaction.html", values)


@router.post("/interactions/{interaction_id}/outcome")
def log_outcome(
    interaction_id: str,
    request: Request,
    ctx: Ctx,
    csrf_token: CsrfField = "",
    outcome: Annotated[str, Form(max_length=40)] = "",
    sale_value: Annotated[str, Form(max_length=40)] = "",
    upsell_value: Annotated[str, Form(max_length=40)] = "",
    quote: Annotated[str, Form(max_length=40)] = "",
    notes: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Log how the call ended; the form comes back with messages when something is wrong."""
    current = desk_session.signed_in(ctx, request)
    if current is None:
        return _see_other(LOGIN)
    session, agent_id = current
    form = {"outcome": outcome, "sale_value": sale_value, "upsell_value": upsell_value,
            "quote": quote, "notes": notes}
    try:
        check_csrf(session, csrf_token)
        desk_views.log_outcome(ctx, agent_id, interaction_id, form)
    except DomainError as exc:
        return _interaction_with_error(ctx, request, session, agent_id, interaction_id, exc, form)
    return _see_other("/desk?notice=outcome_logged")


@router.post("/interactions/{interaction_id}/not-reached")
def not_reached(
    interaction_id: str,
    request: Request,
    ctx: Ctx,
    csrf_token: CsrfField = "",
    reason: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """The customer did not answer: the callback goes back in the queue or, out of tries, fails."""
    current = desk_session.signed_in(ctx, request)
    if current is None:
        return _see_other(LOGIN)
    session, agent_id = current
    try:
        check_csrf(session, csrf_token)
        callback = desk_views.not_reached(ctx, agent_id, interaction_id, reason)
    except DomainError as exc:
        return _interaction_with_error(ctx, request, session, agent_id, interaction_id, exc, {})
    notice = "retry_scheduled" if callback.status.value == "queued" else "callback_failed"
    return _see_other(f"/desk?notice={notice}")


def _interaction_with_error(
    ctx: AppContext, request: Request, session: WebSession, agent_id: str, interaction_id: str,
    exc: DomainError, form: dict[str, str],
) -> HTMLResponse:
    try:
        values = desk_views.interaction_context(ctx, agent_id, interaction_id)
    except DomainError as missing:
        return _error_page(request, missing, status_for(missing))
    values.update(csrf_token=session.csrf, message=exc.message, message_kind="error",
                  form=form, errors=_field_errors(exc))
    return render(request, "desk/interaction.html", values, status_code=status_for(exc))


def _field_errors(exc: DomainError) -> dict[str, str]:
    if not isinstance(exc, InvalidInput):
        return {}
    return {str(d.get("field")): str(d.get("message")) for d in exc.details if d.get("field")}


# ---------------------------------------------------------------- live updates


def _select(message: Any) -> tuple[str, dict[str, Any]] | None:
    # Only the kind of change crosses to the browser; the page fetches what it may see.
    if not isinstance(message, dict):
        return None
    return "contact_center", {"type": str(message.get("type", "changed"))[:60]}


@router.get("/events")
def events(request: Request, ctx: Ctx) -> Response:
    """Server-sent events: a `contact_center` event whenever queues or agents change."""
    if desk_session.signed_in(ctx, request) is None:
        return Response(status_code=401, headers=SECURITY_HEADERS)
    stream = live_events(
        ctx, desk_views.LIVE_CHANNEL, _select,
        heartbeat_seconds=float(ctx.param("desk.heartbeat_seconds", 15)),
        lifetime_seconds=float(ctx.param("desk.stream_seconds", 60)),
    )
    return StreamingResponse(
        stream, media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
