"""The shared web layer: server secret, signed sessions, CSRF, rendering and the SSE stream."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from kanaal.config import Settings
from kanaal.core.clock import ManualClock
from kanaal.core.errors import Forbidden
from kanaal.core.live import MemoryLiveStore
from kanaal.web.render import format_money, format_when, render_text
from kanaal.web.secrets import secret_key
from kanaal.web.session import SessionCodec, WebSession, check_csrf
from kanaal.web.sse import (
    SHUTDOWN_KEY,
    fanout,
    format_event,
    live_events,
    remember_shutdown,
)

SECRET = "s" * 48


def make_codec(clock: ManualClock, secret: str = SECRET) -> SessionCodec:
    return SessionCodec(secret, clock=clock, cookie_name="c", salt="t", max_age_seconds=3600)


# ---------------------------------------------------------------- secret key


def test_the_configured_secret_key_wins(tmp_path: Path) -> None:
    settings = Settings(secret_key="k" * 40, data_dir=tmp_path)
    assert secret_key(settings) == "k" * 40
    assert not (tmp_path / "secret_key").exists()


def test_a_short_configured_secret_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 32"):
        secret_key(Settings(secret_key="short", data_dir=tmp_path))


def test_without_a_configured_secret_one_is_generated_once_and_kept_private(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path / "var")
    first = secret_key(settings)
    path = tmp_path / "var" / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secret_key(settings) == first and len(first) >= 32
    assert sorted(p.name for p in path.parent.iterdir()) == ["secret_key"]


def test_a_kept_secret_with_loose_permissions_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "secret_key"
    path.write_text("x" * 64)
    os.chmod(path, 0o644)
    assert secret_key(Settings(data_dir=tmp_path)) == "x" * 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# ---------------------------------------------------------------- sessions and CSRF


def test_a_session_survives_the_cookie_round_trip() -> None:
    clock = ManualClock()
    session = WebSession.anonymous().signed_in("agt_1")
    assert make_codec(clock).loads(make_codec(clock).dumps(session)) == session


def test_signing_in_rotates_the_session_id_and_csrf_token() -> None:
    before = WebSession.anonymous()
    after = before.signed_in("agt_1")
    assert after.subject == "agt_1" and before.subject is None
    assert after.sid != before.sid and after.csrf != before.csrf


def test_cookies_expire_by_the_application_clock() -> None:
    clock = ManualClock()
    codec = make_codec(clock)
    value = codec.dumps(WebSession.anonymous())
    clock.advance(seconds=3600)
    assert codec.loads(value) is not None
    clock.advance(seconds=2)
    assert codec.loads(value) is None


@pytest.mark.parametrize("value", [None, "", "garbage", "a.b.c", "x" * 2000])
def test_malformed_cookies_are_ignored(value: str | None) -> None:
    assert make_codec(ManualClock()).loads(value) is None


def test_a_cookie_signed_with_another_secret_is_ignored() -> None:
    clock = ManualClock()
    value = make_codec(clock, "o" * 48).dumps(WebSession.anonymous().signed_in("agt_1"))
    assert make_codec(clock).loads(value) is None


def test_csrf_accepts_only_the_sessions_own_token() -> None:
    session = WebSession.anonymous()
    check_csrf(session, session.csrf)
    for session_, token in [(session, ""), (session, None), (session, "nope"), (None, "x")]:
        with pytest.raises(Forbidden) as caught:
            check_csrf(session_, token)
        assert caught.value.code == "csrf_failed"


# ---------------------------------------------------------------- rendering


def test_templates_escape_what_they_show() -> None:
    html = render_text("error.html", heading="<b>x</b>", message="<script>alert(1)</script>",
                       back_url=None, back_label="", request_path="/")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert '<link rel="stylesheet" href="/static/css/kanaal.css">' in html


def test_times_and_money_read_the_same_everywhere() -> None:
    assert format_when("2026-01-05T10:00:00+01:00") == "2026-01-05 09:00 UTC"
    assert (format_when(None), format_when("soon")) == ("", "soon")
    assert format_money("1249.5", "EUR") == "EUR 1,249.50"
    assert (format_money(None), format_money("n/a")) == ("", "n/a")


# ---------------------------------------------------------------- server-sent events


class Ctx:
    """The two parts of AppContext a stream uses."""

    def __init__(self) -> None:
        self.live = MemoryLiveStore()
        self.state: dict[str, Any] = {}


def select(message: Any) -> tuple[str, dict[str, Any]] | None:
    return None if message.get("type") == "secret" else ("contact_center",
                                                         {"type": message["type"]})


def test_format_event_is_one_sse_block() -> None:
    assert format_event("x", {"a": 1}) == 'event: x\ndata: {"a":1}\n\n'


def test_a_stream_forwards_selected_messages_and_unsubscribes_at_shutdown() -> None:
    ctx = Ctx()

    async def scenario() -> list[str]:
        stop = asyncio.Event()
        ctx.state[SHUTDOWN_KEY] = stop
        stream = live_events(ctx, "contact_center", select,  # type: ignore[arg-type]
                             heartbeat_seconds=3600, lifetime_seconds=3600)
        chunks = [await anext(stream)]
        pending = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(0)
        # published from another thread, as a request thread or Redis listener does
        await asyncio.to_thread(ctx.live.publish, "contact_center", {"type": "secret"})
        await asyncio.to_thread(ctx.live.publish, "contact_center", {"type": "agent.state"})
        chunks.append(await pending)
        stop.set()
        chunks.extend([chunk async for chunk in stream])
        return chunks

    chunks = asyncio.run(scenario())
    assert chunks == ["retry: 2000\n\n", 'event: contact_center\ndata: {"type":"agent.state"}\n\n']
    assert fanout(ctx, "contact_center").listeners == 0  # type: ignore[arg-type]


def test_a_quiet_stream_sends_heartbeats_and_ends_after_its_lifetime() -> None:
    ctx = Ctx()

    async def scenario() -> list[str]:
        stream = live_events(ctx, "contact_center", select,  # type: ignore[arg-type]
                             heartbeat_seconds=0.01, lifetime_seconds=0.05,
                             hello=("hello", {"ok": True}))
        return [chunk async for chunk in stream]

    chunks = asyncio.run(scenario())
    assert chunks[:2] == ["retry: 2000\n\n", 'event: hello\ndata: {"ok":true}\n\n']
    assert chunks[2:] and set(chunks[2:]) == {": heartbeat\n\n"}
    assert fanout(ctx, "contact_center").listeners == 0  # type: ignore[arg-type]


def test_a_stream_closed_by_the_client_stops_listening() -> None:
    ctx = Ctx()

    async def scenario() -> None:
        stream = live_events(ctx, "contact_center", select,  # type: ignore[arg-type]
                             heartbeat_seconds=3600, lifetime_seconds=3600)
        await anext(stream)
        assert fanout(ctx, "contact_center").listeners == 1  # type: ignore[arg-type]
        await stream.aclose()

    asyncio.run(scenario())
    assert fanout(ctx, "contact_center").listeners == 0  # type: ignore[arg-type]


def test_every_stream_of_a_process_shares_one_live_subscription_until_shutdown() -> None:
    ctx = Ctx()

    async def scenario() -> list[int]:
        stop = asyncio.Event()
        keeper = asyncio.ensure_future(remember_shutdown(ctx, stop))  # type: ignore[arg-type]
        hub = fanout(ctx, "contact_center")  # type: ignore[arg-type]
        first = live_events(ctx, "contact_center", select,  # type: ignore[arg-type]
                            heartbeat_seconds=3600, lifetime_seconds=3600)
        second = live_events(ctx, "contact_center", select,  # type: ignore[arg-type]
                             heartbeat_seconds=3600, lifetime_seconds=3600)
        await anext(first)
        await anext(second)
        counts = [len(ctx.live._subscribers["contact_center"]), hub.listeners]
        await first.aclose()
        await second.aclose()
        # a reconnecting desk finds the subscription still open
        counts += [len(ctx.live._subscribers["contact_center"]), hub.listeners]
        stop.set()
        await keeper
        counts += [len(ctx.live._subscribers["contact_center"]), int(hub.subscribed)]
        return counts

    assert asyncio.run(scenario()) == [1, 2, 1, 0, 0, 0]
