"""Chat over WebSocket: the visitor at /v1/chat/ws, agents at /desk/chats (several at once)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketState

from kanaal.contact_center import desk_session
from kanaal.contact_center import service as contact_center
from kanaal.core.context import AppContext
from kanaal.core.errors import (
    DomainError,
    Forbidden,
    InvalidInput,
    PayloadTooLarge,
    Unauthenticated,
)
from kanaal.core.http import Ctx, principal_from_header, read_capped
from kanaal.touchpoints import chat_desk, chat_service
from kanaal.touchpoints.chat_domain import unseen
from kanaal.touchpoints.chat_schemas import (
    CLOSE_BODY_DOC,
    MAX_CLOSE_BODY,
    ChatClosedOut,
    ChatCloseIn,
    parse_close,
)
from kanaal.touchpoints.chat_views import render_desk
from kanaal.touchpoints.domain import origin_allowed
from kanaal.web.session import check_csrf

MAX_FRAME_CHARS = 64 * 1024
DESK = "/desk/chats"
# WebSocket close codes: 4401 bad key, 4403 origin refused, 4422 bad request, 4429 too many.
CLOSE_CODES = {"invalid_key": 4401, "invalid_credentials": 4401, "missing_credentials": 4401,
               "origin_not_allowed": 4403, "missing_identity": 4422,
               "chat_open_rate_limited": 4429}

router = APIRouter(tags=["chat"])
log = logging.getLogger(__name__)
Text = Annotated[str, Form(max_length=100_000)]
Csrf = Annotated[str, Form(max_length=200)]


# Changes a socket may fall behind before it is closed (its page then reloads its state).
BACKLOG = 512
FELL_BEHIND: dict[str, Any] = {"type": "fell_behind"}
# "Try again later" (RFC 6455): the client reconnects and reads the state afresh.
FELL_BEHIND_CLOSE = 1013


def _error(exc: DomainError) -> dict[str, Any]:
    return {"type": "error", "code": exc.code, "message": exc.message}


def _subscribe(ctx: AppContext, keep: Callable[[dict[str, Any]], bool]
               ) -> tuple[asyncio.Queue[dict[str, Any]], Callable[[], None]]:
    """Live chat events that `keep` accepts, delivered onto this event loop."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=BACKLOG)

    def handler(message: Any) -> None:
        if isinstance(message, dict) and keep(message):
            loop.call_soon_threadsafe(_offer, queue, message)

    return queue, ctx.live.subscribe(chat_service.LIVE_CHANNEL, handler)


def _offer(queue: asyncio.Queue[dict[str, Any]], message: dict[str, Any]) -> None:
    """Queue a change for the socket; one that fell `BACKLOG` changes behind starts over."""
    if queue.full():
        # Dropping a change would leave the page silently wrong: drop the whole backlog
        # instead and have the socket closed, so its page reconnects and reloads its state.
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(FELL_BEHIND)
        return
    queue.put_nowait(message)


def _open(socket: WebSocket) -> bool:
    """True while this side has not closed the socket (checked right before each receive or
    send: no other task runs in between)."""
    return socket.application_state is WebSocketState.CONNECTED


async def _pump(socket: WebSocket, queue: asyncio.Queue[dict[str, Any]], *,
                each_event: bool, shown: int | None = None) -> None:
    """Send each change (`chat_service.publish`): its events one by one, or as one frame.
    With `shown`, the seq of the last message of the history sent, what that history held is
    not sent again."""
    while True:
        change = await queue.get()
        if change is FELL_BEHIND:
            await socket.close(code=FELL_BEHIND_CLOSE, reason="fell behind the live changes")
            return
        events = change["events"]
        if shown is not None:
            events = unseen(events, shown)
        for frame in events if each_event else [change]:
            await socket.send_json(frame)


async def _refuse(socket: WebSocket, exc: DomainError) -> None:
    await socket.accept()
    await socket.send_json(_error(exc))
    await socket.close(code=CLOSE_CODES.get(exc.code, 4400))


def _own_origin(socket: WebSocket) -> str:
    scheme = "https" if socket.url.scheme == "wss" else "http"
    return f"{scheme}://{socket.headers.get('host', '')}"


