"""Shared calendars over HTTP and in the service, on SQLite and PostgreSQL: define, free slots
in local time, book exactly once (also under concurrency), idempotent retries, cancel and
reschedule, confirmation emails and timeline events; bad input stores nothing."""

from __future__ import annotations

import threading
from datetime import date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kanaal.calendars import service
from kanaal.calendars.domain import Booking
from kanaal.contact_center import service as cc
from kanaal.core.context import AppContext
from kanaal.core.errors import Conflict
from kanaal.customers.service import recent_events
from tests.conftest import Keys, bearer
from tests.support.calendars import counts, emails, store_with_calendar
from tests.support.inventory import make_location

# The test clock stands at Monday 5 January 2026, 09:00 UTC (10:00 in Amsterdam).
TUESDAY_10_LOCAL = "2026-01-06T10:00:00+01:00"
HOURS = {"timezone": "Europe/Amsterdam", "slot_minutes": 60,
         "hours": [{"days": ["monday", "tuesday", "wednesday", "thursday", "friday"],
                    "opens": "09:00", "closes": "17:00"},
                   {"days": ["saturday"], "opens": "10:00", "closes": "13:00"}],
         "closed_dates": ["2026-01-07"]}


def define(client: TestClient, keys: Keys, kind: str, resource_id: str,
           body: dict[str, Any] | None = None) -> Any:
    return client.put(f"/v1/calendars/{kind}/{resource_id}", json=body or HOURS,
                      headers=bearer(keys.admin))


def slots(client: TestClient, keys: Keys, store_id: str, day: str) -> list[str]:
    response = client.get(f"/v1/calendars/store/{store_id}/slots", params={"date": day},
                          headers=bearer(keys.read))
    assert response.status_code == 200, response.text
    return [s["label"] for s in response.json()["slots"]]


def book(client: TestClient, keys: Keys, store_id: str, key: str | None = None,
         **changes: Any) -> Any:
    body = {"slot_start": TUESDAY_10_LOCAL, "anonymousId": "anon-1", "name": "Ann de Vries",
            "email": "ann@example.com", **changes}
    headers = bearer(keys.writer) | ({"Idempotency-Key": key} if key else {})
    return client.post(f"/v1/calendars/store/{store_id}/appointments", json=body,
                       headers=headers)


