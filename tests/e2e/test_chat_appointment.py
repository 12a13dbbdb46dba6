"""Chat end to end in Chromium, store appointment: an agent in the desk picks a store and one of
its free slots for the chat's customer; the visitor sees the confirmation in the chat; the slot
is taken; the appointment and the transcript are on the customer's timeline."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from kanaal.app import create_app
from kanaal.calendars import service as calendars
from kanaal.core.context import AppContext
from tests.conftest import Keys
from tests.e2e.test_chat import staffed, visitor_says, wait_line
from tests.e2e.test_web_widgets import AGENT, SCREENSHOTS, new_page, shot, timeline
from tests.support.calendars import store_with_calendar
from tests.support.inventory import make_location
from tests.support.server import live_server

BOOKED = re.compile(r"^Your appointment at Store Utrecht is booked for Tuesday 06 January "
                    r"2026, 10:00-11:00 CET\. Reference: (apt_\w+)\.$")


@pytest.mark.browser
@pytest.mark.slow
def test_an_agent_books_a_free_store_slot_from_a_chat_and_the_visitor_sees_it(
    ctx: AppContext, keys: Keys, browser: Any
) -> None:
    staffed(ctx, keys)
    store_id = store_with_calendar(ctx, "Store Utrecht")
    make_location(ctx, "Store Delft", kind="store")  # no calendar: the desk says so
    with live_server(create_app(ctx=ctx)) as base, httpx.Client(base_url=base) as api:
        visitor_context, visitor, visitor_errors = new_page(browser)
        agent_context, desk, desk_errors = new_page(browser)
        try:
            # Given a visitor who asks the chat for a person
            visitor.goto(f"{base}/demo/shop")
            visitor.get_by_role("button", name="Chat with us").click()
            visitor_says(visitor, "I want a person")
            wait_line(visitor, "bot", "While I find an advisor: which product are you "
                      "interested in?")
            visitor_says(visitor, "The Barista Pro, can I try it in Utrecht?")

            # And an agent who takes the chat in the desk
            desk.goto(f"{base}/desk/login")
            desk.get_by_label("Email").fill(AGENT[0])
            desk.get_by_label("Password").fill(AGENT[1])
            desk.get_by_role("button", name="Sign in").click()
            desk.wait_for_url(f"{base}/desk")
            desk.goto(f"{base}/desk/chats")
            desk.get_by_role("button", name="Take chat").click()
            desk.wait_for_url(re.compile(r".*/desk/chats#chat-chat_.*"))
            wait_line(visitor, "system", "Anna de Vries joined the chat.")

            # When the agent opens the booking panel, picks the store and a day
            desk.get_by_text("Book a store appointment").click()
            store = desk.get_by_label("Store")
            assert store.locator("option").all_inner_texts() == [
                "Store Utrecht", "Store Delft (no calendar)"]
            store.select_option(label="Store Utrecht")
            desk.get_by_label("Day").fill("2026-01-06")
            desk.get_by_role("button", name="Show free slots").click()
            # Then the desk shows the store's free slots in its local time
            slots = desk.get_by_role("group", name="Free slots on 2026-01-06 (Europe/Amsterdam)")
            slots.wait_for()
            assert slots.get_by_role("radio").count() == 8
            # And a visitor message meanwhile refreshes the board (live once its socket is
            # open) without losing the panel or the slot the agent picked
            expect(desk.locator("#chat-board")).to_have_attribute("data-live-state", "live")
            slots.get_by_label("10:00").check()
            visitor_says(visitor, "Tuesday morning would be great")
            desk.locator(".chat-line.chat-visitor", has_text="Tuesday morning").wait_for(
                timeout=10000)
            expect(slots.get_by_label("10:00")).to_be_checked()
            if ctx.db.is_sqlite:  # the chat card with its slot picker
                desk.locator(".chat-card").screenshot(
                    path=str(SCREENSHOTS / "chat-desk-appointment.png"))
            desk.get_by_role("button", name="Book this slot").click()
            desk.wait_for_url(re.compile(r".*/desk/chats#chat-chat_.*"))

            # Then the visitor sees the confirmation in the chat, and the chat ends
            line = visitor.locator(".kanaal-log li[data-sender='system'] .kanaal-body",
                                   has_text=BOOKED)
            line.wait_for(timeout=10000)
            match = BOOKED.match(line.inner_text())
            assert match is not None
            wait_line(visitor, "system", "The chat has ended. Thank you!")
            shot(visitor, ctx, "chat-appointment-booked.png")
            assert desk.get_by_test_id("my-chat-count").inner_text() == "0"
        finally:
            visitor_context.close()
            agent_context.close()
        assert visitor_errors == [] and desk_errors == []

        # And the slot is booked for the chat's customer, no longer free
        appointment = calendars.get_appointment(ctx, match.group(1))
        assert (appointment["resource_id"], appointment["local_start"], appointment["source"],
                appointment["status"]) == (store_id, "2026-01-06T10:00:00+01:00", "chat",
                                           "booked")
        free = api.get(f"/v1/calendars/store/{store_id}/slots", params={"date": "2026-01-06"},
                       headers={"Authorization": f"Bearer {keys.read}"}).json()
        assert "10:00" not in [s["label"] for s in free["slots"]]
        # And the appointment and the transcript are on the customer's timeline
        events = timeline(api, keys, appointment["customer_id"])
        booked = next(e for e in events if e["event"] == "Appointment Booked")
        assert booked["properties"]["appointment_id"] == appointment["id"]
        transcript = next(e for e in events if e["event"] == "Chat Transcript")["properties"]
        assert transcript["appointment_id"] == appointment["id"]
        lines = [(line["sender"], line["text"]) for line in transcript["transcript"]["lines"]]
        assert ("visitor", "Tuesday morning would be great") in lines
        assert lines[-2][1] == match.group(0)
