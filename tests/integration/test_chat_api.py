"""Chat over the visitor WebSocket and the agent use cases, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from starlette.websockets import WebSocketDisconnect

from kanaal.calendars.service import list_appointments
from kanaal.collect.service import record_event
from kanaal.contact_center import service as cc
from kanaal.core.context import AppContext
from kanaal.core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from kanaal.customers.service import recent_events
from kanaal.touchpoints import chat_desk, chat_service
from kanaal.touchpoints import chat_store as store
from tests.conftest import Keys
from tests.support.calendars import counts, emails, store_with_calendar
from tests.support.contact_center import count_rows
from tests.support.inventory import make_location


def rows(ctx: AppContext) -> tuple[int, int]:
    """Conversations and chat messages stored."""
    with ctx.db.reader() as session:
        return tuple(int(session.execute(select(func.count()).select_from(t)).scalar_one())
                     for t in (store.chat_conversations, store.chat_messages))  # type: ignore[return-value]


def url(keys: Keys, anonymous_id: str = "anon-1", **extra: str) -> str:
    """The visitor socket's URL."""
    query = "&".join(f"{k}={v}" for k, v in {"key": keys.write, "anonymousId": anonymous_id,
                                              **extra}.items())
    return f"/v1/chat/ws?{query}"


def until(socket: Any, sender: str) -> dict[str, Any]:
    """The next message frame from `sender` (skipping status frames and others)."""
    while True:
        frame: dict[str, Any] = socket.receive_json()
        if frame["type"] == "message" and frame["sender"] == sender:
            return frame


def staffed(ctx: AppContext, concurrency: int = 1) -> str:
    """A chat queue, a callback queue and one available agent; returns the agent id."""
    cc.create_queue(ctx, name="sales-chat", skill="sales", channel="chat")
    cc.create_queue(ctx, name="sales-callbacks", skill="sales", channel="callback")
    agent = cc.create_agent(ctx, name="Anna", email="anna@example.com",
                            password="correct horse battery", skills=["sales"],
                            concurrency={"chat": concurrency})
    cc.set_agent_state(ctx, agent.id, "available")
    return agent.id


def test_the_bot_answers_in_dutch_and_hands_over_when_asked(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    with client.websocket_connect(url(keys, lang="nl")) as socket:
        welcome = socket.receive_json()
        assert (welcome["type"], welcome["status"]) == ("welcome", "bot")
        assert until(socket, "bot")["body"].startswith("Hallo! Ik ben de assistent")
        socket.send_json({"type": "message", "body": "Hoe lang duurt de levering?"})
        assert until(socket, "visitor")["body"] == "Hoe lang duurt de levering?"
        assert until(socket, "bot")["body"] == "Besteld voor 22:00 op een werkdag, morgen in " \
            "huis; gratis boven EUR 50."
        socket.send_json({"type": "message", "body": "ik wil een mens"})
        assert until(socket, "bot")["body"] == "Natuurlijk, ik verbind u met een adviseur."
        assert until(socket, "bot")["body"] == ("Terwijl ik een adviseur zoek: in welk product "
                                                "bent u geïnteresseerd?")
        conversation_id = welcome["conversation_id"]
    with ctx.db.reader() as session:
        conversation = store.find_conversation(session, conversation_id)
    assert conversation is not None
    assert (conversation["status"], conversation["qualify_step"]) == ("waiting", 0)
    # Reconnecting with the conversation id resumes it with its history
    with client.websocket_connect(url(keys, conversation=conversation_id)) as socket:
        again = socket.receive_json()
        assert (again["conversation_id"], again["status"]) == (conversation_id, "waiting")
        history = [socket.receive_json()["body"] for _ in range(6)]
        assert history[3] == "ik wil een mens"
    assert rows(ctx) == (1, 6)


def test_an_unsure_bot_hands_over(ctx: AppContext, client: TestClient, keys: Keys) -> None:
    with client.websocket_connect(url(keys)) as socket:
        socket.receive_json()
        until(socket, "bot")
        socket.send_json({"type": "message", "body": "Does the grinder fit a 58 mm portafilter?"})
        assert until(socket, "bot")["body"] == ("I am not sure I can answer that well. I will "
                                                "ask an advisor to help you.")


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"type": "message", "body": "x" * 2001}, "message_too_long"),
        ({"type": "message", "body": "   "}, "empty_message"),
        ({"type": "message", "body": 42}, "invalid_message"),
        ({"type": "typing"}, "invalid_frame"),
    ],
)
def test_bad_chat_messages_get_a_clear_error_and_nothing_is_stored(
    ctx: AppContext, client: TestClient, keys: Keys, frame: dict[str, Any], code: str
) -> None:
    with client.websocket_connect(url(keys)) as socket:
        socket.receive_json()
        until(socket, "bot")
        socket.send_json(frame)
        error = socket.receive_json()
        assert (error["type"], error["code"]) == ("error", code)
        socket.send_text("{not json")
        assert socket.receive_json()["code"] == "malformed_json"
    assert rows(ctx) == (1, 1)