def test_a_store_calendar_shows_local_slots_and_books_one_with_email_and_timeline(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    store_id = make_location(ctx, "Store Utrecht", kind="store",
                             address="Oudegracht 1, Utrecht").id
    created = define(client, keys, "store", store_id)
    assert created.status_code == 201, created.text
    assert created.json()["hours"] == HOURS["hours"]
    assert define(client, keys, "store", store_id).status_code == 200
    # Local hours 09:00-17:00 in Amsterdam, stored and answered in UTC beside local time
    tuesday = client.get(f"/v1/calendars/store/{store_id}/slots", params={"date": "2026-01-06"},
                         headers=bearer(keys.writer)).json()
    assert [s["label"] for s in tuesday["slots"]] == [
        "09:00", "10:00", "11:00", "12:00", "13:00", "14:00", "15:00", "16:00"]
    assert (tuesday["slots"][1]["start"], tuesday["slots"][1]["local_start"]) == (
        "2026-01-06T09:00:00Z", TUESDAY_10_LOCAL)
    assert slots(client, keys, store_id, "2026-01-07") == []  # a closed date
    assert slots(client, keys, store_id, "2026-01-10") == ["10:00", "11:00", "12:00"]
    assert slots(client, keys, store_id, "2026-01-05")[0] == "11:00"  # now is 10:00 local

    booked = book(client, keys, store_id)
    assert booked.status_code == 201, booked.text
    appointment = booked.json()
    assert (appointment["slot_start"], appointment["local_start"], appointment["status"],
            appointment["where"], appointment["source"]) == (
        "2026-01-06T09:00:00Z", TUESDAY_10_LOCAL, "booked", "Store Utrecht, Oudegracht 1, Utrecht",
        "api")
    assert "10:00" not in slots(client, keys, store_id, "2026-01-06")
    [mail] = emails(ctx)
    assert (mail["to"], mail["subject"]) == ("ann@example.com",
                                             "Appointment confirmed: Appointment at Store Utrecht")
    assert "When:  Tuesday 06 January 2026, 10:00-11:00 CET" in mail["body"]
    with ctx.db.reader() as session:
        [event] = [e for e in recent_events(session, appointment["customer_id"])
                   if e["event"] == "Appointment Booked"]
    assert event["properties"]["appointment_id"] == appointment["id"]
    assert event["channel"] == "store"
    listed = client.get(f"/v1/calendars/store/{store_id}/appointments",
                        params={"date": "2026-01-06"}, headers=bearer(keys.read)).json()
    assert [a["id"] for a in listed] == [appointment["id"]]


def test_a_retried_booking_with_the_same_idempotency_key_books_once(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    store_id = store_with_calendar(ctx)
    first = book(client, keys, store_id, key="book-1")
    again = book(client, keys, store_id, key="book-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert counts(ctx) == {"calendars": 1, "appointments": 1, "emails": 1}
    reused = book(client, keys, store_id, key="book-1", name="Bob")
    assert (reused.status_code, reused.json()["error"]["code"]) == (409, "idempotency_key_reused")


@pytest.mark.parametrize(("change", "status", "code"), [
    ({"slot_start": "2026-01-06T10:30:00+01:00"}, 422, "invalid_slot"),  # off the grid
    ({"slot_start": "2026-01-06T17:00:00+01:00"}, 422, "invalid_slot"),  # closing time
    ({"slot_start": "2026-01-06T07:00:00+01:00"}, 422, "invalid_slot"),  # before opening
    ({"slot_start": "2026-01-07T10:00:00+01:00"}, 422, "invalid_slot"),  # closed date
    ({"slot_start": "2026-01-11T10:00:00+01:00"}, 422, "invalid_slot"),  # Sunday
    ({"slot_start": "2026-01-05T10:00:00+01:00"}, 422, "slot_in_past"),  # now
    ({"slot_start": "2026-01-06T10:00:00"}, 422, "invalid_slot"),  # no time zone
    ({"slot_start": "Tuesday at ten"}, 422, "validation_error"),  # malformed
    ({"email": "not an email"}, 422, "validation_error"),
    ({"phone": "0612"}, 422, "invalid_phone"),
    ({"anonymousId": None, "email": None}, 422, "missing_identity"),
])
def test_bad_bookings_are_refused_and_nothing_is_stored(
    ctx: AppContext, client: TestClient, keys: Keys, change: dict[str, Any], status: int,
    code: str
) -> None:
    store_id = store_with_calendar(ctx, closed_dates=(date(2026, 1, 7),))
    response = book(client, keys, store_id, **change)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert counts(ctx) == {"calendars": 1, "appointments": 0, "emails": 0}


def test_bad_calendars_and_unknown_resources_are_refused_and_nothing_is_stored(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    store_id = make_location(ctx, "Store Utrecht", kind="store").id
    warehouse = make_location(ctx, "Warehouse", kind="warehouse").id
    cases = [
        (("store", "loc_nope", HOURS), 404, "unknown_location"),
        (("agent", "agt_nope", HOURS), 404, "unknown_agent"),
        (("store", warehouse, HOURS), 422, "not_a_store"),
        (("store", store_id, {**HOURS, "timezone": "Mars/Olympus"}), 422, "invalid_timezone"),
        (("store", store_id, {**HOURS, "timezone": "../etc/passwd"}), 422, "invalid_timezone"),
        (("store", store_id, {**HOURS, "hours": [
            {"days": ["monday"], "opens": "25:00", "closes": "17:00"}]}), 422,
         "validation_error"),
        (("store", store_id, {**HOURS, "hours": [
            {"days": ["monday"], "opens": "17:00", "closes": "09:00"}]}), 422,
         "invalid_calendar"),
        (("store", store_id, {**HOURS, "hours": [
            {"days": ["monday"], "opens": "09:00", "closes": "13:00"},
            {"days": ["monday"], "opens": "12:00", "closes": "17:00"}]}), 422,
         "invalid_calendar"),
        (("shelf", store_id, HOURS), 422, "validation_error"),
    ]
    for (kind, resource_id, body), status, code in cases:
        response = define(client, keys, kind, resource_id, body)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), (
            kind, resource_id, body)
    assert counts(ctx) == {"calendars": 0, "appointments": 0, "emails": 0}
    no_calendar = client.get(f"/v1/calendars/store/{store_id}/slots",
                             params={"date": "2026-01-06"}, headers=bearer(keys.read))
    assert (no_calendar.status_code, no_calendar.json()["error"]["code"]) == (404, "no_calendar")
    assert book(client, keys, store_id).json()["error"]["code"] == "no_calendar"
    write_key = client.put(f"/v1/calendars/store/{store_id}", json=HOURS,
                           headers=bearer(keys.writer))
    assert write_key.status_code == 403
    far = client.get(f"/v1/calendars/store/{store_id}/slots", params={"date": "2026-13-01"},
                     headers=bearer(keys.read))
    assert far.status_code == 422


def test_a_taken_slot_is_refused_and_a_cancelled_one_is_free_again(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    store_id = store_with_calendar(ctx)
    first = book(client, keys, store_id).json()
    taken = book(client, keys, store_id, anonymousId="anon-2", email="bob@example.com")
    assert (taken.status_code, taken.json()["error"]["code"]) == (409, "slot_taken")
    assert counts(ctx) == {"calendars": 1, "appointments": 1, "emails": 1}

    cancelled = client.post(f"/v1/appointments/{first['id']}/cancel", headers=bearer(keys.writer))
    assert cancelled.json()["status"] == "cancelled"
    twice = client.post(f"/v1/appointments/{first['id']}/cancel", headers=bearer(keys.writer))
    assert twice.json()["status"] == "cancelled"
    assert [m["subject"] for m in emails(ctx)] == [
        "Appointment confirmed: Appointment at Store Utrecht",
        "Appointment cancelled: Appointment at Store Utrecht"]
    assert "10:00" in slots(client, keys, store_id, "2026-01-06")
    second = book(client, keys, store_id, anonymousId="anon-2", email="bob@example.com")
    assert second.status_code == 201, second.text
    moved = client.post(f"/v1/appointments/{first['id']}/reschedule",
                        json={"slot_start": "2026-01-06T11:00:00+01:00"},
                        headers=bearer(keys.writer))
    assert (moved.status_code, moved.json()["error"]["code"]) == (409, "appointment_cancelled")


def test_rescheduling_moves_the_slot_and_refuses_a_taken_one(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    store_id = store_with_calendar(ctx)
    first = book(client, keys, store_id).json()
    other = book(client, keys, store_id, slot_start="2026-01-06T14:00:00+01:00",
                 anonymousId="anon-2", email="bob@example.com").json()
    url = f"/v1/appointments/{first['id']}/reschedule"
    onto_other = client.post(url, json={"slot_start": other["local_start"]},
                             headers=bearer(keys.writer))
    assert (onto_other.status_code, onto_other.json()["error"]["code"]) == (409, "slot_taken")
    moved = client.post(url, json={"slot_start": "2026-01-08T15:00:00+01:00"},
                        headers=bearer(keys.writer) | {"Idempotency-Key": "move-1"})
    assert moved.status_code == 200, moved.text
    assert (moved.json()["id"], moved.json()["slot_start"]) == (first["id"],
                                                                "2026-01-08T14:00:00Z")
    assert "10:00" in slots(client, keys, store_id, "2026-01-06")
    assert "15:00" not in slots(client, keys, store_id, "2026-01-08")
    assert emails(ctx)[-1]["subject"] == "Appointment moved: Appointment at Store Utrecht"
    assert "When:  Thursday 08 January 2026, 15:00-16:00 CET" in emails(ctx)[-1]["body"]
    got = client.get(f"/v1/appointments/{first['id']}", headers=bearer(keys.read)).json()
    assert got["slot_start"] == "2026-01-08T14:00:00Z"


def test_concurrent_bookings_of_one_slot_give_exactly_one_appointment(ctx: AppContext) -> None:
    store_id = store_with_calendar(ctx)
    barrier = threading.Barrier(6)
    results: list[str] = []

    def attempt(n: int) -> None:
        barrier.wait()
        try:
            service.book(ctx, "store", store_id, Booking(
                slot_start=datetime.fromisoformat(TUESDAY_10_LOCAL), source="api",
                identities={"anonymous_id": f"anon-{n}"}, email=f"p{n}@example.com"),
                idempotency_key=f"key-{n}")
            results.append("booked")
        except Conflict as exc:
            results.append(exc.code)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["booked"] + ["slot_taken"] * 5
    assert counts(ctx) == {"calendars": 1, "appointments": 1, "emails": 1}


def test_an_agent_calendar_books_a_known_customer_and_mails_their_profile_address(
    ctx: AppContext
) -> None:
    from kanaal.collect.service import record_event

    agent = cc.create_agent(ctx, name="Piet", email="piet@example.com",
                            password="correct horse battery", skills=["sales"])
    from kanaal.calendars.schemas import CalendarIn

    service.define_calendar(ctx, CalendarIn.model_validate(
        {**HOURS, "timezone": "America/New_York", "slot_minutes": 30}).to_calendar(
        "agent", agent.id))
    with ctx.db.transaction() as session:
        customer_id = record_event(session, ctx, type="identify", event=None,
                                   identities={"email": "carla@example.com"},
                                   traits={"email": "carla@example.com"}, channel="web",
                                   source="tests")
    free = service.free_slots_of(ctx, "agent", agent.id, date(2026, 1, 6))
    assert free["slots"][0]["local_start"].isoformat() == "2026-01-06T09:00:00-05:00"
    result, replayed = service.book(ctx, "agent", agent.id, Booking(
        slot_start=free["slots"][0]["start"], source="api", customer_id=customer_id))
    assert (result["customer_id"], result["where"], result["email"], replayed) == (
        customer_id, "Piet", "carla@example.com", False)
    [mail] = emails(ctx)
    assert mail["to"] == "carla@example.com"
    assert "When:  Tuesday 06 January 2026, 09:00-09:30 EST" in mail["body"]


@pytest.mark.parametrize("db_settings", ["sqlite"], indirect=True)
def test_the_demo_defines_a_calendar_for_each_of_its_three_stores(ctx: AppContext) -> None:
    from kanaal.demo.seed import seed
    from kanaal.inventory.service import list_locations

    seed(ctx)
    stores = sorted(loc.id for loc in list_locations(ctx) if loc.kind.value == "store")
    defined = service.list_calendars(ctx)
    assert sorted(c.resource_id for c in defined) == stores
    assert {(c.timezone, c.slot_minutes) for c in defined} == {("Europe/Amsterdam", 30)}
    thursday = service.free_slots_of(ctx, "store", stores[0], date(2026, 1, 8))
    assert (thursday["slots"][0]["label"], thursday["slots"][-1]["label"]) == ("09:30", "20:30")