@router.websocket("/v1/chat/ws")
async def visitor_socket(socket: WebSocket) -> None:
    """The visitor's chat: `?key=<write key>&anonymousId=…&lang=…[&conversation=…]`."""
    ctx: AppContext = socket.app.state.ctx
    params = socket.query_params
    try:
        if not origin_allowed(socket.headers.get("origin"), _own_origin(socket),
                              ctx.settings.cors_origins):
            raise Forbidden("this origin may not open a chat", code="origin_not_allowed")
        await run_in_threadpool(ctx.keys.authenticate, params.get("key", ""))
        chat_service.limit_opening(ctx, socket.client.host if socket.client else "unknown")
        conversation = await run_in_threadpool(
            chat_service.start_or_resume, ctx, anonymous_id=params.get("anonymousId"),
            user_id=params.get("userId"), lang=params.get("lang"),
            resume=params.get("conversation"))
    except DomainError as exc:
        await _refuse(socket, exc)
        return
    # Listen before reading the history: each message is then in the history or arrives live
    # (one that is in both is sent once), so none is lost in between.
    queue, unsubscribe = _subscribe(ctx, lambda m: m.get("conversation_id") == conversation["id"])
    pump: asyncio.Task[None] | None = None
    try:
        try:
            current = await run_in_threadpool(chat_service.history, ctx, conversation["id"])
        except DomainError as exc:
            await _refuse(socket, exc)
            return
        await socket.accept()
        await socket.send_json({"type": "welcome", "conversation_id": conversation["id"],
                                "status": current["conversation"]["status"]})
        for message in current["messages"]:
            await socket.send_json(chat_service.wire(message))
        shown = max((m["seq"] for m in current["messages"]), default=0)
        pump = asyncio.create_task(_pump(socket, queue, each_event=True, shown=shown))
        # Until the visitor leaves, or the pump closed a socket that fell behind.
        while _open(socket):
            raw = await socket.receive_text()
            try:
                await run_in_threadpool(_visitor_frame, ctx, conversation, raw)
            except DomainError as exc:
                if _open(socket):
                    await socket.send_json(_error(exc))
    except WebSocketDisconnect:
        pass
    finally:
        unsubscribe()
        if pump is not None:
            pump.cancel()


def _visitor_frame(ctx: AppContext, conversation: dict[str, Any], raw: str) -> None:
    """One frame from the visitor: `{"type": "message", "body": "..."}` or `{"type": "close"}`."""
    if len(raw) > MAX_FRAME_CHARS:
        limit = chat_service.config(ctx).limits.max_message_chars
        raise PayloadTooLarge(f"the message is over the limit of {limit} characters",
                              code="message_too_long")
    try:
        frame = json.loads(raw)
    except ValueError as exc:
        raise InvalidInput("a frame must be JSON", code="malformed_json") from exc
    if isinstance(frame, dict) and frame.get("type") == "close":
        chat_desk.end_by_visitor(ctx, conversation["id"], conversation["anonymous_id"])
        return
    if not isinstance(frame, dict) or frame.get("type") != "message":
        raise InvalidInput('send {"type": "message", "body": "..."} or {"type": "close"}',
                           code="invalid_frame")
    chat_service.visitor_says(ctx, conversation["id"], conversation["anonymous_id"],
                              frame.get("body"))


def _end_for_visitor(ctx: AppContext, conversation_id: str, body: ChatCloseIn,
                     authorization: str | None) -> dict[str, str]:
    # The socket's credentials: the write key (header or body), then the visitor's anonymous id
    # must be the conversation's (another visitor's conversation is not found).
    if authorization:
        principal_from_header(ctx, authorization)
    elif body.writeKey:
        ctx.keys.authenticate(body.writeKey)
    else:
        raise Unauthenticated("send the write key as Basic username or `writeKey`",
                              code="missing_credentials")
    chat_desk.end_by_visitor(ctx, conversation_id, body.anonymousId)
    return {"conversation_id": conversation_id, "status": "closed"}


@router.post("/v1/chat/conversations/{conversation_id}/close", response_model=ChatClosedOut,
             openapi_extra=CLOSE_BODY_DOC, summary="The visitor ends their chat")
async def end_chat(request: Request, ctx: Ctx,
                   conversation_id: Annotated[str, Path(min_length=1, max_length=64)]
                   ) -> dict[str, str]:
    """End the visitor's chat without its socket (closed while it reconnects): the write key as
    Basic username or `writeKey`, and the visitor's `anonymousId`; the same answer when it has
    already ended."""
    body = parse_close(await read_capped(request, MAX_CLOSE_BODY))
    return await run_in_threadpool(_end_for_visitor, ctx, conversation_id, body,
                                   request.headers.get("authorization"))


# ---------------------------------------------------------------- the desk's chat page


def _back(conversation_id: str | None = None, error: str | None = None,
          keep: dict[str, str] | None = None) -> RedirectResponse:
    query = urlencode({**({"error": error} if error else {}), **(keep or {})})
    url = DESK + (f"?{query}" if query else "") + (
        f"#chat-{conversation_id}" if conversation_id else "")
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


@router.get(DESK, response_class=HTMLResponse, include_in_schema=False)
def chats_page(request: Request, ctx: Ctx, error: str | None = None,
               fragment: bool = False, book: str | None = None, store: str | None = None,
               date: str | None = None) -> Response:
    """The agent's chats: waiting chats to take and their open chats side by side; with
    `book=<chat>&store=<id>&date=<day>` that chat shows the store's free slots."""
    current = desk_session.signed_in(ctx, request)
    if current is None:
        return RedirectResponse("/desk/login", status_code=303)
    session, agent_id = current
    agent = contact_center.get_agent(ctx, agent_id)
    view = chat_desk.desk_view(ctx, agent_id)
    view["stores"] = chat_desk.appointment_stores(ctx)
    view["booking"] = None
    if book and store:
        try:
            view["booking"] = {"chat_id": book, **chat_desk.store_slots(ctx, store, date)}
        except DomainError as exc:
            view["booking"] = {"chat_id": book, "store_id": store, "date": date,
                               "error": exc.code, "slots": []}
    return render_desk(agent=agent, csrf_token=session.csrf, view=view, error=error,
                       fragment=fragment)


