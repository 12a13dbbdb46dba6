"""Must show: chat end to end in Chromium. The bot answers a routine question; "I want a
person" reaches an agent in the desk; the agent replies, then turns the chat into a callback;
the transcript lands on the customer's timeline and the qualification answers on the profile.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from kanaal.app import create_app
from kanaal.contact_center import service as cc
from kanaal.core.context import AppContext
from kanaal.touchpoints import chat_api, chat_service, chat_store
from tests.conftest import Keys, bearer
from tests.e2e.test_web_widgets import AGENT, new_page, shot, timeline
from tests.support.browser import hold_chat_sockets
from tests.support.server import live_server


def staffed(ctx: AppContext, keys: Keys) -> None:
    """A chat queue, a callback queue and one available agent; no proposals on page load."""
    ctx.business["touchpoints"] = {"demo_write_key": keys.write}
    ctx.business["decisions"] = {"explore": False, "experiment": {"holdout_share": 0.0},
                                 "caps": {"per_session": 0}}
    cc.create_queue(ctx, name="sales-chat", skill="sales", channel="chat", handle_time_seconds=300)
    cc.create_queue(ctx, name="sales-callbacks", skill="sales", channel="callback")
    agent = cc.create_agent(ctx, name="Anna de Vries", email=AGENT[0], password=AGENT[1],
                            skills=["sales"])
    cc.set_agent_state(ctx, agent.id, "available")


def sign_in(desk: Any, base: str) -> None:
    """Sign the desk page in as the agent."""
    desk.goto(f"{base}/desk/login")
    desk.get_by_label("Email").fill(AGENT[0])
    desk.get_by_label("Password").fill(AGENT[1])
    desk.get_by_role("button", name="Sign in").click()
    desk.wait_for_url(f"{base}/desk")


def visitor_says(page: Any, text: str) -> None:
    """Type a chat message and send it."""
    chat = page.locator("[data-kanaal-widget='chat']")
    chat.get_by_label("Your message").fill(text)
    chat.get_by_role("button", name="Send").click()


def last_line(page: Any, sender: str) -> str:
    """The newest chat line of one sender in the visitor's widget."""
    return str(page.locator(f".kanaal-log li[data-sender='{sender}'] .kanaal-body").last
               .inner_text())


def wait_line(page: Any, sender: str, text: str) -> None:
    """Wait until a line of `sender` with exactly `text` is shown."""
    page.locator(f".kanaal-log li[data-sender='{sender}'] .kanaal-body",
                 has_text=re.compile("^" + re.escape(text) + "$")).wait_for(timeout=10000)


