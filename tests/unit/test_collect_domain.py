"""Segment message rules: clock skew, identities from every place, consent, limits."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kanaal.collect.domain import (
    MAX_BATCH_EVENTS,
    Envelope,
    check_body_size,
    event_time,
    parse_body,
    parse_message,
)
from kanaal.core.errors import InvalidInput, PayloadTooLarge
from kanaal.customers.domain import Identity, IdentityRules
from kanaal.customers.normalize import make_identity

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _envelope() -> Envelope:
    counter = itertools.count(1)
    rules = IdentityRules()
    return Envelope(
        source="src_1", default_channel="web", received_at=NOW,
        new_message_id=lambda: f"msg_{next(counter)}",
        make_identity=lambda kind, value: make_identity(kind, value, rules=rules, region="NL"),
    )


def _parse(message: dict[str, Any], kind: str | None = "track") -> Any:
    return parse_message(message, kind, "body", _envelope(), None)


def test_clock_skew_correction() -> None:
    original = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    sent = original + timedelta(seconds=30)
    assert event_time(NOW, sent_at=sent, original=original) == NOW - timedelta(seconds=30)
    assert event_time(NOW, sent_at=None, original=original) == original
    assert event_time(NOW, sent_at=sent, original=None) == NOW
    # An original stamped after sending would put the event in the future: capped at receipt.
    assert event_time(NOW, sent_at=original, original=sent) == NOW


@given(skew=st.integers(-10**6, 10**6), delay=st.integers(0, 10**5))
def test_skew_correction_recovers_the_delay_whatever_the_device_clock(
    skew: int, delay: int
) -> None:
    device_original = NOW + timedelta(seconds=skew)
    device_sent = device_original + timedelta(seconds=delay)
    corrected = event_time(NOW, sent_at=device_sent, original=device_original)
    assert corrected == NOW - timedelta(seconds=delay)


def test_identities_come_from_ids_traits_device_external_ids_and_loyalty_card() -> None:
    event = _parse({
        "userId": 7, "anonymousId": "a1", "event": "Order Completed",
        "traits": {"loyalty_card": "LC-9"},
        "context": {
            "traits": {"email": "Ann@X.nl", "phone": "0612345678"},
            "device": {"id": "dev-1"},
            "externalIds": [{"id": "c-1", "type": "crm_id", "collection": "users"},
                            {"id": "undefined", "type": "pos_id"}],
        },
    })
    assert event.identities == [
        Identity("user_id", "7"), Identity("anonymous_id", "a1"), Identity("email", "ann@x.nl"),
        Identity("phone", "+31612345678"), Identity("loyalty_card", "LC-9"),
        Identity("device_id", "dev-1"), Identity("crm_id", "c-1"),
    ]
    assert event.traits == {"loyalty_card": "LC-9", "email": "Ann@X.nl", "phone": "0612345678"}
    assert (event.user_id, event.message_id, event.channel) == ("7", "msg_1", "web")


def test_alias_links_previous_id_as_an_anonymous_id() -> None:
    event = _parse({"userId": "u1", "previousId": "anon-9"}, "alias")
    assert event.identities == [Identity("user_id", "u1"), Identity("anonymous_id", "anon-9")]


@pytest.mark.parametrize(
    ("context", "traits", "expected"),
    [({"consent": True}, {}, True), ({"consent": {"granted": True}}, {}, True),
     ({}, {"consent": True}, True), ({"consent": "yes"}, {}, False), ({}, {}, False)],
)
def test_consent_is_an_explicit_true(
    context: dict[str, Any], traits: dict[str, Any], expected: bool
) -> None:
    event = _parse({"userId": "u1", "context": context, "traits": traits}, "identify")
    assert event.consent is expected


def test_context_channel_overrides_the_source_channel() -> None:
    assert _parse({"userId": "u1", "event": "A", "context": {"channel": "chat"}}).channel == "chat"


def test_clients_may_not_tag_events_with_the_system_channel() -> None:
    message = {"userId": "u1", "event": "A", "context": {"channel": "system"}}
    with pytest.raises(InvalidInput) as caught:
        parse_body(message, "track", _envelope(), body_size=100)
    assert caught.value.code == "invalid_channel"
    assert caught.value.details[0]["loc"] == "body.context.channel"


def test_field_errors_name_the_place() -> None:
    cases = [
        ({"userId": "u1", "event": "A", "properties": []}, "body.properties", "invalid_field"),
        ({"userId": "u1", "event": 5}, "body.event", "invalid_field"),
        ({"userId": "u1", "event": "x" * 256}, "body.event", "invalid_field"),
        ({"userId": "u1", "event": "A", "context": {"externalIds": [{"id": 1}]}},
         "body.context.externalIds[0]", "invalid_field"),
        ({"userId": "u1", "event": "A", "sentAt": "soon"}, "body.sentAt", "invalid_timestamp"),
        ({"userId": "u1", "groupId": None}, "body.groupId", "missing_group_id"),
    ]
    for message, loc, code in cases:
        kind = "group" if "groupId" in message else "track"
        with pytest.raises(InvalidInput) as caught:
            parse_body(message, kind, _envelope(), body_size=100)
        assert (caught.value.code, caught.value.details[0]["loc"]) == (code, loc)


def test_batch_level_checks() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_body({"batch": {"type": "track"}}, "batch", _envelope(), body_size=10)
    assert caught.value.code == "invalid_batch"
    with pytest.raises(PayloadTooLarge):
        parse_body({"batch": [{}] * (MAX_BATCH_EVENTS + 1)}, "batch", _envelope(), body_size=10)
    with pytest.raises(InvalidInput) as caught:
        parse_body({"batch": [{}] * 30}, "batch", _envelope(), body_size=10)
    assert len(caught.value.details) == 20  # errors are capped, the first one names the code
    check_body_size(32 * 1024, batch=False)
    with pytest.raises(PayloadTooLarge):
        check_body_size(32 * 1024 + 1, batch=False)
    check_body_size(500 * 1024, batch=True)
    with pytest.raises(PayloadTooLarge):
        check_body_size(500 * 1024 + 1, batch=True)
