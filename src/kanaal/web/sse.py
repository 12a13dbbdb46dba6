"""Server-sent events from a live-store channel: what the desk (and dashboards) listen to.

A stream subscribes to one `ctx.live` channel (in-process or Redis pub/sub), forwards the
messages a `select` function lets through as SSE events, sends a heartbeat comment while
quiet, and ends on client disconnect (Starlette cancels the generator), on app shutdown, or
after `lifetime` seconds; the browser's EventSource then reconnects by itself, so no stream
can hold a server's graceful shutdown for long.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from kanaal.core.context import AppContext

SHUTDOWN_KEY = "web.shutdown"
_FANOUT_KEY = "web.fanout"
RECONNECT_MILLISECONDS = 2000
_QUEUE_SIZE = 256

# Turns a live message into (event name, data) or None to skip it.
Select = Callable[[Any], tuple[str, dict[str, Any]] | None]


async def remember_shutdown(ctx: AppContext, stop: asyncio.Event) -> None:
    """Background worker: keeps the app's stop event where streams see it; closes at shutdown."""
    ctx.state[SHUTDOWN_KEY] = stop
    await stop.wait()
    close_fanouts(ctx)


class Fanout:
    """One live-store subscription per channel and process, shared by every open stream.

    With Redis each subscription is a connection and a listener thread: a contact center with
    hundreds of agents must not open hundreds of them, nor one more each time a stream
    reconnects. The subscription opens with the first stream and stays until the app stops.
    """

    def __init__(self, ctx: AppContext, channel: str) -> None:
        self._ctx = ctx
        self._channel = channel
        self._lock = threading.Lock()
        self._listeners: list[Callable[[Any], None]] = []
        self._unsubscribe: Callable[[], None] | None = None

    @property
    def listeners(self) -> int:
        """How many streams listen now."""
        with self._lock:
            return len(self._listeners)

    @property
    def subscribed(self) -> bool:
        """Whether the live-store subscription is open."""
        with self._lock:
            return self._unsubscribe is not None

    def _deliver(self, message: Any) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(message)

    def add(self, listener: Callable[[Any], None]) -> Callable[[], None]:
        """Start passing messages to `listener`; returns the function that stops it."""
        with self._lock:
            self._listeners.append(listener)
            if self._unsubscribe is None:
                self._unsubscribe = self._ctx.live.subscribe(self._channel, self._deliver)

        def remove() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return remove

    def close(self) -> None:
        """Close the live-store subscription (at shutdown)."""
        with self._lock:
            stop, self._unsubscribe = self._unsubscribe, None
            self._listeners.clear()
        if stop is not None:
            stop()


def fanout(ctx: AppContext, channel: str) -> Fanout:
    """The process-wide fan-out of `channel` for this app."""
    hubs = ctx.state.setdefault(_FANOUT_KEY, {})
    hub = hubs.get(channel)
    if hub is None:
        hub = hubs.setdefault(channel, Fanout(ctx, channel))
    assert isinstance(hub, Fanout)
    return hub


def close_fanouts(ctx: AppContext) -> None:
    """Close every fan-out of this app (its streams have ended or are ending)."""
    hubs = ctx.state.pop(_FANOUT_KEY, {})
    for hub in hubs.values():
        hub.close()


def format_event(name: str, data: dict[str, Any]) -> str:
    """One SSE event block (`event:` and a single-line JSON `data:`)."""
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _offer(queue: asyncio.Queue[Any], message: Any) -> None:
    # A full queue already holds events that make the page refresh; dropping one loses nothing.
    with contextlib.suppress(asyncio.QueueFull):
        queue.put_nowait(message)


async def live_events(
    ctx: AppContext,
    channel: str,
    select: Select,
    *,
    heartbeat_seconds: float = 15.0,
    lifetime_seconds: float = 60.0,
    hello: tuple[str, dict[str, Any]] | None = None,
) -> AsyncIterator[str]:
    """Yield SSE text for the messages on `channel` until disconnect, shutdown or lifetime."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=_QUEUE_SIZE)

    def handler(message: Any) -> None:
        # Called on the publisher's thread (a request thread, or Redis's listener thread).
        with contextlib.suppress(RuntimeError):  # the loop has closed: the stream is gone
            loop.call_soon_threadsafe(_offer, queue, message)

    unsubscribe = fanout(ctx, channel).add(handler)
    stop = ctx.state.get(SHUTDOWN_KEY)
    deadline = loop.time() + lifetime_seconds
    try:
        yield f"retry: {RECONNECT_MILLISECONDS}\n\n"
        if hello is not None:
            yield format_event(*hello)
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0 or (isinstance(stop, asyncio.Event) and stop.is_set()):
                return
            message = await _next(queue, stop, min(heartbeat_seconds, remaining))
            if message is _HEARTBEAT:
                yield ": heartbeat\n\n"
            elif message is not _STOPPED:
                chosen = select(message)
                if chosen is not None:
                    yield format_event(*chosen)
    finally:
        unsubscribe()


_HEARTBEAT = object()
_STOPPED = object()


async def _next(queue: asyncio.Queue[Any], stop: Any, timeout: float) -> Any:
    """The next message, `_HEARTBEAT` after `timeout` seconds, or `_STOPPED` on shutdown."""
    getter = asyncio.ensure_future(queue.get())
    waiters: set[asyncio.Future[Any]] = {getter}
    stopper = None
    if isinstance(stop, asyncio.Event):
        stopper = asyncio.ensure_future(stop.wait())
        waiters.add(stopper)
    try:
        done, _ = await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            if not waiter.done():
                waiter.cancel()
    if getter in done:
        return getter.result()
    if stopper is not None and stopper in done:
        return _STOPPED
    return _HEARTBEAT
