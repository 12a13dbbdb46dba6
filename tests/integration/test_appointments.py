"""Appointment booking: free slots, a real SMTP confirmation, double booking refused."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from kanaal.config import Settings
from kanaal.core.clock import ManualClock
from kanaal.core.context import AppContext, build_context
from kanaal.core.errors import Conflict, InvalidInput
from kanaal.core.live import open_live_store
from kanaal.core.outbox import OutboxDispatcher, outbox_messages
from kanaal.marketing.delivery import EmailSender
from kanaal.publishers import appointments, service, store
from tests.integration.test_publisher_campaigns import campaign_body, world
from tests.support.smtp import Inbox

TUESDAY_10 = "2026-01-06T10:00:00+00:00"


@pytest.fixture
def mail_ctx(db_settings: Settings, clock: ManualClock,
             inbox: tuple[Inbox, int]) -> Iterator[AppContext]:
    settings = db_settings.model_copy(update={
        "smtp_host": "127.0.0.1", "smtp_port": inbox[1], "smtp_from": "Volta <drive@example.com>",
        "run_workers": False})
    context = build_context(settings, clock=clock, live=open_live_store(None))
    context.business["decisions"] = {"explore": False, "experiment": {"holdout_share": 0.0}}
    yield context
    context.db.dispose()


def deliver(ctx: AppContext) -> int:
    """One pass of the outbox with the email handler, as the running app does."""
    dispatcher = OutboxDispatcher(ctx.db, ctx.clock)
    dispatcher.register("email", EmailSender(ctx.settings).send)
    return asyncio.run(dispatcher.deliver_due())


def booking(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"campaign": "test-drive", "anonymousId": "pub-1",
                            "slot_start": datetime.fromisoformat(TUESDAY_10),
                            "name": "Ann de Vries", "email": "ann@example.com",
                            "phone": "06 12345678", "decision_id": None}
    body.update(changes)
    return body


def state(ctx: AppContext) -> tuple[int, int]:
    with ctx.db.reader() as session:
        booked = len(store.appointments_of(session))
        mails = int(session.execute(select(func.count()).select_from(outbox_messages).where(
            outbox_messages.c.kind == "email")).scalar_one())
    return booked, mails


def test_booking_a_free_slot_sends_the_confirmation_over_smtp(
    mail_ctx: AppContext, inbox: tuple[Inbox, int]
) -> None:
    shop = world(mail_ctx, available=1)
    service.create_campaign(mail_ctx, campaign_body(shop))
    free = appointments.free_slots(mail_ctx, "test-drive",
                                   date(2026, 1, 6))
    assert [s.isoformat() for s in free["slots"]] == [
        "2026-01-06T09:00:00+00:00", TUESDAY_10, "2026-01-06T11:00:00+00:00"]
    booked, _ = appointments.book(mail_ctx, booking())
    assert (booked["slot_start"].isoformat(), booked["where"]) == (
        TUESDAY_10, "Volta showroom Amsterdam, Damrak 1, 1012 LG Amsterdam")
    assert deliver(mail_ctx) == 1
    [mail] = inbox[0].messages
    assert (mail["To"], mail["From"]) == ("ann@example.com", "Volta <drive@example.com>")
    assert mail["Subject"] == "Appointment confirmed: Test drive the Volta EV"
    payload = mail.get_payload(decode=True)
    assert isinstance(payload, bytes)
    text = payload.decode()
    assert "When:  Tuesday 06 January 2026, 10:00-11:00 UTC" in text
    assert f"Reference: {booked['id']}" in text
    after = appointments.free_slots(mail_ctx, "test-drive",
                                    date(2026, 1, 6))
    assert TUESDAY_10 not in [s.isoformat() for s in after["slots"]]


def test_a_taken_slot_is_refused_and_nothing_is_stored(mail_ctx: AppContext) -> None:
    shop = world(mail_ctx, available=1)
    service.create_campaign(mail_ctx, campaign_body(shop))
    appointments.book(mail_ctx, booking())
    with pytest.raises(Conflict) as taken:
        appointments.book(mail_ctx, booking(anonymousId="pub-2", email="bob@example.com"))
    assert taken.value.code == "slot_taken"
    assert state(mail_ctx) == (1, 1)


def test_two_prospects_racing_for_one_slot_get_one_booking(mail_ctx: AppContext) -> None:
    shop = world(mail_ctx, available=1)
    service.create_campaign(mail_ctx, campaign_body(shop))
    barrier = threading.Barrier(4)
    results: list[str] = []

    def attempt(n: int) -> None:
        barrier.wait()
        try:
            appointments.book(mail_ctx, booking(anonymousId=f"pub-{n}",
                                                email=f"p{n}@example.com"))
            results.append("booked")
        except Conflict as exc:
            results.append(exc.code)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["booked", "slot_taken", "slot_taken", "slot_taken"]
    assert state(mail_ctx) == (1, 1)


@pytest.mark.parametrize(("slot", "code"), [
    ("2026-01-06T10:30:00+00:00", "invalid_slot"),  # off the hour grid
    ("2026-01-06T12:00:00+00:00", "invalid_slot"),  # closing time
    ("2026-01-10T10:00:00+00:00", "invalid_slot"),  # Saturday
    ("2026-01-05T09:00:00+00:00", "slot_in_past"),  # now
])
def test_slots_off_the_calendar_are_refused(mail_ctx: AppContext, slot: str, code: str) -> None:
    shop = world(mail_ctx, available=1)
    service.create_campaign(mail_ctx, campaign_body(shop))
    with pytest.raises(InvalidInput) as refused:
        appointments.book(mail_ctx, booking(slot_start=datetime.fromisoformat(slot)))
    assert refused.value.code == code
    assert state(mail_ctx) == (0, 0)


def test_an_agent_calendar_books_the_agent(mail_ctx: AppContext) -> None:
    from kanaal.contact_center import service as cc

    world(mail_ctx, available=0)
    agent = cc.create_agent(mail_ctx, name="Piet", email="piet@example.com",
                            password="correct horse battery", skills=["brand:volta"])
    service.create_campaign(mail_ctx, campaign_body("", channels=[], calendar={
        "resource_kind": "agent", "resource_id": agent.id, "slot_minutes": 30,
        "opens": "09:00", "closes": "17:00", "weekdays": [1]}))
    booked, _ = appointments.book(mail_ctx, booking(
        slot_start=datetime.fromisoformat("2026-01-06T16:30:00+00:00")))
    assert (booked["resource_kind"], booked["resource_id"], booked["where"]) == (
        "agent", agent.id, "Piet")


def test_a_campaign_books_against_the_stores_shared_calendar(mail_ctx: AppContext) -> None:
    from kanaal.calendars import service as calendars
    from kanaal.calendars.domain import Booking
    from tests.support.calendars import store_with_calendar

    world(mail_ctx, available=1)
    # The store already has its own calendar (Amsterdam time): it wins over the campaign's hours
    shop = store_with_calendar(mail_ctx, "Volta showroom Utrecht")
    service.create_campaign(mail_ctx, campaign_body(shop))
    # A slot booked from another source (the API) is no longer offered by the campaign
    calendars.book(mail_ctx, "store", shop, Booking(
        slot_start=datetime.fromisoformat("2026-01-06T09:00:00+00:00"), source="api",
        identities={"anonymous_id": "walk-in"}))
    free = appointments.free_slots(mail_ctx, "test-drive", date(2026, 1, 6))
    assert [s.isoformat() for s in free["slots"]] == [
        f"2026-01-06T{h:02d}:00:00+00:00" for h in (8, 10, 11, 12, 13, 14, 15)]
    with pytest.raises(Conflict):
        appointments.book(mail_ctx, booking(
            slot_start=datetime.fromisoformat("2026-01-06T10:00:00+01:00")))
    booked, _ = appointments.book(mail_ctx, booking(
        slot_start=datetime.fromisoformat("2026-01-06T15:00:00+01:00")))
    assert (booked["slot_start"].isoformat(), booked["campaign"]) == (
        "2026-01-06T14:00:00+00:00", "test-drive")
    assert [a["id"] for a in appointments.list_appointments(mail_ctx, "test-drive")] == [
        booked["id"]]
    listed = calendars.list_appointments(mail_ctx, "store", shop, date(2026, 1, 6))
    assert [(a["source"], a["status"]) for a in listed] == [("api", "booked"),
                                                            ("publisher", "booked")]
    assert state(mail_ctx) == (1, 1)


def test_a_retried_booking_with_its_idempotency_key_books_once(mail_ctx: AppContext) -> None:
    shop = world(mail_ctx, available=1)
    service.create_campaign(mail_ctx, campaign_body(shop))
    first, replayed_first = appointments.book(mail_ctx, booking(), idempotency_key="k-1")
    again, replayed_again = appointments.book(mail_ctx, booking(), idempotency_key="k-1")
    assert (replayed_first, replayed_again) == (False, True)
    assert again["id"] == first["id"]
    with mail_ctx.db.reader() as session:
        emails = session.execute(select(func.count()).select_from(outbox_messages).where(
            outbox_messages.c.kind == "email")).scalar_one()
    assert state(mail_ctx) == (1, 1) and emails == 1
    with pytest.raises(Conflict):  # the same key for another booking is refused
        appointments.book(mail_ctx, booking(anonymousId="pub-9", email="bob@example.com",
                                            slot_start=datetime.fromisoformat(
                                                "2026-01-06T11:00:00+00:00")),
                          idempotency_key="k-1")
    assert state(mail_ctx) == (1, 1)
