"""Behavioural triggers end to end: a real SMTP server (aiosmtpd) receives the email."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from kanaal.app import create_app
from kanaal.config import Settings
from kanaal.core.clock import ManualClock
from kanaal.core.context import AppContext, build_context
from kanaal.core.live import open_live_store
from kanaal.core.outbox import OutboxDispatcher
from kanaal.marketing import store
from kanaal.marketing.delivery import EmailSender
from kanaal.marketing.triggers import create_trigger, run_due
from tests.conftest import Keys, bearer
from tests.support.marketing import consume, track
from tests.support.smtp import Inbox

CART = {
    "name": "abandoned cart",
    "event": "Product Added",
    "delay_seconds": 3600,
    "cancel_on": ["Order Completed"],
    "action": {
        "kind": "email",
        "subject": "Still thinking about {{ cart.name }}?",
        "body": "Hi {{ traits.first_name }},\nyour cart is waiting.\n"
                "Unsubscribe: {{ unsubscribe_url }}\n",
    },
}
CONSENTING = {"first_name": "Ann", "consent": {"email": True}}


@pytest.fixture
def mail_ctx(db_settings: Settings, clock: ManualClock,
             inbox: tuple[Inbox, int]) -> Iterator[AppContext]:
    settings = db_settings.model_copy(update={
        "smtp_host": "127.0.0.1", "smtp_port": inbox[1], "smtp_from": "Shop <shop@example.com>",
        "public_base_url": "http://testserver", "run_workers": False,
    })
    context = build_context(settings, clock=clock, live=open_live_store(None))
    yield context
    context.db.dispose()


def deliver(ctx: AppContext) -> int:
    """One pass of the outbox with the email handler, as the running app does."""
    dispatcher = OutboxDispatcher(ctx.db, ctx.clock)
    dispatcher.register("email", EmailSender(ctx.settings).send)
    return asyncio.run(dispatcher.deliver_due())


def test_abandoned_cart_sends_one_email_after_the_delay_and_unsubscribe_stops_the_next(
    mail_ctx: AppContext, clock: ManualClock, inbox: tuple[Inbox, int]
) -> None:
    received = inbox[0].messages
    create_trigger(mail_ctx, CART)
    track(mail_ctx, "ann@example.com", "Product Added", traits=CONSENTING, name="Oak table")
    clock.advance(minutes=10)
    track(mail_ctx, "ann@example.com", "Product Added", name="Oak table")
    consume(mail_ctx)
    clock.advance(minutes=59)
    assert run_due(mail_ctx) == {}
    assert deliver(mail_ctx) == 0
    clock.advance(minutes=2)
    assert run_due(mail_ctx) == {"sent": 1}
    assert deliver(mail_ctx) == 1
    assert len(received) == 1
    mail = received[0]
    assert mail["To"] == "ann@example.com"
    assert mail["Subject"] == "Still thinking about Oak table?"
    body = mail.get_payload(decode=True).decode().replace("\r\n", "\n")
    assert body.startswith("Hi Ann,\nyour cart is waiting.")
    link = mail["List-Unsubscribe"].strip("<>")
    assert link in body
    with TestClient(create_app(ctx=mail_ctx)) as client:
        page = client.get(link.removeprefix("http://testserver"))
    assert page.status_code == 200
    assert "unsubscribed" in page.text
    track(mail_ctx, "ann@example.com", "Product Added", name="Lamp")
    consume(mail_ctx)
    clock.advance(hours=25)
    assert run_due(mail_ctx) == {"unsubscribed": 1}
    assert deliver(mail_ctx) == 0
    assert len(received) == 1


def test_an_order_within_the_delay_cancels_the_email(
    mail_ctx: AppContext, clock: ManualClock, inbox: tuple[Inbox, int]
) -> None:
    create_trigger(mail_ctx, CART)
    track(mail_ctx, "ann@example.com", "Product Added", traits=CONSENTING, name="Oak table")
    clock.advance(minutes=30)
    track(mail_ctx, "ann@example.com", "Order Completed", revenue=499)
    consume(mail_ctx)
    clock.advance(hours=2)
    assert run_due(mail_ctx) == {"cancelled": 1}
    assert deliver(mail_ctx) == 0
    assert inbox[0].messages == []


def test_no_email_without_consent(mail_ctx: AppContext, clock: ManualClock) -> None:
    create_trigger(mail_ctx, CART)
    track(mail_ctx, "bob@example.com", "Product Added", name="Chair")
    consume(mail_ctx)
    clock.advance(hours=2)
    assert run_due(mail_ctx) == {"no_consent": 1}


def test_a_restart_between_event_and_delay_loses_nothing(
    mail_ctx: AppContext, clock: ManualClock, inbox: tuple[Inbox, int]
) -> None:
    create_trigger(mail_ctx, CART)
    track(mail_ctx, "ann@example.com", "Product Added", traits=CONSENTING, name="Oak table")
    consume(mail_ctx)
    mail_ctx.db.dispose()
    # A new process on the same database: the scheduled run is still there.
    restarted = build_context(mail_ctx.settings, clock=clock, live=open_live_store(None))
    clock.advance(hours=1, seconds=1)
    assert run_due(restarted) == {"sent": 1}
    assert deliver(restarted) == 1
    assert len(inbox[0].messages) == 1
    restarted.db.dispose()


@pytest.mark.parametrize(
    ("change", "code", "loc"),
    [
        ({"action": {"kind": "email", "subject": "Hi {{ name", "body": "x"}},
         "template_error", "action.subject"),
        ({"action": {"kind": "email", "subject": "Hi", "body": "{{ nobody.name }}"}},
         "template_error", "action.body"),
        ({"event": ""}, "invalid_trigger", "event"),
        ({"colour": "red"}, "invalid_trigger", "colour"),
    ],
)
def test_invalid_triggers_are_refused_and_nothing_is_saved(
    client: TestClient, keys: Keys, ctx: AppContext, change: dict[str, Any], code: str, loc: str
) -> None:
    response = client.post("/v1/triggers", json={**CART, **change}, headers=bearer(keys.admin))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["details"][0]["loc"] == loc
    with ctx.db.reader() as session:
        assert session.execute(select(func.count()).select_from(store.triggers)).scalar() == 0


def test_a_tampered_unsubscribe_link_changes_nothing(client: TestClient, ctx: AppContext) -> None:
    response = client.get("/v1/unsubscribe/eyJjIjoiY3VzXzEiLCJjaCI6ImVtYWlsIn0.forged")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_token"
    with ctx.db.reader() as session:
        assert session.execute(select(func.count()).select_from(store.unsubscribes)).scalar() == 0