def test_chat_messages_are_rate_limited(ctx: AppContext, client: TestClient,
                                        keys: Keys) -> None:
    ctx.business["chat"] = {"messages_per_second": 0.001, "burst": 2}
    with client.websocket_connect(url(keys)) as socket:
        socket.receive_json()
        until(socket, "bot")
        for text in ("How can I pay?", "Can I return a product?"):
            socket.send_json({"type": "message", "body": text})
            until(socket, "bot")
        socket.send_json({"type": "message", "body": "What warranty do I get?"})
        frame = socket.receive_json()
        while frame["type"] != "error":
            frame = socket.receive_json()
        assert frame["code"] == "chat_rate_limited"
    assert rows(ctx) == (1, 5)


@pytest.mark.parametrize(
    ("query", "headers", "code", "close"),
    [
        ({"key": "wk_unknown"}, {}, "invalid_key", 4401),
        ({}, {"Origin": "https://evil.example"}, "origin_not_allowed", 4403),
        ({"anonymousId": ""}, {}, "missing_identity", 4422),
    ],
)
def test_refused_chat_connections_say_why_and_store_nothing(
    ctx: AppContext, client: TestClient, keys: Keys, query: dict[str, str],
    headers: dict[str, str], code: str, close: int
) -> None:
    params = {"key": keys.write, "anonymousId": "anon-1", **query}
    target = "/v1/chat/ws?" + "&".join(f"{k}={v}" for k, v in params.items())
    with client.websocket_connect(target, headers=headers) as socket:
        assert socket.receive_json()["code"] == code
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()
    assert closed.value.code == close
    assert rows(ctx) == (0, 0)


def _waiting_chat(ctx: AppContext, anonymous_id: str) -> str:
    opened = chat_service.open_conversation(ctx, anonymous_id=anonymous_id, user_id=None,
                                            lang="en", resume=None)
    conversation_id: str = opened["conversation"]["id"]
    chat_service.visitor_says(ctx, conversation_id, anonymous_id, "I want a person")
    return conversation_id


def test_agents_take_chats_up_to_their_concurrency_and_only_once(ctx: AppContext) -> None:
    agent_id = staffed(ctx, concurrency=2)
    other = cc.create_agent(ctx, name="Bram", email="bram@example.com",
                            password="correct horse battery", skills=["sales"])
    first, second, third = (_waiting_chat(ctx, f"anon-{n}") for n in range(3))
    chat_desk.take_chat(ctx, agent_id, first)
    chat_desk.take_chat(ctx, agent_id, second)
    with pytest.raises(Conflict) as full:
        chat_desk.take_chat(ctx, agent_id, third)
    assert full.value.code == "agent_at_capacity"
    with pytest.raises(Conflict) as taken:
        chat_desk.take_chat(ctx, other.id, first)
    assert taken.value.code == "chat_taken"
    view = chat_desk.desk_view(ctx, agent_id)
    assert [c["id"] for c in view["waiting"]] == [third]
    assert sorted(c["id"] for c in view["mine"]) == sorted([first, second])
    assert cc.get_agent(ctx, agent_id).state.value == "busy"
    with pytest.raises(Forbidden):
        chat_desk.agent_says(ctx, other.id, first, "Hello")


