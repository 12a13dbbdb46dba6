"""Must show: the publisher tag on a publisher's page served from another origin (Chromium).

The invitation shows only while the campaign's queue has a free agent (not before an agent is
free, not after they went busy); booking an appointment
from it stores the appointment and a real SMTP server (aiosmtpd) receives the confirmation.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from kanaal.app import create_app
from kanaal.config import Settings
from kanaal.contact_center import service as cc
from kanaal.core.clock import ManualClock
from kanaal.core.context import build_context
from kanaal.core.idempotency import idempotency_keys
from kanaal.core.live import open_live_store
from kanaal.publishers import appointments, service
from tests.conftest import issue_test_keys
from tests.integration.test_publisher_campaigns import campaign_body, world
from tests.support.browser import open_page
from tests.support.server import free_port, live_server
from tests.support.smtp import Inbox

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>AutoWeek</title>
<style>body{{font:16px/1.5 Georgia,serif;max-width:720px;margin:24px auto;color:#222}}
h1{{font-size:30px}} .meta{{color:#777}}</style></head><body>
<p class="meta">AutoWeek · Reviews</p><h1>Review: the Volta EV, 520 km on one charge</h1>
<p>We drove the new Volta EV from Amsterdam to Maastricht and back on a single charge.
The ride is quiet, the seats are firm and the software is fast.</p>
<p>Verdict: the best electric family car under 45,000 euro this year.</p>
<script src="{kanaal}/publisher/tag.js" async data-campaign="test-drive" data-key="{key}"
 data-segment="in-market-ev" data-score="0.8" data-page-type="review"></script>
</body></html>"""


@contextmanager
def publisher_site(html: str) -> Iterator[str]:
    """A second web server, on its own port (another origin), serving the publisher's page."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def wait_for_mail(inbox: Inbox, seconds: float = 30.0) -> Message:
    """The first message the SMTP server receives (the outbox worker delivers it)."""
    deadline = time.monotonic() + seconds
    while not inbox.messages and time.monotonic() < deadline:
        time.sleep(0.1)
    assert inbox.messages, "no email arrived"
    return inbox.messages[0]


@pytest.mark.browser
@pytest.mark.slow
def test_the_tag_invites_only_with_capacity_and_books_with_an_emailed_confirmation(
    db_settings: Settings, clock: ManualClock, inbox: tuple[Inbox, int], browser: Any
) -> None:
    settings = db_settings.model_copy(update={
        "smtp_host": "127.0.0.1", "smtp_port": inbox[1], "smtp_from": "Volta <drive@example.com>"})
    ctx = build_context(settings, clock=clock, live=open_live_store(None))
    ctx.business["decisions"] = {"explore": False, "experiment": {"holdout_share": 0.0}}
    keys = issue_test_keys(ctx)
    shop = world(ctx, available=0)
    service.create_campaign(ctx, campaign_body(shop))
    agent = cc.create_agent(ctx, name="Anna", email="anna@example.com",
                            password="correct horse battery", skills=["brand:volta"])
    with live_server(create_app(ctx=ctx)) as kanaal:
        html = PAGE.format(kanaal=kanaal, key=keys.write)
        with publisher_site(html) as publisher:
            ctx.settings = ctx.settings.model_copy(update={"cors_origins": [publisher]})
            context, page, errors = open_page(browser,
                                              viewport={"width": 1100, "height": 760})
            try:
                # No agent free: the tag asks, and shows nothing
                page.goto(publisher)
                page.wait_for_function("window.kanaalInvitation !== undefined")
                assert page.evaluate("window.kanaalInvitation.reason") == "no_capacity"
                assert page.locator("[data-kanaal-invitation]").count() == 0
                # An agent becomes free: the invitation appears with the tracked number
                cc.set_agent_state(ctx, agent.id, "available")
                page.reload()
                box = page.locator("[data-kanaal-invitation='test-drive']")
                box.wait_for()
                assert box.get_by_role("heading").inner_text() == "Book a test drive"
                assert box.get_by_role("link").inner_text() == "Call +31 20 555 0101"
                if ctx.db.is_sqlite:
                    page.screenshot(path=str(SCREENSHOTS / "publisher-invitation.png"))
                # Book a test drive on Tuesday at 10:00
                box.get_by_role("button", name="Book an appointment").click()
                # fill() fires a change; the reader picking the day again fires a second one
                # while the first answer is still on its way: the times are listed once
                box.get_by_label("Day").fill("2026-01-06")
                box.get_by_label("Day").dispatch_event("change")
                expect(box.get_by_label("Time").locator("option")).to_have_text(
                    ["09:00 UTC", "10:00 UTC", "11:00 UTC"])
                box.get_by_label("Time").select_option("2026-01-06T10:00:00Z")
                box.get_by_label("Your name").fill("Ann de Vries")
                box.get_by_label("Your e-mail").fill("ann@example.com")
                box.get_by_role("button", name="Confirm").click()
                status = box.get_by_role("status")
                status.wait_for()
                assert status.inner_text() == (
                    "Booked for 2026-01-06 at 10:00 UTC. A confirmation is on its way to "
                    "ann@example.com.")
                if ctx.db.is_sqlite:
                    page.screenshot(path=str(SCREENSHOTS / "publisher-booked.png"))
                # The agent goes on a call: the next page view gets no invitation
                cc.set_agent_state(ctx, agent.id, "busy")
                page.reload()
                page.wait_for_function("window.kanaalInvitation !== undefined")
                assert page.evaluate("window.kanaalInvitation.reason") == "no_capacity"
                assert page.locator("[data-kanaal-invitation]").count() == 0
            finally:
                context.close()
            assert errors == []
        mail = wait_for_mail(inbox[0])
    [booked] = appointments.list_appointments(ctx, "test-drive")
    assert (booked["name"], booked["email"], booked["slot_start"].isoformat()) == (
        "Ann de Vries", "ann@example.com", "2026-01-06T10:00:00+00:00")
    assert (mail["To"], mail["Subject"]) == (
        "ann@example.com", "Appointment confirmed: Test drive the Volta EV")
    text = mail.get_payload(decode=True)
    assert isinstance(text, bytes)
    assert "When:  Tuesday 06 January 2026, 10:00-11:00 UTC" in text.decode()
    figures = service.report(ctx, "test-drive")
    assert (figures["impressions"], figures["clicks"], figures["contacts"],
            figures["appointments"]) == (1, 1, 1, 1)
    # The tag sent an Idempotency-Key with the booking (a retried submit books once).
    with ctx.db.reader() as session:
        keyed = session.execute(select(idempotency_keys.c.key).where(
            idempotency_keys.c.scope == "calendars.appointments")).scalars().all()
    assert len(keyed) == 1 and len(keyed[0]) >= 32
    ctx.db.dispose()
