"""The publisher tag offers a chat with an expert, on another origin, only while the chat queue
has a free agent (the phone queue being full); the invitation opens Kanaal's chat (Chromium)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from kanaal.app import create_app
from kanaal.config import Settings
from kanaal.contact_center import service as cc
from kanaal.contact_center.domain import Agent
from kanaal.core.clock import ManualClock
from kanaal.core.context import AppContext, build_context
from kanaal.core.live import open_live_store
from kanaal.publishers import service
from kanaal.touchpoints import chat_api, chat_desk, chat_service, chat_store
from tests.conftest import Keys, issue_test_keys
from tests.e2e.test_chat import WATCH_SOCKETS, conversation_state, eventually
from tests.e2e.test_publisher_tag import PAGE, publisher_site
from tests.integration.test_publisher_campaigns import campaign_body
from tests.integration.test_publisher_channels import CHAT_CAMPAIGN, chat_world
from tests.support.browser import hold_chat_sockets, open_page
from tests.support.server import live_server

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def chat_campaign(db_settings: Settings, clock: ManualClock) -> tuple[AppContext, Keys, Agent]:
    """(ctx, keys, chat expert) of a publisher's chat campaign whose phone agent is on a call
    and whose chat expert is not on duty yet."""
    ctx = build_context(db_settings, clock=clock, live=open_live_store(None))
    ctx.business["decisions"] = {"explore": False, "experiment": {"holdout_share": 0.0}}
    keys = issue_test_keys(ctx)
    chat_world(ctx, chat_agents=0)
    service.create_campaign(ctx, campaign_body("unused", **CHAT_CAMPAIGN))
    expert = cc.create_agent(ctx, name="Vera", email="vera@example.com",
                             password="correct horse battery", skills=["chat:volta"],
                             concurrency={"chat": 3})
    return ctx, keys, expert


@dataclass
class TagChat:
    """A publisher page whose tag chats with a live Kanaal; `sockets` holds the tag's chat
    sockets, passed through to Kanaal, in the order they opened."""

    ctx: AppContext
    expert: Agent
    page: Any
    sockets: list[Any]
    publisher: str


@contextmanager
def tag_chat_page(db_settings: Settings, clock: ManualClock, browser: Any, *,
                  console_errors: bool = False) -> Iterator[TagChat]:
    """A chat campaign with its expert available, Kanaal and the publisher's site served, and a
    page (not loaded yet) whose chat sockets are watched; no page errors when it closes."""
    ctx, keys, expert = chat_campaign(db_settings, clock)
    cc.set_agent_state(ctx, expert.id, "available")
    with live_server(create_app(ctx=ctx)) as kanaal:
        with publisher_site(PAGE.format(kanaal=kanaal, key=keys.write)) as publisher:
            ctx.settings = ctx.settings.model_copy(update={"cors_origins": [publisher]})
            context, page, errors = open_page(browser, console_errors=console_errors,
                                              viewport={"width": 1100, "height": 760})
            try:
                sockets = hold_chat_sockets(page)
                yield TagChat(ctx, expert, page, sockets, publisher)
            finally:
                context.close()
            assert errors == []


def start_chat(chat: TagChat, message: str, *, watch_sockets: bool = False) -> Any:
    """Load the publisher's page, open the chat with the expert, wait for the assistant's
    greeting and send `message`; the invitation box. With `watch_sockets` the page counts its
    chat sockets (WATCH_SOCKETS) from its load on."""
    chat.page.goto(chat.publisher)
    if watch_sockets:
        chat.page.evaluate(WATCH_SOCKETS)
    box = chat.page.locator("[data-kanaal-invitation='test-drive']")
    box.get_by_role("button", name="Chat with an expert").click()
    box.locator("li[data-sender='bot']").first.wait_for()
    box.get_by_label("Your message").fill(message)
    box.get_by_role("button", name="Send").click()
    return box


@pytest.mark.browser
@pytest.mark.slow
def test_the_tag_invites_to_chat_only_while_a_chat_expert_is_free_and_opens_the_chat(
    db_settings: Settings, clock: ManualClock, browser: Any
) -> None:
    # The phone agent is on a call; no chat expert on duty yet.
    ctx, keys, expert = chat_campaign(db_settings, clock)
    with live_server(create_app(ctx=ctx)) as kanaal:
        with publisher_site(PAGE.format(kanaal=kanaal, key=keys.write)) as publisher:
            ctx.settings = ctx.settings.model_copy(update={"cors_origins": [publisher]})
            context, page, errors = open_page(browser,
                                              viewport={"width": 1100, "height": 760})
            try:
                # No chat expert free and the phone queue full: nothing is shown
                page.goto(publisher)
                page.wait_for_function("window.kanaalInvitation !== undefined")
                assert page.evaluate("window.kanaalInvitation.reason") == "no_capacity"
                assert page.locator("[data-kanaal-invitation]").count() == 0
                # A chat expert comes on duty: the invitation offers a chat, not the number
                cc.set_agent_state(ctx, expert.id, "available")
                page.reload()
                box = page.locator("[data-kanaal-invitation='test-drive']")
                box.wait_for()
                assert page.evaluate("window.kanaalInvitation.channel.type") == "chat"
                assert box.get_by_role("link").count() == 0
                box.get_by_role("button", name="Chat with an expert").click()
                chat = box.locator("form[data-kanaal-chat]")
                chat.wait_for()
                # Kanaal's chat answers over its WebSocket: the assistant greets the reader
                page.wait_for_function(
                    "document.querySelector('form[data-kanaal-chat]')"
                    ".getAttribute('data-kanaal-chat') === 'bot'")
                box.locator("li[data-sender='bot']").first.wait_for()
                box.get_by_label("Your message").fill("Can I test drive the Volta this week?")
                box.get_by_role("button", name="Send").click()
                mine = box.locator("li[data-sender='visitor']")
                mine.wait_for()
                assert mine.inner_text().endswith("Can I test drive the Volta this week?")
                if ctx.db.is_sqlite:
                    page.screenshot(path=str(SCREENSHOTS / "publisher-chat.png"))
                # The reader closes the box (it ends the chat, so a reload does not resume it)
                box.get_by_role("button", name="Close").click()
                expect(box).to_have_count(0)
                # The expert is taken up elsewhere: the next page view gets no invitation
                cc.set_agent_state(ctx, expert.id, "busy")
                page.reload()
                page.wait_for_function("window.kanaalInvitation !== undefined")
                assert page.evaluate("window.kanaalInvitation.reason") == "no_capacity"
                assert page.locator("[data-kanaal-invitation]").count() == 0
            finally:
                context.close()
            assert errors == []
    figures = service.report(ctx, "test-drive")
    assert (figures["impressions"], figures["clicks"], figures["contacts"]) == (1, 1, 1)
    ctx.db.dispose()


@pytest.mark.browser
@pytest.mark.slow
def test_the_tag_chat_closed_for_falling_behind_resumes_and_shows_each_message_once(
    db_settings: Settings, clock: ManualClock, browser: Any
) -> None:
    with tag_chat_page(db_settings, clock, browser) as chat:
        ctx, page, sockets = chat.ctx, chat.page, chat.sockets
        # Given a reader who opened the chat and wrote to it
        box = start_chat(chat, "Can I test drive the Volta?")
        box.locator("li[data-sender='visitor']").wait_for()
        page.evaluate("window.firstChat = document.querySelector("
                      "'[data-kanaal-invitation]').kanaalChat")
        # When Kanaal closes the socket because it fell behind the live changes
        sockets[0].close(code=chat_api.FELL_BEHIND_CLOSE,
                         reason="fell behind the live changes")
        # Then the tag reopens the same conversation by itself
        page.wait_for_function(
            "document.querySelector('[data-kanaal-invitation]').kanaalChat !== "
            "window.firstChat && document.querySelector('[data-kanaal-invitation]')"
            ".kanaalChat.readyState === 1", timeout=10000)
        assert len(sockets) == 2
        [conversation] = chat_conversations(ctx)
        assert f"conversation={conversation}" in sockets[1].url
        # And a message written afterwards reaches Kanaal
        box.get_by_label("Your message").fill("This week, please.")
        box.get_by_role("button", name="Send").click()
        mine = box.locator("li[data-sender='visitor']")
        expect(mine.last).to_have_text("YouThis week, please.")
        # And the log, rebuilt from the history, shows each stored message once
        stored = chat_service.history(ctx, conversation)["messages"]
        assert [m["body"] for m in stored if m["sender"] == "visitor"] == [
            "Can I test drive the Volta?", "This week, please."]
        expect(box.locator("li span:nth-child(2)")).to_have_text(
            [m["body"] for m in stored])
        expect(box.get_by_role("alert")).to_have_text("")
    assert chat_conversations(ctx) == [conversation]
    ctx.db.dispose()


def chat_conversations(ctx: AppContext) -> list[str]:
    """The ids of the stored chat conversations."""
    with ctx.db.reader() as session:
        return list(session.execute(select(chat_store.chat_conversations.c.id)).scalars())


def chat_lines(ctx: AppContext, conversation_id: str) -> list[str]:
    """The bodies of a conversation's stored messages, in order."""
    return [m["body"] for m in chat_service.history(ctx, conversation_id)["messages"]]


