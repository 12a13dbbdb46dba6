"""The agent desk over HTTP: sign-in, sessions, CSRF, state, accept next, panel, outcome."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from kanaal.collect.service import record_event
from kanaal.contact_center import service as cc
from kanaal.contact_center.desk_session import SESSION_COOKIE, codec
from kanaal.core.clock import ManualClock
from kanaal.core.context import AppContext
from kanaal.customers.service import recent_events

PASSWORD = "correct horse battery"
PHONE = "+31612345678"


def csrf_of(html: str) -> str:
    """The CSRF token in a page's first form."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no csrf_token field on the page"
    return match.group(1)


def make_agent(ctx: AppContext, email: str = "anna@example.com", name: str = "Anna de Vries"
               ) -> cc.Agent:
    """A sales agent who can take the `sales-callbacks` queue."""
    return cc.create_agent(ctx, name=name, email=email, password=PASSWORD, skills=["sales"])


def make_queue(ctx: AppContext) -> None:
    """The callback queue of the sales skill."""
    cc.create_queue(ctx, name="sales-callbacks", skill="sales", channel="callback")


def sign_in(client: TestClient, email: str = "anna@example.com", password: str = PASSWORD
            ) -> Response:
    """Open the sign-in form and post it (redirects are not followed)."""
    form = client.get("/desk/login")
    return client.post(
        "/desk/login",
        data={"email": email, "password": password, "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )


def desk_csrf(client: TestClient) -> str:
    """The CSRF token of the signed-in desk."""
    page = client.get("/desk", follow_redirects=False)
    assert page.status_code == 200
    return csrf_of(page.text)


def customer_with_pages(ctx: AppContext) -> str:
    """A customer who looked at two product pages on the web shop."""
    with ctx.db.transaction() as session:
        customer = record_event(
            session, ctx, type="page", event=None, identities={"anonymous_id": "anon-7"},
            properties={"title": "Espresso machine Barista Pro", "url": "https://shop.test/p/1"},
            channel="web", source="web",
        )
        record_event(
            session, ctx, type="track", event="Product Added", identities={},
            customer_id=customer, properties={"name": "Barista Pro", "price": "649.00",
                                              "currency": "EUR", "quantity": 1},
            channel="web", source="web",
        )
    return customer


# ---------------------------------------------------------------- sign in and sessions


def test_login_page_sets_an_anonymous_session_with_safe_cookie_and_headers(
    client: TestClient,
) -> None:
    page = client.get("/desk/login")
    assert page.status_code == 200
    assert "Sign in to the agent desk" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    cookie = page.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=43200" in cookie
    assert "Secure" not in cookie  # plain http in tests; https requests get Secure
    assert csrf_of(page.text)


def test_cookie_is_secure_when_the_request_is_https(ctx: AppContext) -> None:
    from kanaal.app import create_app

    with TestClient(create_app(ctx=ctx), base_url="https://testserver") as secure_client:
        page = secure_client.get("/desk/login")
    assert "Secure" in page.headers["set-cookie"]


def test_sign_in_with_the_right_password_opens_the_desk_with_a_new_session(
    ctx: AppContext, client: TestClient,
) -> None:
    agent = make_agent(ctx)
    before = client.cookies.get(SESSION_COOKIE)
    response = sign_in(client)
    assert (response.status_code, response.headers["location"]) == (303, "/desk")
    after = codec(ctx).loads(client.cookies.get(SESSION_COOKIE))
    assert after is not None and after.subject == agent.id
    assert client.cookies.get(SESSION_COOKIE) != before
    desk = client.get("/desk")
    assert desk.status_code == 200
    assert "Anna de Vries" in desk.text and "Offline" in desk.text


def test_wrong_password_shows_the_form_again_and_opens_no_session(
    ctx: AppContext, client: TestClient,
) -> None:
    make_agent(ctx)
    response = sign_in(client, password="not the password")
    assert response.status_code == 401
    assert "Wrong email or password." in response.text
    assert 'value="anna@example.com"' in response.text
    session = codec(ctx).loads(client.cookies.get(SESSION_COOKIE))
    assert session is not None and session.subject is None
    follow = client.get("/desk", follow_redirects=False)
    assert (follow.status_code, follow.headers["location"]) == (303, "/desk/login")


def test_unknown_email_gets_the_same_answer_as_a_wrong_password(
    ctx: AppContext, client: TestClient,
) -> None:
    make_agent(ctx)
    response = sign_in(client, email="nobody@example.com")
    assert response.status_code == 401
    assert "Wrong email or password." in response.text


def test_sign_in_without_the_form_token_is_refused(ctx: AppContext, client: TestClient) -> None:
    make_agent(ctx)
    client.get("/desk/login")
    response = client.post(
        "/desk/login", data={"email": "anna@example.com", "password": PASSWORD},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert "the form has expired" in response.text
    assert client.get("/desk", follow_redirects=False).status_code == 303


def test_sign_in_attempts_are_rate_limited_even_with_the_right_password(
    ctx: AppContext, client: TestClient,
) -> None:
    ctx.business["desk"] = {"sign_in_attempts_per_minute": 3}
    make_agent(ctx)
    assert [sign_in(client, password="wrong").status_code for _ in range(3)] == [401, 401, 401]
    limited = sign_in(client)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert "too many sign-in attempts" in limited.text
    assert client.get("/desk", follow_redirects=False).status_code == 303


def test_one_client_trying_many_agents_is_rate_limited(
    ctx: AppContext, client: TestClient,
) -> None:
    ctx.business["desk"] = {"sign_in_attempts_per_minute_per_client": 2}
    make_agent(ctx)
    tried = [sign_in(client, email=f"guess{n}@example.com").status_code for n in range(2)]
    assert tried == [401, 401]
    assert sign_in(client).status_code == 429
    assert client.get("/desk", follow_redirects=False).status_code == 303


def test_a_session_ends_when_its_lifetime_is_over(
    ctx: AppContext, client: TestClient, clock: ManualClock,
) -> None:
    make_agent(ctx)
    sign_in(client)
    clock.advance(hours=11, minutes=59)
    assert client.get("/desk", follow_redirects=False).status_code == 200
    clock.advance(minutes=2)
    assert client.get("/desk", follow_redirects=False).headers["location"] == "/desk/login"


def test_a_forged_cookie_signs_nobody_in(ctx: AppContext, client: TestClient) -> None:
    agent = make_agent(ctx)
    sign_in(client)
    good = client.cookies.get(SESSION_COOKIE)
    assert good is not None
    payload, _, signature = good.rpartition(".")
    client.cookies.set(SESSION_COOKIE, f"{payload}.{'A' * len(signature)}")
    assert client.get("/desk", follow_redirects=False).status_code == 303
    assert cc.get_agent(ctx, agent.id).state.value == "offline"


def test_sign_out_revokes_the_session_even_when_the_cookie_is_replayed(
    ctx: AppContext, client: TestClient,
) -> None:
    agent = make_agent(ctx)
    sign_in(client)
    csrf = desk_csrf(client)
    client.post("/desk/state", data={"state": "available", "csrf_token": csrf})
    stolen = client.cookies.get(SESSION_COOKIE)
    response = client.post("/desk/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.headers["location"] == "/desk/login?notice=signed_out"
    assert cc.get_agent(ctx, agent.id).state.value == "offline"
    assert stolen is not None
    client.cookies.set(SESSION_COOKIE, stolen)
    assert client.get("/desk", follow_redirects=False).headers["location"] == "/desk/login"


# ---------------------------------------------------------------- state and queue


def test_state_changes_need_the_form_token_and_a_state_an_agent_may_pick(
    ctx: AppContext, client: TestClient,
) -> None:
    agent = make_agent(ctx)
    sign_in(client)
    csrf = desk_csrf(client)
    forged = client.post("/desk/state", data={"state": "available", "csrf_token": "x" * 32})
    assert forged.status_code == 403
    busy = client.post("/desk/state", data={"state": "busy", "csrf_token": csrf})
    assert busy.status_code == 422
    assert "choose available, wrap-up, away or offline" in busy.text
    assert cc.get_agent(ctx, agent.id).state.value == "offline"
    ok = client.post("/desk/state", data={"state": "available", "csrf_token": csrf},
                     follow_redirects=False)
    assert (ok.status_code, ok.headers["location"]) == (303, "/desk")
    assert cc.get_agent(ctx, agent.id).state.value == "available"


def test_a_move_the_state_table_forbids_is_shown_as_an_error_and_changes_nothing(
    ctx: AppContext, client: TestClient,
) -> None:
    agent = make_agent(ctx)
    sign_in(client)
    refused = client.post("/desk/state", data={"state": "wrap_up", "csrf_token": desk_csrf(client)})
    assert refused.status_code == 409
    assert "an agent cannot go from offline to wrap_up" in refused.text
    assert cc.get_agent(ctx, agent.id).state.value == "offline"


def test_the_queue_shows_the_callbacks_of_the_agents_skills(
    ctx: AppContext, client: TestClient,
) -> None:
    make_queue(ctx)
    cc.create_queue(ctx, name="service-callbacks", skill="service", channel="callback")
    make_agent(ctx)
    cc.create_callback(ctx, customer_id=None, phone=PHONE, queue="sales-callbacks",
                       slot_start=None, context={"reason": "Wants a quote for 12 chairs"})
    cc.create_callback(ctx, customer_id=None, phone="+31201234567", queue="service-callbacks",
                       slot_start=None, context={"reason": "Broken hinge"})
    sign_in(client)
    fragment = client.get("/desk/partials/queue")
    assert fragment.status_code == 200
    assert "1 due now" in fragment.text
    assert "Wants a quote for 12 chairs" in fragment.text and PHONE in fragment.text
    assert "Broken hinge" not in fragment.text
    assert "Set yourself to Available to take callbacks." in fragment.text


def test_a_callback_in_a_later_slot_is_listed_as_scheduled_and_not_taken_yet(
    ctx: AppContext, client: TestClient, clock: ManualClock,
) -> None:
    make_queue(ctx)
    make_agent(ctx)
    cc.create_callback(ctx, customer_id=None, phone=PHONE, queue="sales-callbacks",
                       slot_start=clock.now() + timedelta(hours=2), context={})
    sign_in(client)
    csrf = desk_csrf(client)
    client.post("/desk/state", data={"state": "available", "csrf_token": csrf})
    fragment = client.get("/desk/partials/queue").text
    assert "0 due now, 1 scheduled" in fragment and "Nothing is due right now." in fragment
    assert "disabled" in fragment


def test_accept_next_with_an_empty_queue_says_so(ctx: AppContext, client: TestClient) -> None:
    make_queue(ctx)
    agent = make_agent(ctx)
    sign_in(client)
    csrf = desk_csrf(client)
    client.post("/desk/state", data={"state": "available", "csrf_token": csrf})
    response = client.post("/desk/accept", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.headers["location"] == "/desk?notice=queue_empty"
    notice = client.get(response.headers["location"]).text
    assert "No callback is waiting for you right now." in notice
    assert cc.get_agent(ctx, agent.id).state.value == "available"


# ---------------------------------------------------------------- the call


def _accepted_call(ctx: AppContext, client: TestClient) -> tuple[str, str]:
    make_queue(ctx)
    make_agent(ctx)
    customer = customer_with_pages(ctx)
    cc.create_callback(ctx, customer_id=customer, phone=PHONE, queue="sales-callbacks",
                       slot_start=None, context={"reason": "Question about the Barista Pro"})
    sign_in(client)
    csrf = desk_csrf(client)
    client.post("/desk/state", data={"state": "available", "csrf_token": csrf})
    accepted = client.post("/desk/accept", data={"csrf_token": csrf}, follow_redirects=False)
    assert accepted.status_code == 303
    location = accepted.headers["location"]
    assert location.startswith("/desk/interactions/int_")
    return location.rsplit("/", 1)[1], customer


def test_accepting_a_callback_opens_the_customer_panel_with_the_web_timeline(
    ctx: AppContext, client: TestClient,
) -> None:
    interaction_id, customer = _accepted_call(ctx, client)
    panel = client.get(f"/desk/interactions/{interaction_id}")
    assert panel.status_code == 200
    assert "Espresso machine Barista Pro" in panel.text
    assert "https://shop.test/p/1" in panel.text
    assert "Barista Pro · × 1 · EUR 649.00" in panel.text
    assert "Question about the Barista Pro" in panel.text
    assert customer in panel.text
    status = client.get("/desk/partials/status").text
    assert "On a call" in status
    assert f'href="/desk/interactions/{interaction_id}">Open current call' in status


def test_a_bad_outcome_form_comes_back_with_messages_and_changes_nothing(
    ctx: AppContext, client: TestClient,
) -> None:
    interaction_id, customer = _accepted_call(ctx, client)
    csrf = desk_csrf(client)
    response = client.post(
        f"/desk/interactions/{interaction_id}/outcome",
        data={"csrf_token": csrf, "outcome": "sale", "sale_value": "12,345.6.7", "notes": "hi"},
    )
    assert response.status_code == 422
    assert "enter an amount such as 149.95" in response.text
    assert 'aria-invalid="true"' in response.text and ">hi</textarea>" in response.text
    assert cc.get_interaction(ctx, interaction_id).outcome is None
    with ctx.db.reader() as session:
        events = [e["event"] for e in recent_events(session, customer)]
    assert "Call Completed" not in events


def test_logging_a_sale_ends_the_call_and_writes_it_on_the_timeline(
    ctx: AppContext, client: TestClient,
) -> None:
    interaction_id, customer = _accepted_call(ctx, client)
    csrf = desk_csrf(client)
    response = client.post(
        f"/desk/interactions/{interaction_id}/outcome",
        data={"csrf_token": csrf, "outcome": "sale", "sale_value": "649.00",
              "upsell_value": "49.95", "quote": "", "notes": "Added the milk jug"},
        follow_redirects=False,
    )
    assert (response.status_code, response.headers["location"]) == (
        303, "/desk?notice=outcome_logged")
    done = cc.get_interaction(ctx, interaction_id)
    assert (done.outcome and done.outcome.value, done.sale_value, done.upsell_value) == (
        "sale", Decimal("649.00"), Decimal("49.95"))
    with ctx.db.reader() as session:
        call = next(e for e in recent_events(session, customer) if e["event"] == "Call Completed")
    assert (call["properties"]["outcome"], call["properties"]["sale_value"]) == ("sale", "649.00")
    panel = client.get(f"/desk/interactions/{interaction_id}")
    assert "Logged: <strong>Sale</strong>" in panel.text
    assert "sale · EUR 649.00 · upsell EUR 49.95" in panel.text
    status = client.get("/desk/partials/status").text
    assert "Wrap-up" in status and "Open current call" not in status


def test_a_second_outcome_for_the_same_call_is_refused_and_the_first_stands(
    ctx: AppContext, client: TestClient,
) -> None:
    interaction_id, _ = _accepted_call(ctx, client)
    csrf = desk_csrf(client)
    url = f"/desk/interactions/{interaction_id}/outcome"
    client.post(url, data={"csrf_token": csrf, "outcome": "sale", "sale_value": "649"})
    again = client.post(url, data={"csrf_token": csrf, "outcome": "no_sale"})
    assert again.status_code == 409
    assert "this interaction is already completed" in again.text
    done = cc.get_interaction(ctx, interaction_id)
    assert (done.outcome and done.outcome.value, done.sale_value) == ("sale", Decimal("649.00"))


def test_a_customer_not_reached_goes_back_in_the_queue_for_a_later_try(
    ctx: AppContext, client: TestClient,
) -> None:
    interaction_id, customer = _accepted_call(ctx, client)
    csrf = desk_csrf(client)
    url = f"/desk/interactions/{interaction_id}/not-reached"
    refused = client.post(url, data={"csrf_token": csrf, "reason": "asleep"})
    assert refused.status_code == 422 and "choose a reason" in refused.text
    [held] = cc.list_callbacks(ctx, status="assigned")
    assert held.interaction_id == interaction_id
    response = client.post(url, data={"csrf_token": csrf, "reason": "no_answer"},
                           follow_redirects=False)
    assert response.headers["location"] == "/desk?notice=retry_scheduled"
    [again] = cc.list_callbacks(ctx, status="queued")
    assert (again.id, again.attempts, again.interaction_id) == (held.id, 1, None)
    ended = cc.get_interaction(ctx, interaction_id)
    assert ended.outcome is None and ended.ended_at is not None
    assert "This call has ended: not reached: no_answer." in client.get(
        f"/desk/interactions/{interaction_id}").text
    with ctx.db.reader() as session:
        assert "Call Completed" not in [e["event"] for e in recent_events(session, customer)]


def test_another_agents_call_is_not_shown(ctx: AppContext, client: TestClient) -> None:
    interaction_id, _ = _accepted_call(ctx, client)
    make_agent(ctx, email="bo@example.com", name="Bo")
    client.cookies.clear()
    sign_in(client, email="bo@example.com")
    assert client.get(f"/desk/interactions/{interaction_id}").status_code == 404
    refused = client.post(
        f"/desk/interactions/{interaction_id}/outcome",
        data={"csrf_token": desk_csrf(client), "outcome": "no_sale"},
    )
    assert refused.status_code == 404
    assert cc.get_interaction(ctx, interaction_id).outcome is None


# ---------------------------------------------------------------- fragments, stream, static


@pytest.mark.parametrize("path", ["/desk/partials/queue", "/desk/partials/status", "/desk/events"])
def test_live_parts_need_a_signed_in_agent(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 401


def test_static_files_are_served_and_nothing_outside_them(client: TestClient) -> None:
    css = client.get("/static/css/kanaal.css")
    assert (css.status_code, css.headers["content-type"]) == (200, "text/css; charset=utf-8")
    js = client.get("/static/js/desk.js")
    assert js.status_code == 200 and "EventSource" in js.text
    assert client.get("/static/../render.py").status_code == 404
    assert client.get("/static/%2e%2e/render.py").status_code == 404
    assert client.get("/static/css/missing.css").status_code == 404
