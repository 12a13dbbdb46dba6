"""No chat message is lost, or shown twice, between the history a visitor's socket sends and
the live events that follow it."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from starlette.websockets import WebSocketDisconnect

from kanaal.core.context import AppContext
from kanaal.touchpoints import chat_api, chat_desk, chat_service
from kanaal.touchpoints import chat_store as store
from tests.conftest import Keys
from tests.integration.test_chat_api import staffed, url

REPLY = "Hi, I am here. The Barista Pro is in stock."


def with_an_agent(ctx: AppContext) -> tuple[str, str]:
    """(agent id, conversation id) of a chat an agent took: five messages (greeting, "I want
    a person", two bot lines, "joined")."""
    agent_id = staffed(ctx)
    conversation_id = chat_service.open_conversation(
        ctx, anonymous_id="anon-1", user_id=None, lang="en", resume=None)["conversation"]["id"]
    chat_service.visitor_says(ctx, conversation_id, "anon-1", "I want a person")
    chat_desk.take_chat(ctx, agent_id, conversation_id)
    return agent_id, conversation_id


@pytest.mark.parametrize("when", ["before", "after"])
def test_an_agent_reply_sent_while_the_visitor_reconnects_reaches_them_exactly_once(
    ctx: AppContext, client: TestClient, keys: Keys, monkeypatch: pytest.MonkeyPatch, when: str
) -> None:
    # Given a chat with an agent (greeting, "I want a person", two bot lines, "joined")
    agent_id, conversation_id = with_an_agent(ctx)
    read_history = store.messages_of
    replies: list[dict[str, Any]] = []

    def history_while_the_agent_replies(session: Session, of: str) -> list[dict[str, Any]]:
        """The socket's history read, with the agent's reply committed and published just
        before it (the reply is in the history) or just after it (it is not)."""
        if when == "before" and not replies:
            replies.append(chat_desk.agent_says(ctx, agent_id, of, REPLY))
        messages = read_history(session, of)
        if when == "after" and not replies:
            replies.append(chat_desk.agent_says(ctx, agent_id, of, REPLY))
        return messages

    monkeypatch.setattr(store, "messages_of", history_while_the_agent_replies)
    # When the visitor reconnects while the agent replies, then says thanks
    with client.websocket_connect(url(keys, conversation=conversation_id)) as socket:
        welcome = socket.receive_json()
        assert (welcome["type"], welcome["conversation_id"], welcome["status"]) == (
            "welcome", conversation_id, "agent")
        socket.send_json({"type": "message", "body": "Thanks!"})
        messages: list[dict[str, Any]] = []
        while not messages or messages[-1]["body"] != "Thanks!":
            frame = socket.receive_json()
            if frame["type"] == "message":
                messages.append(frame)
    # Then every message arrived once, in order, the reply among them
    assert [replied["seq"] for replied in replies] == [6]
    assert [(m["seq"], m["sender"]) for m in messages] == [
        (1, "bot"), (2, "visitor"), (3, "bot"), (4, "bot"), (5, "system"), (6, "agent"),
        (7, "visitor")]
    assert [m["body"] for m in messages].count(REPLY) == 1


def test_a_socket_that_falls_behind_is_closed_and_its_page_reads_every_message_again(
    ctx: AppContext, client: TestClient, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a chat with an agent, and sockets that may fall two changes behind
    agent_id, conversation_id = with_an_agent(ctx)
    monkeypatch.setattr(chat_api, "BACKLOG", 2)
    entered, release = threading.Event(), threading.Event()
    filter_events = chat_api.unseen

    def slow_sender(events: list[dict[str, Any]], shown: int) -> list[dict[str, Any]]:
        """The socket's sender stalls on the first live change until the test lets it go."""
        if not entered.is_set():
            entered.set()
            release.wait(timeout=30)
        return filter_events(events, shown)

    monkeypatch.setattr(chat_api, "unseen", slow_sender)
    with client.websocket_connect(url(keys, conversation=conversation_id)) as socket:
        assert socket.receive_json()["type"] == "welcome"
        history = [socket.receive_json() for _ in range(5)]
        assert [m["seq"] for m in history] == [1, 2, 3, 4, 5]
        # When the agent sends four replies while the socket's sender is stalled on the first
        chat_desk.agent_says(ctx, agent_id, conversation_id, "reply 1")
        assert entered.wait(timeout=30)
        for n in (2, 3, 4):
            chat_desk.agent_says(ctx, agent_id, conversation_id, f"reply {n}")
        release.set()
        socket.send_json({"type": "message", "body": "ping"})
        # Then the socket sends what it holds and is closed ("try again later"), instead of
        # going on (to the visitor's "ping") with a change silently missing
        frames: list[dict[str, Any]] = []
        code = None
        try:
            while not frames or frames[-1].get("body") != "ping":
                frames.append(socket.receive_json())
        except WebSocketDisconnect as closed:
            code = closed.code
        assert code == 1013, [f.get("body") for f in frames]
        assert [f["body"] for f in frames if f["type"] == "message"] == ["reply 1"]
    # And the page that reconnects reads every reply
    with client.websocket_connect(url(keys, conversation=conversation_id)) as socket:
        assert socket.receive_json()["type"] == "welcome"
        again = [socket.receive_json() for _ in range(10)]
    assert [m["body"] for m in again[5:]] == ["reply 1", "reply 2", "reply 3", "reply 4", "ping"]