def _act(request: Request, ctx: AppContext, csrf_token: str, conversation_id: str,
         action: Callable[[str], object], keep: dict[str, str] | None = None) -> Response:
    current = desk_session.signed_in(ctx, request)
    if current is None:
        return RedirectResponse("/desk/login", status_code=303)
    session, agent_id = current
    try:
        check_csrf(session, csrf_token)
        action(agent_id)
    except DomainError as exc:
        return _back(conversation_id, exc.code, keep)
    return _back(conversation_id)


@router.post(DESK + "/{conversation_id}/take", include_in_schema=False)
def take(conversation_id: str, request: Request, ctx: Ctx, csrf_token: Csrf = "") -> Response:
    """Take a waiting chat."""
    return _act(request, ctx, csrf_token, conversation_id,
                lambda agent: chat_desk.take_chat(ctx, agent, conversation_id))


@router.post(DESK + "/{conversation_id}/reply", include_in_schema=False)
def reply(conversation_id: str, request: Request, ctx: Ctx, body: Text = "",
          csrf_token: Csrf = "") -> Response:
    """Send a reply to the visitor."""
    return _act(request, ctx, csrf_token, conversation_id,
                lambda agent: chat_desk.agent_says(ctx, agent, conversation_id, body))


@router.post(DESK + "/{conversation_id}/callback", include_in_schema=False)
def to_callback(conversation_id: str, request: Request, ctx: Ctx,
                phone: Annotated[str, Form(max_length=40)] = "",
                csrf_token: Csrf = "") -> Response:
    """Turn the chat into a callback."""
    return _act(request, ctx, csrf_token, conversation_id,
                lambda agent: chat_desk.convert_to_callback(ctx, agent, conversation_id,
                                                            phone=phone))


@router.post(DESK + "/{conversation_id}/appointment", include_in_schema=False)
def to_appointment(conversation_id: str, request: Request, ctx: Ctx,
                   store_id: Annotated[str, Form(max_length=60)] = "",
                   slot_start: Annotated[str, Form(max_length=40)] = "",
                   when: Annotated[str, Form(max_length=200)] = "",
                   day: Annotated[str, Form(max_length=10)] = "",
                   csrf_token: Csrf = "") -> Response:
    """Book a free slot of the store's calendar for the chat's customer; for a store without
    a calendar, ask its staff for an appointment at the wished time (a task)."""
    keep = {"book": conversation_id, "store": store_id, "date": day}
    if slot_start:
        return _act(request, ctx, csrf_token, conversation_id,
                    lambda agent: chat_desk.book_store_appointment(
                        ctx, agent, conversation_id, store_id=store_id, slot_start=slot_start),
                    keep)
    return _act(request, ctx, csrf_token, conversation_id,
                lambda agent: chat_desk.request_store_appointment(
                    ctx, agent, conversation_id, store_id=store_id, when=when), keep)


@router.post(DESK + "/{conversation_id}/close", include_in_schema=False)
def close(conversation_id: str, request: Request, ctx: Ctx,
          outcome: Annotated[str, Form(max_length=30)] = "no_sale",
          csrf_token: Csrf = "") -> Response:
    """Close the chat."""
    return _act(request, ctx, csrf_token, conversation_id,
                lambda agent: chat_desk.close_chat(ctx, agent, conversation_id, outcome))


@router.websocket(DESK + "/live")
async def desk_socket(socket: WebSocket) -> None:
    """Live chat changes for a signed-in agent, one frame each (the page refreshes its board
    on each)."""
    ctx: AppContext = socket.app.state.ctx
    codec = desk_session.codec(ctx)
    agent_id = desk_session.signed_in_agent(ctx, codec.loads(socket.cookies.get(
        codec.cookie_name)))
    if agent_id is None or not origin_allowed(socket.headers.get("origin"),
                                              _own_origin(socket), []):
        await socket.close(code=4401)
        return
    # Listen before accepting: once the page sees the socket open, no later event is missed.
    queue, unsubscribe = _subscribe(ctx, lambda _m: True)
    pump: asyncio.Task[None] | None = None
    try:
        await socket.accept()
        pump = asyncio.create_task(_pump(socket, queue, each_event=False))
        while _open(socket):
            await socket.receive_text()
    except WebSocketDisconnect:
        pass
    finally:
        unsubscribe()
        if pump is not None:
            pump.cancel()


async def idle_chat_sweeper(ctx: AppContext, stop: asyncio.Event) -> None:
    """Close idle bot and waiting chats once a minute (their transcripts reach the timeline)."""
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=60)
        except TimeoutError:
            try:
                await asyncio.to_thread(chat_desk.close_idle, ctx)
            except Exception:  # noqa: BLE001 - retried on the next tick
                log.warning("closing idle chats failed", exc_info=True)


workers = [idle_chat_sweeper]