@pytest.mark.browser
@pytest.mark.slow
def test_bot_answers_then_hands_over_and_the_agent_converts_the_chat_into_a_callback(
    ctx: AppContext, keys: Keys, browser: Any
) -> None:
    staffed(ctx, keys)
    with live_server(create_app(ctx=ctx)) as base, httpx.Client(base_url=base) as api:
        visitor_context, visitor, visitor_errors = new_page(browser)
        agent_context, desk, desk_errors = new_page(browser)
        try:
            # Given a visitor on the shop who opens the chat
            visitor.goto(f"{base}/demo/shop")
            visitor.get_by_role("button", name="Chat with us").click()
            wait_line(visitor, "bot", "Hello! I am the shop's assistant. Ask me about delivery, "
                      "returns, warranty or payment, or ask for a person.")
            # When they ask a routine question, the bot answers from the FAQ
            visitor_says(visitor, "When will my order be delivered?")
            wait_line(visitor, "bot", "Orders placed before 22:00 on a working day are "
                      "delivered the next day, free above EUR 50.")
            shot(visitor, ctx, "chat-bot.png")
            # An oversize message (past the input's maxlength) is refused with a clear error
            visitor.evaluate("document.getElementById('kanaal-chat-input').value = "
                             "'x'.repeat(2001)")
            visitor.locator("[data-kanaal-widget='chat']").get_by_role(
                "button", name="Send").click()
            alert = visitor.locator("#kanaal-chat-error")
            alert.get_by_text("the message has 2001 characters; the limit is 2000").wait_for()
            assert visitor.locator(".kanaal-log li[data-sender='visitor']").count() == 1

            # And "I want a person" hands over, with the qualification questions meanwhile
            visitor_says(visitor, "I want a person")
            wait_line(visitor, "bot", "While I find an advisor: which product are you "
                      "interested in?")
            visitor_says(visitor, "The Barista Pro")
            wait_line(visitor, "bot", "What is your budget, roughly?")
            visitor_says(visitor, "About € 1.200")
            wait_line(visitor, "bot", "When would you like to buy?")
            visitor_says(visitor, "This week")
            wait_line(visitor, "bot", "Thank you. An advisor will join this chat shortly.")

            # Then the agent sees the waiting chat in the desk and takes it
            desk.goto(f"{base}/desk/login")
            desk.get_by_label("Email").fill(AGENT[0])
            desk.get_by_label("Password").fill(AGENT[1])
            desk.get_by_role("button", name="Sign in").click()
            desk.wait_for_url(f"{base}/desk")
            desk.goto(f"{base}/desk/chats")
            assert desk.get_by_test_id("waiting-count").inner_text() == "1"
            assert "budget_amount: 1200" in desk.locator(".chat-waiting").inner_text()
            desk.get_by_role("button", name="Take chat").click()
            desk.wait_for_url(re.compile(r".*/desk/chats#chat-chat_.*"))
            wait_line(visitor, "system", "Anna de Vries joined the chat.")

            # And replies; the visitor gets it live
            desk.get_by_label("Reply").fill("Hi! The Barista Pro is in stock in Utrecht.")
            desk.get_by_role("button", name="Send").click()
            desk.wait_for_url(re.compile(r".*/desk/chats#chat-chat_.*"))
            wait_line(visitor, "agent", "Hi! The Barista Pro is in stock in Utrecht.")
            visitor_says(visitor, "Could you call me on 06 12345678?")
            desk.locator(".chat-line.chat-visitor", has_text="06 12345678").wait_for(
                timeout=10000)
            desk.evaluate("window.scrollTo(0, 0)")
            shot(desk, ctx, "chat-desk.png")
            shot(visitor, ctx, "chat-agent.png")

            # And converts the chat into a callback
            desk.get_by_text("Hand over").click()
            desk.get_by_label("Phone for a callback").fill("06 12345678")
            desk.get_by_role("button", name="Convert to callback").click()
            desk.wait_for_url(re.compile(r".*/desk/chats#chat-chat_.*"))
            wait_line(visitor, "system", "We will call you at +31612345678.")
            wait_line(visitor, "system", "The chat has ended. Thank you!")
            assert desk.get_by_test_id("my-chat-count").inner_text() == "0"
        finally:
            visitor_context.close()
            agent_context.close()
        assert visitor_errors == [] and desk_errors == []

        [callback] = cc.list_callbacks(ctx)
        assert (callback.queue, callback.phone) == ("sales-callbacks", "+31612345678")
        assert callback.context["source"] == "chat"
        assert callback.context["qualification"] == {
            "interest_product": "The Barista Pro", "budget": "About € 1.200",
            "budget_amount": "1200", "purchase_timing": "This week"}
        profile = api.get(f"/v1/customers/{callback.customer_id}", headers=bearer(keys.read))
        assert profile.status_code == 200, profile.text
        traits = profile.json()["traits"]
        assert {name: traits[name]["value"] for name in (
            "interest_product", "budget_amount", "purchase_timing")} == {
            "interest_product": "The Barista Pro", "budget_amount": "1200",
            "purchase_timing": "This week"}
        assert traits["budget"]["source"] == "touchpoints"

        events = timeline(api, keys, callback.customer_id)
        names = [e["event"] for e in events]
        assert {"Chat Started", "Chat Transcript", "Chat Completed",
                "Callback Requested"} <= set(names)
        transcript = next(e for e in events if e["event"] == "Chat Transcript")["properties"]
        assert transcript["outcome"] == "follow_up_needed"
        assert transcript["callback_id"] == callback.id
        lines = [(line["sender"], line["text"]) for line in transcript["transcript"]["lines"]]
        assert ("visitor", "I want a person") in lines
        assert ("agent", "Hi! The Barista Pro is in stock in Utrecht.") in lines
        assert lines[-1] == ("system", "The chat has ended. Thank you!")