@pytest.mark.browser
@pytest.mark.slow
def test_the_tag_chat_closed_while_it_waits_to_reconnect_ends_for_the_expert(
    db_settings: Settings, clock: ManualClock, browser: Any
) -> None:
    with tag_chat_page(db_settings, clock, browser, console_errors=True) as chat:
        ctx, expert, page, sockets = chat.ctx, chat.expert, chat.page, chat.sockets
        # The page's timers are Playwright's: the reconnect waits until the test says so
        page.clock.install()
        # Given a reader whose chat the expert took
        box = start_chat(chat, "I want a person", watch_sockets=True)
        expect(box.locator("form[data-kanaal-chat]")).to_have_attribute(
            "data-kanaal-chat", "waiting")
        [conversation] = chat_conversations(ctx)
        chat_desk.take_chat(ctx, expert.id, conversation)
        expect(box.locator("form[data-kanaal-chat]")).to_have_attribute(
            "data-kanaal-chat", "agent")
        # And whose socket Kanaal closed for falling behind: the tag waits to reconnect
        page.clock.pause_at(datetime.now(UTC) + timedelta(seconds=1))
        sockets[0].close(code=chat_api.FELL_BEHIND_CLOSE,
                         reason="fell behind the live changes")
        expect(page.locator("html")).to_have_attribute("data-sockets-closed", "1")
        # When the reader closes the box during that wait
        box.get_by_role("button", name="Close").click()
        expect(box).to_have_count(0)
        # Then the conversation ends in Kanaal at once: the expert no longer holds it
        assert eventually(lambda: conversation_state(ctx, conversation),
                          ("closed", "visitor_left")) == ("closed", "visitor_left")
        assert chat_desk.desk_view(ctx, expert.id)["mine"] == []
        # And the tag does not reconnect once the wait is over
        page.clock.run_for(10_000)
        expect(page.locator("html")).to_have_attribute("data-sockets-opened", "1")
        assert len(sockets) == 1
    assert chat_conversations(ctx) == [conversation]
    ctx.db.dispose()


