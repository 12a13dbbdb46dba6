"""The desk's live stream over a real server: in one process, and across workers via Redis."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from kanaal.app import create_app
from kanaal.core.context import AppContext, build_context
from kanaal.core.live import RedisLiveStore
from kanaal.web.sse import SHUTDOWN_KEY
from tests.conftest import Keys, bearer
from tests.integration.test_desk import PASSWORD, csrf_of, make_agent
from tests.support.server import live_server


@contextmanager
def signed_in(base: str) -> Iterator[httpx.Client]:
    """A browser-like client signed in to the desk as anna@example.com."""
    with httpx.Client(base_url=base, timeout=20) as web:
        form = web.get("/desk/login")
        signed = web.post("/desk/login", data={"email": "anna@example.com", "password": PASSWORD,
                                               "csrf_token": csrf_of(form.text)})
        assert signed.status_code == 303
        yield web


def next_event(lines: Iterator[str]) -> tuple[str, dict[str, str]]:
    """The next `event:` block of an SSE stream (comments and retry lines skipped)."""
    name = None
    for line in lines:
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: ") and name is not None:
            return name, json.loads(line.removeprefix("data: "))
    raise AssertionError("the stream ended without an event")


def test_the_desk_stream_announces_an_agent_state_change(ctx: AppContext, keys: Keys) -> None:
    agent = make_agent(ctx)
    with live_server(create_app(ctx=ctx)) as base, signed_in(base) as web, \
            web.stream("GET", "/desk/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        assert next(lines) == "retry: 2000"
        changed = httpx.put(f"{base}/v1/agents/{agent.id}/state", json={"state": "away"},
                            headers=bearer(keys.writer))
        assert changed.status_code == 200
        assert next_event(lines) == ("contact_center", {"type": "agent.state"})


@pytest.mark.redis
def test_a_change_made_through_one_worker_reaches_the_desk_of_another(
    ctx: AppContext, keys: Keys, redis_url: str, redis_prefix: str,
) -> None:
    agent = make_agent(ctx)
    desk_worker = build_context(ctx.settings, clock=ctx.clock,
                                live=RedisLiveStore(redis_url, prefix=redis_prefix))
    api_worker = build_context(ctx.settings, clock=ctx.clock,
                               live=RedisLiveStore(redis_url, prefix=redis_prefix))
    try:
        with live_server(create_app(ctx=desk_worker)) as desk_base, \
                live_server(create_app(ctx=api_worker)) as api_base, \
                signed_in(desk_base) as web, web.stream("GET", "/desk/events") as stream:
            lines = stream.iter_lines()
            assert next(lines) == "retry: 2000"
            changed = httpx.put(f"{api_base}/v1/agents/{agent.id}/state",
                                json={"state": "available"}, headers=bearer(keys.writer))
            assert changed.status_code == 200
            assert next_event(lines) == ("contact_center", {"type": "agent.state"})
    finally:
        desk_worker.db.dispose()
        api_worker.db.dispose()


def test_open_streams_see_the_app_shut_down(ctx: AppContext) -> None:
    from fastapi.testclient import TestClient

    with TestClient(create_app(ctx=ctx)):
        stop = ctx.state[SHUTDOWN_KEY]
        assert isinstance(stop, asyncio.Event) and not stop.is_set()
    assert stop.is_set()
