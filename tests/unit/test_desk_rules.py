"""Desk rules without a database: timeline categories and texts, and the outcome form."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kanaal.contact_center.desk import (
    MAX_NOTES,
    OutcomeForm,
    TimelineCategory,
    categorise,
    category_counts,
    customer_facts,
    describe,
    parse_outcome_form,
    timeline,
)
from kanaal.contact_center.domain import Outcome
from kanaal.core.errors import InvalidInput


def ev(kind: str = "track", named: str | None = None, channel: str = "web",
       **props: Any) -> dict[str, Any]:
    return {"id": "evt_1", "type": kind, "event": named, "channel": channel, "properties": props,
            "timestamp": "2026-01-05T09:00:00+00:00"}


@pytest.mark.parametrize(
    ("event", "category"),
    [
        (ev("page"), TimelineCategory.PAGE),
        (ev("screen", channel="mobile"), TimelineCategory.PAGE),
        (ev(named="Product Viewed"), TimelineCategory.PAGE),
        (ev(named="Product Added"), TimelineCategory.CART),
        (ev(named="Checkout Started"), TimelineCategory.CART),
        (ev(named="Order Completed"), TimelineCategory.ORDER),
        (ev(named="Order Completed", channel="store"), TimelineCategory.ORDER),
        (ev(named="Call Completed", channel="phone"), TimelineCategory.CONVERSATION),
        (ev(named="Chat Completed", channel="chat"), TimelineCategory.CONVERSATION),
        (ev(named="Callback Requested", channel="phone"), TimelineCategory.CONVERSATION),
        (ev(named="Store Visit Completed", channel="store"), TimelineCategory.CONVERSATION),
        (ev(named="Appointment Booked", channel="web"), TimelineCategory.CONVERSATION),
        (ev(named="Appointment Cancelled", channel="publisher"), TimelineCategory.CONVERSATION),
        (ev(named="Email Opened", channel="email"), TimelineCategory.EMAIL),
        (ev(named="Message Sent", channel="sms"), TimelineCategory.EMAIL),
        (ev(named="Decision Made"), TimelineCategory.DECISION),
        (ev(named="Offer Issued", channel="email"), TimelineCategory.DECISION),
        (ev(named="Unsubscribed"), TimelineCategory.EMAIL),
        (ev("identify"), TimelineCategory.PROFILE),
        (ev(named="Wishlist Shared"), TimelineCategory.OTHER),
    ],
)
def test_events_fall_into_the_category_an_agent_expects(
    event: dict[str, Any], category: TimelineCategory
) -> None:
    assert categorise(event) is category


def test_a_page_view_reads_as_its_title_and_address() -> None:
    item = describe(ev("page", title="Barista Pro", url="https://shop.test/p/1"))
    assert (item.title, item.detail, item.label) == (
        "Barista Pro", "https://shop.test/p/1", "Pages viewed")


def test_a_cart_event_shows_product_quantity_and_price() -> None:
    item = describe(ev(named="Product Added", name_="x", **{"name": "Mug", "quantity": 2,
                                                          "price": "7.5", "currency": "eur"}))
    assert (item.title, item.detail) == ("Product Added", "Mug · × 2 · EUR 7.50")


def test_an_order_shows_its_id_and_total() -> None:
    item = describe(ev(named="Order Completed", order_id="ord_9", total=1249, currency="EUR"))
    assert item.detail == "ord_9 · EUR 1,249.00"


def test_a_call_shows_its_outcome_with_sale_upsell_and_notes() -> None:
    item = describe(ev(named="Call Completed", channel="phone", outcome="sale", sale_value="649.00",
                       upsell_value="49.95", currency="EUR", notes="milk jug"))
    assert item.detail == "sale · EUR 649.00 · upsell EUR 49.95 · milk jug"


def test_a_callback_request_shows_the_reason_it_was_asked_for() -> None:
    item = describe(ev(named="Callback Requested", channel="phone",
                       context={"reason": "Warranty question"}))
    assert item.detail == "Warranty question"


def test_a_decision_shows_its_action_and_reason() -> None:
    item = describe(ev(named="Decision Made", action="callback_offer", reason="agents idle"))
    assert item.detail == "callback offer · agents idle"


def test_an_identify_reads_as_a_profile_update() -> None:
    assert describe(ev("identify")).title == "Profile updated"


def test_long_and_odd_properties_are_shortened_and_never_break_the_panel() -> None:
    item = describe(ev("page", title="x" * 500, url=None))
    assert len(item.title) == 160 and item.title.endswith("…")
    odd = describe({"type": "track", "event": "Order Completed", "properties": "not a dict"})
    assert (odd.detail, odd.channel, odd.id) == ("", "", "")
    assert describe(ev(named="Order Completed", total="n/a")).detail == ""


def test_counts_follow_the_display_order_and_skip_empty_categories() -> None:
    items = timeline([ev(named="Order Completed"), ev("page"), ev("page"),
                      ev(named="Call Completed", channel="phone")])
    assert category_counts(items) == [("Pages viewed", 2), ("Calls and chats", 1), ("Orders", 1)]


def test_customer_facts_name_the_customer_and_skip_what_is_unknown() -> None:
    facts = customer_facts(
        {"first_name": {"value": "Sanne"}, "last_name": {"value": "Jansen"},
         "phone": {"value": "+31600000000"}},
        [{"type": "email", "value": "sanne@example.com"}, {"type": "anonymous_id", "value": "a"}],
        ["web", "phone", "web"],
    )
    assert facts == [("Name", "Sanne Jansen"), ("E-mail", "sanne@example.com"),
                     ("Phone on file", "+31600000000"), ("Channels used", "phone, web")]
    assert customer_facts({}, [], []) == []


# ---------------------------------------------------------------- outcome form


def form(**fields: str) -> dict[str, str | None]:
    base: dict[str, str | None] = {"outcome": "", "sale_value": "", "upsell_value": "",
                                   "quote": "", "notes": ""}
    base.update(fields)
    return base


def fields_of(error: InvalidInput) -> list[str]:
    return [d["field"] for d in error.details]


def test_a_sale_with_value_and_upsell_is_accepted_with_cents() -> None:
    parsed = parse_outcome_form(form(outcome="sale", sale_value="649", upsell_value="49,95",
                                     notes="  jug  "))
    assert (parsed.outcome, parsed.sale_value, parsed.upsell_value, parsed.quote, parsed.notes) == (
        Outcome.SALE, Decimal("649.00"), Decimal("49.95"), None, "jug")


def test_values_that_do_not_belong_to_the_outcome_are_dropped() -> None:
    parsed = parse_outcome_form(form(outcome="quote", quote="1200", sale_value="5"))
    assert (parsed.outcome, parsed.sale_value, parsed.quote) == (
        Outcome.QUOTE, None, Decimal("1200.00"))


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        (form(), ["outcome"]),
        (form(outcome="won"), ["outcome"]),
        (form(outcome="sale"), ["sale_value"]),
        (form(outcome="sale", sale_value="0"), ["sale_value"]),
        (form(outcome="sale", sale_value="-3"), ["sale_value"]),
        (form(outcome="sale", sale_value="1.234"), ["sale_value"]),
        (form(outcome="sale", sale_value="NaN"), ["sale_value"]),
        (form(outcome="sale", sale_value="1e9"), ["sale_value"]),
        (form(outcome="quote"), ["quote"]),
        (form(outcome="no_sale", upsell_value="10"), ["upsell_value"]),
        (form(outcome="sale", sale_value="abc", quote="x"), ["sale_value", "quote"]),
        (form(outcome="follow_up_needed", notes="n" * (MAX_NOTES + 1)), ["notes"]),
    ],
)
def test_a_bad_form_names_every_field_that_is_wrong(
    fields: dict[str, str | None], bad: list[str]
) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_outcome_form(fields)
    assert caught.value.code == "invalid_outcome"
    assert fields_of(caught.value) == bad


@given(cents=st.integers(min_value=1, max_value=9_999_999_999))
def test_any_positive_amount_in_cents_round_trips(cents: int) -> None:
    text = f"{cents // 100}.{cents % 100:02d}"
    parsed = parse_outcome_form(form(outcome="sale", sale_value=text))
    assert parsed.sale_value == Decimal(cents) / 100


@given(raw=st.text(max_size=30))
def test_the_form_either_parses_to_a_non_negative_two_decimal_amount_or_says_why(raw: str) -> None:
    outcome: OutcomeForm | list[str]
    try:
        outcome = parse_outcome_form(form(outcome="sale", sale_value=raw))
    except InvalidInput as error:
        outcome = fields_of(error)
    if isinstance(outcome, list):
        assert outcome == ["sale_value"]
    else:
        assert outcome.sale_value is not None and outcome.sale_value > 0
        assert outcome.sale_value.as_tuple().exponent == -2
