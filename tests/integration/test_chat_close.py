"""The visitor ends their chat over HTTP (POST /v1/chat/conversations/{id}/close), as the widget
does when its socket is not open (closed while it waits to reconnect): on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kanaal.contact_center import service as cc
from kanaal.core.context import AppContext
from kanaal.customers.service import recent_events
from kanaal.touchpoints import chat_desk, chat_service
from kanaal.touchpoints import chat_store as store
from tests.conftest import Keys
from tests.integration.test_chat_api import staffed
from tests.integration.test_touchpoints_api import SHOP, basic

PLAIN = {"Content-Type": "text/plain;charset=UTF-8"}


def close_url(conversation_id: str) -> str:
    """The close endpoint of a conversation."""
    return f"/v1/chat/conversations/{conversation_id}/close"


def plain(body: dict[str, Any]) -> str:
    """A body as the widget sends it: JSON in a text/plain request (no CORS preflight)."""
    return json.dumps(body)


def bot_chat(ctx: AppContext, anonymous_id: str = "anon-1") -> str:
    """A visitor's open conversation with the bot, one question asked."""
    opened = chat_service.open_conversation(ctx, anonymous_id=anonymous_id, user_id=None,
                                            lang="en", resume=None)
    conversation_id: str = opened["conversation"]["id"]
    chat_service.visitor_says(ctx, conversation_id, anonymous_id, "How can I pay?")
    return conversation_id


def state(ctx: AppContext, conversation_id: str) -> tuple[str, str | None, list[str], int]:
    """(status, outcome, message senders, transcripts on the timeline) of a conversation."""
    with ctx.db.reader() as session:
        conversation = store.find_conversation(session, conversation_id)
        assert conversation is not None
        messages = store.messages_of(session, conversation_id)
        transcripts = sum(1 for e in recent_events(session, conversation["customer_id"])
                          if e["event"] == "Chat Transcript")
    return (conversation["status"], conversation["outcome"], [m["sender"] for m in messages],
            transcripts)


def test_the_visitor_ends_their_chat_over_http_and_a_repeat_answers_the_same(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    # Given a visitor's chat with the bot
    conversation_id = bot_chat(ctx)
    events: list[Any] = []
    ctx.live.subscribe(chat_service.LIVE_CHANNEL, events.append)
    # When the widget ends it over HTTP: the key in the text/plain body, as fetch(keepalive) sends
    body = plain({"writeKey": keys.write, "anonymousId": "anon-1"})
    ended = client.post(close_url(conversation_id), headers=PLAIN, content=body)
    # Then it has ended as a socket's close frame ends it: goodbye, transcript on the timeline
    assert ended.status_code == 200, ended.text
    assert ended.json() == {"conversation_id": conversation_id, "status": "closed"}
    assert state(ctx, conversation_id) == (
        "closed", "visitor_left", ["bot", "visitor", "bot", "system"], 1)
    # And the desks and the visitor's other sockets are told
    assert [e["type"] for m in events for e in m["events"]] == ["message", "status"]
    assert events[-1]["events"][-1]["status"] == "closed"
    # When the request is retried (the first answer was lost)
    again = client.post(close_url(conversation_id), headers=PLAIN, content=body)
    # Then it answers the same and nothing changes: no second goodbye or transcript
    assert (again.status_code, again.json()) == (200, ended.json())
    assert state(ctx, conversation_id) == (
        "closed", "visitor_left", ["bot", "visitor", "bot", "system"], 1)
    assert len(events) == 1


def test_closing_a_chat_an_agent_holds_ends_the_agents_interaction(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    # Given a chat an agent took
    agent_id = staffed(ctx)
    conversation_id = bot_chat(ctx, "anon-7")
    chat_service.visitor_says(ctx, conversation_id, "anon-7", "I want a person")
    chat_desk.take_chat(ctx, agent_id, conversation_id)
    [mine] = chat_desk.desk_view(ctx, agent_id)["mine"]
    # When the visitor ends it (key as Basic username, JSON body, from an allowed origin)
    ctx.settings.cors_origins = [SHOP]
    ended = client.post(close_url(conversation_id), headers={**basic(keys.write), "Origin": SHOP},
                        json={"anonymousId": "anon-7"})
    assert ended.status_code == 200, ended.text
    assert ended.headers["access-control-allow-origin"] == SHOP
    # Then the agent's desk no longer holds it and their chat interaction ended as no_sale
    assert chat_desk.desk_view(ctx, agent_id) == {"waiting": [], "mine": []}
    interaction = cc.get_interaction(ctx, mine["interaction_id"])
    assert (interaction.outcome, interaction.ended_at is not None) == ("no_sale", True)
    assert state(ctx, conversation_id)[:2] == ("closed", "visitor_left")


@pytest.mark.parametrize(("headers", "body", "status", "code"), [
    # No key, an unknown key
    (PLAIN, {"anonymousId": "anon-1"}, 401, "missing_credentials"),
    (PLAIN, {"anonymousId": "anon-1", "writeKey": "wk_nope"}, 401, "invalid_key"),
    ({**basic("wk_nope"), **PLAIN}, {"anonymousId": "anon-1"}, 401, "invalid_key"),
    # Another visitor's conversation is not found (its existence is not told either)
    (PLAIN, {"anonymousId": "anon-2", "writeKey": "{key}"}, 404, "unknown_conversation"),
    # No visitor, not JSON, too big
    (PLAIN, {"writeKey": "{key}"}, 422, "validation_error"),
    (PLAIN, "not json", 400, "malformed_json"),
    (PLAIN, {"anonymousId": "anon-1", "writeKey": "{key}", "pad": "x" * 5000}, 413,
     "body_too_large"),
    # A page on an origin that is not allowed
    ({**PLAIN, "Origin": "https://evil.example"}, {"anonymousId": "anon-1", "writeKey": "{key}"},
     403, "origin_not_allowed"),
])
def test_a_close_that_does_not_prove_the_visitor_is_refused_and_the_chat_stays_open(
    ctx: AppContext, client: TestClient, keys: Keys, headers: dict[str, str], body: Any,
    status: int, code: str
) -> None:
    conversation_id = bot_chat(ctx)
    before = state(ctx, conversation_id)
    ctx.settings.cors_origins = [SHOP]
    if isinstance(body, dict):
        body = plain({k: v.replace("{key}", keys.write) for k, v in body.items()})
    refused = client.post(close_url(conversation_id), headers=headers, content=body)
    assert (refused.status_code, refused.json()["error"]["code"]) == (status, code)
    assert before == state(ctx, conversation_id) == (
        "bot", None, ["bot", "visitor", "bot"], 0)


def test_an_unknown_conversation_is_not_found(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    body = plain({"anonymousId": "anon-1", "writeKey": keys.write})
    missing = client.post(close_url("chat_missing"), headers=PLAIN, content=body)
    assert (missing.status_code, missing.json()["error"]["code"]) == (
        404, "unknown_conversation")
    too_long = client.post(close_url("c" * 65), headers=PLAIN, content=body)
    assert (too_long.status_code, too_long.json()["error"]["code"]) == (
        422, "validation_error")
