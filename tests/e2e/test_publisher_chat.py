"""The publisher tag offers a chat with an expert, on another origin, only while the chat queue
has a free agent (the phone queue being full); the invitation opens Kanaal's chat (Chromium)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kanaal.app import create_app
from kanaal.config import Settings
from kanaal.contact_center import service as cc
from kanaal.core.clock import ManualClock
from kanaal.core.context import build_context
from kanaal.core.live import open_live_store
from kanaal.publishers import service
from tests.conftest import issue_test_keys
from tests.e2e.test_publisher_tag import PAGE, publisher_site
from tests.integration.test_publisher_campaigns import campaign_body
from tests.integration.test_publisher_channels import CHAT_CAMPAIGN, chat_world
from tests.support.browser import open_page
from tests.support.server import live_server

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.mark.browser
@pytest.mark.slow
def test_the_tag_invites_to_chat_only_while_a_chat_expert_is_free_and_opens_the_chat(
    db_settings: Settings, clock: ManualClock, browser: Any
) -> None:
    ctx = build_context(db_settings, clock=clock, live=open_live_store(None))
    ctx.business["decisions"] = {"explore": False, "experiment": {"holdout_share": 0.0}}
    keys = issue_test_keys(ctx)
    chat_world(ctx, chat_agents=0)  # the phone agent is on a call; no chat expert yet
    service.create_campaign(ctx, campaign_body("unused", **CHAT_CAMPAIGN))
    expert = cc.create_agent(ctx, name="Vera", email="vera@example.com",
                             password="correct horse battery", skills=["chat:volta"],
                             concurrency={"chat": 3})
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