@pytest.mark.browser
@pytest.mark.slow
def test_an_unknown_write_key_is_shown_in_the_chat_and_nothing_is_stored(
    ctx: AppContext, keys: Keys, browser: Any
) -> None:
    ctx.business["touchpoints"] = {"demo_write_key": "wk_not_a_key"}
    with live_server(create_app(ctx=ctx)) as base:
        context, page, _errors = new_page(browser)
        try:
            page.goto(f"{base}/demo/shop")
            page.get_by_role("button", name="Chat with us").click()
            page.locator("#kanaal-chat-error").get_by_text("unknown or revoked key").wait_for()
            shot(page, ctx, "chat-error.png")
        finally:
            context.close()
    with ctx.db.reader() as session:
        assert session.execute(select(func.count()).select_from(
            chat_store.chat_conversations)).scalar_one() == 0


@pytest.mark.browser
@pytest.mark.slow
def test_a_chat_that_waits_from_just_after_the_desk_rendered_shows_up_without_another_event(
    ctx: AppContext, keys: Keys, browser: Any
) -> None:
    staffed(ctx, keys)
    with live_server(create_app(ctx=ctx)) as base:
        context, desk, errors = new_page(browser)
        asked: list[str] = []

        def between_render_and_listen(socket: Any) -> None:
            """Hold the board's first socket until a visitor has asked for a person (that
            change is published before the socket listens), then connect it."""
            if not asked:
                opened = chat_service.open_conversation(ctx, anonymous_id="anon-late",
                                                        user_id=None, lang="en", resume=None)
                asked.append(opened["conversation"]["id"])
                chat_service.visitor_says(ctx, asked[0], "anon-late", "I want a person")
            socket.connect_to_server()

        try:
            # Given the desk's chats page, rendered with no chat waiting
            sign_in(desk, base)
            desk.route_web_socket("**/desk/chats/live", between_render_and_listen)
            page = desk.goto(f"{base}/desk/chats")
            assert page is not None and 'data-testid="waiting-count">0<' in page.text()
            # When a chat starts waiting before the page's live socket listens
            expect(desk.locator("#chat-board")).to_have_attribute("data-live-state", "live")
            assert len(asked) == 1
            # Then the board shows it once the socket is open, with no later event
            expect(desk.get_by_test_id("waiting-count")).to_have_text("1")
            expect(desk.locator(f".chat-waiting #chat-{asked[0]}")).to_contain_text(
                "While I find an advisor: which product are you interested in?")
        finally:
            context.close()
        assert errors == []


@pytest.mark.browser
@pytest.mark.slow
def test_a_chat_closed_for_falling_behind_resumes_and_shows_each_message_once(
    ctx: AppContext, keys: Keys, browser: Any
) -> None:
    staffed(ctx, keys)
    greeting = ("Hello! I am the shop's assistant. Ask me about delivery, returns, warranty or "
                "payment, or ask for a person.")
    delivery = ("Orders placed before 22:00 on a working day are delivered the next day, "
                "free above EUR 50.")
    returns = ("You may return a product within 30 days; the return label is free. We refund "
               "within 5 days.")
    with live_server(create_app(ctx=ctx)) as base:
        context, page, errors = new_page(browser)
        try:
            sockets = hold_chat_sockets(page)
            page.goto(f"{base}/demo/shop")
            # Each `welcome` the widget receives is counted on the page
            page.evaluate("window.kanaal.on('chat', function (d) { if (d.type === 'welcome') {"
                          " document.body.dataset.welcomes ="
                          " Number(document.body.dataset.welcomes || 0) + 1; } })")
            # Given a visitor who has asked the bot a question
            page.get_by_role("button", name="Chat with us").click()
            wait_line(page, "bot", greeting)
            visitor_says(page, "When will my order be delivered?")
            wait_line(page, "bot", delivery)
            # When the server closes the socket because it fell behind the live changes
            sockets[0].close(code=chat_api.FELL_BEHIND_CLOSE,
                             reason="fell behind the live changes")
            # Then the widget reconnects to the same conversation by itself
            expect(page.locator("body")).to_have_attribute("data-welcomes", "2")
            assert len(sockets) == 2
            kept = page.evaluate("JSON.parse(sessionStorage.getItem('kanaal.chat'))")
            assert f"conversation={kept}" in sockets[1].url
            # And a message typed afterwards reaches the server, which answers it
            visitor_says(page, "Can I return a product?")
            wait_line(page, "bot", returns)
            # And the log, rebuilt from the history, shows every message once
            expect(page.locator(".kanaal-log li .kanaal-body")).to_have_text([
                greeting, "When will my order be delivered?", delivery,
                "Can I return a product?", returns])
            expect(page.locator("#kanaal-chat-error")).to_have_text("")
        finally:
            context.close()
        assert errors == []
    with ctx.db.reader() as session:
        assert session.execute(select(func.count()).select_from(
            chat_store.chat_conversations)).scalar_one() == 1



