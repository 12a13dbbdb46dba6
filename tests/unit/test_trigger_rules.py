"""Trigger definitions: validation paths, quiet hours, caps and a stable holdout."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kanaal.core.errors import InvalidInput
from kanaal.marketing.trigger_rules import (
    Caps,
    QuietHours,
    after_quiet_hours,
    caps_allow,
    in_holdout,
    parse_trigger,
)

CART = {
    "name": "abandoned cart",
    "event": "Product Added",
    "delay_seconds": 3600,
    "cancel_on": ["Order Completed"],
    "action": {"kind": "email", "subject": "Still thinking?", "body": "Hi {{ traits.first_name }}"},
    "quiet_hours": {"start": "22:00", "end": "08:00", "timezone": "Europe/Amsterdam"},
}


def test_a_valid_trigger_parses() -> None:
    spec = parse_trigger(CART)
    assert spec.delay == timedelta(hours=1)
    assert spec.cancel_on == ("Order Completed",)
    assert spec.caps == Caps(per_day=1, min_interval=timedelta(0))


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"event": ""}, "event"),
        ({"delay_seconds": -5}, "delay_seconds"),
        ({"action": {"kind": "pigeon"}}, "action.kind"),
        ({"action": {"kind": "email", "body": "x"}}, "action.subject"),
        ({"condition": {"all": [{"trait": "x", "op": "like", "value": 1}]}},
         "condition.all[0].op"),
        ({"quiet_hours": {"start": "22h", "end": "08:00", "timezone": "UTC"}},
         "quiet_hours.start"),
        ({"quiet_hours": {"start": "22:00", "end": "08:00", "timezone": "Mars/Base"}},
         "quiet_hours.timezone"),
        ({"holdout_share": 1.5}, "holdout_share"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_triggers_point_at_the_field(change: dict[str, Any], loc: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_trigger({**CART, **change})
    assert err.value.code == "invalid_trigger"
    assert err.value.details[0]["loc"] == loc


QUIET = QuietHours(time(22, 0), time(8, 0), "Europe/Amsterdam")


@pytest.mark.parametrize(
    ("utc", "expected"),
    [
        ("2026-01-05T12:00", "2026-01-05T12:00"),  # 13:00 local: not quiet
        ("2026-01-05T21:30", "2026-01-06T07:00"),  # 22:30 local → 08:00 local next day
        ("2026-01-06T02:00", "2026-01-06T07:00"),  # 03:00 local → 08:00 local same day
        ("2026-07-06T05:30", "2026-07-06T06:00"),  # summer time: 07:30 local → 08:00 local
    ],
)
def test_sends_in_quiet_hours_move_to_their_end(utc: str, expected: str) -> None:
    when = datetime.fromisoformat(utc).replace(tzinfo=UTC)
    assert after_quiet_hours(when, QUIET) == datetime.fromisoformat(expected).replace(tzinfo=UTC)


def test_caps_count_sends_in_the_last_day_and_the_minimum_interval() -> None:
    now = datetime(2026, 1, 5, 12, tzinfo=UTC)
    caps = Caps(per_day=2, min_interval=timedelta(hours=4))
    assert caps_allow([], now, caps)
    assert caps_allow([now - timedelta(hours=5)], now, caps)
    assert not caps_allow([now - timedelta(hours=3)], now, caps)
    assert not caps_allow([now - timedelta(hours=5), now - timedelta(hours=10)], now, caps)
    assert caps_allow([now - timedelta(hours=25), now - timedelta(hours=30)], now, caps)


@given(st.text(min_size=1, max_size=12))
def test_holdout_is_stable_per_customer(customer: str) -> None:
    assert in_holdout("t", customer, 0.3) == in_holdout("t", customer, 0.3)
    assert not in_holdout("t", customer, 0.0)


def test_holdout_share_is_close_to_the_setting() -> None:
    held = sum(in_holdout("cart", f"cus_{i}", 0.1) for i in range(20_000))
    assert 0.09 * 20_000 <= held <= 0.11 * 20_000