@pytest.mark.browser
@pytest.mark.slow
def test_a_reader_who_reloads_mid_chat_goes_on_with_the_same_conversation_and_its_history(
    db_settings: Settings, clock: ManualClock, browser: Any
) -> None:
    with tag_chat_page(db_settings, clock, browser, console_errors=True) as chat:
        ctx, page, sockets = chat.ctx, chat.page, chat.sockets
        # Given a reader in the middle of a chat with the assistant
        box = start_chat(chat, "Can I test drive the Volta?")
        expect(box.locator("form[data-kanaal-chat]")).to_have_attribute(
            "data-kanaal-chat", "waiting")
        [conversation] = chat_conversations(ctx)
        earlier = chat_lines(ctx, conversation)
        expect(box.locator("li span:nth-child(2)")).to_have_text(earlier)
        # When they reload the page
        page.reload()
        # Then the box shows the same conversation again, each earlier message once
        box.locator("form[data-kanaal-chat='waiting']").wait_for()
        expect(box.locator("li span:nth-child(2)")).to_have_text(earlier)
        assert len(sockets) == 2
        assert f"conversation={conversation}" in sockets[1].url
        # And what they write next goes on in it
        box.get_by_label("Your message").fill("The Volta EV")
        box.get_by_role("button", name="Send").click()
        expect(box.locator("li[data-sender='visitor']").last).to_have_text(
            "YouThe Volta EV")
        assert chat_lines(ctx, conversation)[:len(earlier) + 1] == [
            *earlier, "The Volta EV"]
        expect(box.locator("li span:nth-child(2)")).to_have_text(
            chat_lines(ctx, conversation))
    # One conversation, and the reload asked for no second invitation
    assert chat_conversations(ctx) == [conversation]
    figures = service.report(ctx, "test-drive")
    assert (figures["impressions"], figures["clicks"], figures["contacts"]) == (1, 1, 1)
    ctx.db.dispose()