def test_a_taken_chat_records_how_long_it_waited_for_an_agent(
    ctx: AppContext, clock: Any
) -> None:
    """The wait runs from the hand-over to the agent (not from the chat's first message):
    the dashboard's actual chat wait."""
    agent_id = staffed(ctx)
    opened = chat_service.open_conversation(ctx, anonymous_id="anon-w", user_id=None,
                                            lang="en", resume=None)
    conversation_id = opened["conversation"]["id"]
    clock.advance(minutes=3)  # talking to the bot is not waiting for an agent
    chat_service.visitor_says(ctx, conversation_id, "anon-w", "I want a person")
    clock.advance(seconds=75)
    chat_desk.take_chat(ctx, agent_id, conversation_id)
    waits = cc.answered_wait(ctx, window_seconds=900)
    queue = chat_desk.chat_queue(ctx)
    assert waits[queue]["answered"] == 1
    assert waits[queue]["mean_seconds"] == pytest.approx(75.0)


def test_a_chat_to_a_store_without_calendar_becomes_an_appointment_request_for_its_staff(
    ctx: AppContext,
) -> None:
    agent_id = staffed(ctx)
    store_id = make_location(ctx, "Store Utrecht", kind="store").id
    conversation_id = _waiting_chat(ctx, "anon-1")
    chat_service.visitor_says(ctx, conversation_id, "anon-1", "OLED 65")
    chat_desk.take_chat(ctx, agent_id, conversation_id)
    chat_desk.agent_says(ctx, agent_id, conversation_id, "Come and see it in Utrecht!")
    with pytest.raises(InvalidInput):
        chat_desk.request_store_appointment(ctx, agent_id, conversation_id, store_id="",
                                            when="Saturday")
    with pytest.raises(NotFound) as unknown:
        chat_desk.request_store_appointment(ctx, agent_id, conversation_id,
                                            store_id="store-nope", when="Saturday 11:00")
    assert unknown.value.code == "unknown_location"
    assert cc.list_tasks(ctx) == []
    task_id = chat_desk.request_store_appointment(ctx, agent_id, conversation_id,
                                                  store_id=store_id, when="Saturday 11:00")
    [task] = cc.list_tasks(ctx)
    assert (task["id"], task["kind"], task["store_id"]) == (
        task_id, "store_appointment", store_id)
    assert task["context"]["qualification"] == {"interest_product": "OLED 65"}
    with ctx.db.reader() as session:
        conversation = store.find_conversation(session, conversation_id)
        assert conversation is not None
        events = recent_events(session, conversation["customer_id"])
    names = [e["event"] for e in events]
    assert names[:2] == ["Chat Completed", "Chat Transcript"]
    transcript = events[1]["properties"]
    assert transcript["store_appointment_task_id"] == task_id
    assert transcript["transcript"]["by_sender"] == {"visitor": 2, "bot": 4, "agent": 1,
                                                     "system": 3}
    assert conversation["status"] == "closed"
    with pytest.raises(Forbidden):
        chat_desk.close_chat(ctx, agent_id, conversation_id, "no_sale")
    assert count_rows(ctx)["cc_callbacks"] == 0


def _chat_with_agent(ctx: AppContext, agent_id: str, anonymous_id: str = "anon-1") -> str:
    conversation_id = _waiting_chat(ctx, anonymous_id)
    chat_desk.take_chat(ctx, agent_id, conversation_id)
    return conversation_id