# Counts, on <html>, the chat sockets the page opened and those it saw closed; run after the
# page loaded (it wraps the WebSocket class the widget will use, Playwright's routed one too).
WATCH_SOCKETS = """() => {
  const Seen = window.WebSocket;
  const root = document.documentElement;
  const count = (name) => { root.dataset[name] = String(Number(root.dataset[name] || 0) + 1); };
  window.WebSocket = class extends Seen {
    constructor(...args) {
      super(...args);
      count('socketsOpened');
      this.addEventListener('close', () => count('socketsClosed'));
    }
  };
}"""


def eventually(read: Any, want: Any, seconds: float = 10.0) -> Any:
    """`read()` once it returns `want` (polled; the last value when it never does)."""
    deadline = time.monotonic() + seconds
    got = read()
    while got != want and time.monotonic() < deadline:
        time.sleep(0.05)
        got = read()
    return got


def conversation_state(ctx: AppContext, conversation_id: str) -> tuple[str, str | None]:
    """(status, outcome) of a stored conversation."""
    conversation = chat_service.history(ctx, conversation_id)["conversation"]
    return conversation["status"], conversation["outcome"]


@pytest.mark.browser
@pytest.mark.slow
def test_closing_the_chat_while_it_waits_to_reconnect_ends_the_conversation_for_the_agent(
    ctx: AppContext, keys: Keys, browser: Any
) -> None:
    staffed(ctx, keys)
    with live_server(create_app(ctx=ctx)) as base:
        context, page, errors = new_page(browser)
        desk_context, desk, desk_errors = new_page(browser)
        try:
            # The page's timers are Playwright's: the reconnect waits until the test says so
            page.clock.install()
            sockets = hold_chat_sockets(page)
            page.goto(f"{base}/demo/shop")
            page.evaluate(WATCH_SOCKETS)
            # Given a visitor whose chat an agent took
            page.get_by_role("button", name="Chat with us").click()
            visitor_says(page, "I want a person")
            wait_line(page, "bot", "While I find an advisor: which product are you "
                      "interested in?")
            sign_in(desk, base)
            desk.goto(f"{base}/desk/chats")
            desk.get_by_role("button", name="Take chat").click()
            wait_line(page, "system", "Anna de Vries joined the chat.")
            expect(desk.get_by_test_id("my-chat-count")).to_have_text("1")
            conversation = page.evaluate("JSON.parse(sessionStorage.getItem('kanaal.chat'))")
            # And whose socket the server closed for falling behind: the widget waits to reconnect
            page.clock.pause_at(datetime.now(UTC) + timedelta(seconds=1))
            sockets[0].close(code=chat_api.FELL_BEHIND_CLOSE,
                             reason="fell behind the live changes")
            expect(page.locator("html")).to_have_attribute("data-sockets-closed", "1")
            # When the visitor closes the chat window during that wait
            page.locator("[data-kanaal-widget='chat']").get_by_role("button",
                                                                    name="Close").click()
            expect(page.locator("[data-kanaal-widget='chat']")).to_have_count(0)
            # Then the conversation ends on the server at once, and the agent's desk shows it
            expect(desk.get_by_test_id("my-chat-count")).to_have_text("0")
            assert eventually(lambda: conversation_state(ctx, conversation),
                              ("closed", "visitor_left")) == ("closed", "visitor_left")
            # And the widget does not reconnect once the wait is over
            page.clock.run_for(10_000)
            expect(page.locator("html")).to_have_attribute("data-sockets-opened", "1")
            assert len(sockets) == 1
        finally:
            context.close()
            desk_context.close()
        assert errors == [] and desk_errors == []
    with ctx.db.reader() as session:
        assert session.execute(select(func.count()).select_from(
            chat_store.chat_conversations)).scalar_one() == 1