def test_an_agent_books_a_free_store_slot_for_the_chats_customer(ctx: AppContext) -> None:
    agent_id = staffed(ctx)
    store_id = store_with_calendar(ctx)
    conversation_id = _chat_with_agent(ctx, agent_id)
    with ctx.db.transaction() as session:  # the visitor gave their email earlier
        customer_id = store.find_conversation(session, conversation_id)["customer_id"]
        record_event(session, ctx, type="identify", event=None, identities={},
                     customer_id=customer_id, traits={"email": "ann@example.com"},
                     channel="web", source="tests")
    # The desk shows the store's free slots of a day in its local time
    shown = chat_desk.store_slots(ctx, store_id, "2026-01-06")
    assert (shown["has_calendar"], shown["timezone"]) == (True, "Europe/Amsterdam")
    assert [s["label"] for s in shown["slots"]][:3] == ["09:00", "10:00", "11:00"]
    assert chat_desk.appointment_stores(ctx) == [
        {"id": store_id, "name": "Store Utrecht", "has_calendar": True}]
    appointment = chat_desk.book_store_appointment(
        ctx, agent_id, conversation_id, store_id=store_id,
        slot_start=shown["slots"][1]["start"].isoformat())
    assert (appointment["local_start"], appointment["source"], appointment["source_ref"],
            appointment["customer_id"], appointment["email"]) == (
        "2026-01-06T10:00:00+01:00", "chat", conversation_id, customer_id, "ann@example.com")
    with ctx.db.reader() as session:
        conversation = store.find_conversation(session, conversation_id)
        lines = [m["body"] for m in store.messages_of(session, conversation_id)]
        events = recent_events(session, customer_id)
    assert conversation is not None and conversation["status"] == "closed"
    assert lines[-2] == ("Your appointment at Store Utrecht is booked for Tuesday 06 January "
                         f"2026, 10:00-11:00 CET. Reference: {appointment['id']}.")
    names = [e["event"] for e in events]
    assert names[:3] == ["Chat Completed", "Chat Transcript", "Appointment Booked"]
    assert events[1]["properties"]["appointment_id"] == appointment["id"]
    assert events[2]["channel"] == "chat"
    assert [m["to"] for m in emails(ctx)] == ["ann@example.com"]
    assert "10:00" not in [s["label"] for s in chat_desk.store_slots(
        ctx, store_id, "2026-01-06")["slots"]]


def test_a_taken_or_bad_slot_from_the_desk_stores_nothing_and_keeps_the_chat_open(
    ctx: AppContext,
) -> None:
    agent_id = staffed(ctx, concurrency=2)
    store_id = store_with_calendar(ctx)
    first = _chat_with_agent(ctx, agent_id, "anon-1")
    second = _chat_with_agent(ctx, agent_id, "anon-2")
    slot = "2026-01-06T09:00:00+00:00"
    chat_desk.book_store_appointment(ctx, agent_id, first, store_id=store_id, slot_start=slot)
    before = rows(ctx), counts(ctx)
    for store_ref, start, code in [(store_id, slot, "slot_taken"),
                                   (store_id, "2026-01-06T09:30:00+00:00", "invalid_slot"),
                                   (store_id, "2026-01-05T08:00:00+00:00", "slot_in_past"),
                                   (store_id, "tomorrow at ten", "invalid_slot"),
                                   ("loc_nope", slot, "no_calendar")]:
        with pytest.raises(DomainError) as refused:
            chat_desk.book_store_appointment(ctx, agent_id, second, store_id=store_ref,
                                             slot_start=start)
        assert refused.value.code == code
    with pytest.raises(Conflict) as has_calendar:
        chat_desk.request_store_appointment(ctx, agent_id, second, store_id=store_id,
                                            when="Saturday")
    assert has_calendar.value.code == "store_has_calendar"
    assert (rows(ctx), counts(ctx)) == before
    assert cc.list_tasks(ctx) == []
    with ctx.db.reader() as session:
        conversation = store.find_conversation(session, second)
    assert conversation is not None and conversation["status"] == "agent"


def test_the_desk_page_shows_free_slots_and_books_one_through_its_form(
    ctx: AppContext, client: TestClient,
) -> None:
    from tests.integration.test_desk import desk_csrf, sign_in

    agent_id = staffed(ctx)
    store_id = store_with_calendar(ctx)
    bare = make_location(ctx, "Store Delft", kind="store").id
    conversation_id = _chat_with_agent(ctx, agent_id)
    assert sign_in(client).status_code == 303
    page = client.get("/desk/chats", params={"book": conversation_id, "store": store_id,
                                             "date": "2026-01-06"})
    assert page.status_code == 200
    assert "Free slots on 2026-01-06 (Europe/Amsterdam)" in page.text
    assert 'value="2026-01-06T09:00:00+00:00"' in page.text
    assert "Store Delft (no calendar)" in page.text
    bad_day = client.get("/desk/chats", params={"book": conversation_id, "store": store_id,
                                                "date": "2025-12-01"})
    assert "Pick a day from today up to 90 days ahead." in bad_day.text
    without = client.get("/desk/chats", params={"book": conversation_id, "store": bare})
    assert "This store has no calendar" in without.text
    csrf = desk_csrf(client)
    taken = client.post(f"/desk/chats/{conversation_id}/appointment", data={
        "csrf_token": csrf, "store_id": store_id, "day": "2026-01-06",
        "slot_start": "2026-01-06T09:30:00+00:00"}, follow_redirects=False)
    assert taken.headers["location"] == (
        f"/desk/chats?error=invalid_slot&book={conversation_id}&store={store_id}"
        f"&date=2026-01-06#chat-{conversation_id}")
    booked = client.post(f"/desk/chats/{conversation_id}/appointment", data={
        "csrf_token": csrf, "store_id": store_id, "day": "2026-01-06",
        "slot_start": "2026-01-06T09:00:00+00:00"}, follow_redirects=False)
    assert booked.headers["location"] == f"/desk/chats#chat-{conversation_id}"
    [appointment] = list_appointments(ctx, "store", store_id)
    assert (appointment["source_ref"], appointment["slot_start"]) == (
        conversation_id, "2026-01-06T09:00:00+00:00")


def test_opening_chats_is_rate_limited_per_client(ctx: AppContext, client: TestClient,
                                                  keys: Keys) -> None:
    ctx.business["chat"] = {"opens_per_minute": 0.01, "opens_burst": 2}
    for n in range(2):
        with client.websocket_connect(url(keys, anonymous_id=f"anon-{n}")) as socket:
            assert socket.receive_json()["type"] == "welcome"
    with client.websocket_connect(url(keys, anonymous_id="anon-9")) as socket:
        assert socket.receive_json()["code"] == "chat_open_rate_limited"
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()
    assert closed.value.code == 4429
    assert rows(ctx) == (2, 2)


def _transcript(ctx: AppContext, conversation_id: str) -> dict[str, Any]:
    with ctx.db.reader() as session:
        conversation = store.find_conversation(session, conversation_id)
        assert conversation is not None
        events = recent_events(session, conversation["customer_id"])
    found: dict[str, Any] = next(e for e in events if e["event"] == "Chat Transcript")
    return found["properties"]


def test_the_visitor_ends_a_bot_chat_and_its_transcript_lands_on_the_timeline(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    with client.websocket_connect(url(keys)) as socket:
        conversation_id = socket.receive_json()["conversation_id"]
        until(socket, "bot")
        socket.send_json({"type": "message", "body": "How can I pay?"})
        until(socket, "bot")
        socket.send_json({"type": "close"})
        assert until(socket, "system")["body"] == "The chat has ended. Thank you!"
    transcript = _transcript(ctx, conversation_id)
    assert (transcript["outcome"], transcript["agent_id"]) == ("visitor_left", None)
    assert [line["sender"] for line in transcript["transcript"]["lines"]] == [
        "bot", "visitor", "bot", "system"]


def test_idle_bot_and_waiting_chats_are_closed(ctx: AppContext, clock: Any) -> None:
    staffed(ctx)
    waiting = _waiting_chat(ctx, "anon-1")
    bot = chat_service.open_conversation(ctx, anonymous_id="anon-2", user_id=None, lang="en",
                                         resume=None)["conversation"]["id"]
    clock.advance(minutes=29)
    fresh = _waiting_chat(ctx, "anon-3")
    assert chat_desk.close_idle(ctx) == 0
    clock.advance(minutes=1)
    assert chat_desk.close_idle(ctx) == 2
    assert _transcript(ctx, waiting)["outcome"] == "idle"
    assert _transcript(ctx, bot)["outcome"] == "idle"
    with ctx.db.reader() as session:
        still = store.find_conversation(session, fresh)
    assert still is not None and still["status"] == "waiting"
