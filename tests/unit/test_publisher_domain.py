"""Pure rules of pretargeting: selection, channel by capacity, calendars, cost per sale."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kanaal.core.errors import InvalidInput
from kanaal.publishers.domain import (
    Calendar,
    InviteChannel,
    Rules,
    check_calendar,
    check_slot,
    choose_channel,
    cost_per_sale,
    selection_miss,
    slots_on,
)


@dataclass(frozen=True)
class Queue:
    available_agents: int
    over_target: bool


RULES = Rules(segments=("in-market",), min_score=0.5, page_types=("review",),
              keywords=("ev",))
GOOD = {"segment": "in-market", "score": 0.7, "page": {"type": "review"},
        "keywords": ["EV", "family"]}


@pytest.mark.parametrize(("change", "miss"), [
    ({}, None),
    ({"segment": "students"}, "segment"),
    ({"score": 0.49}, "score"),
    ({"score": None}, "score"),
    ({"page": {"type": "news"}}, "page_type"),
    ({"keywords": ["diesel"]}, "keywords"),
])
def test_prospect_selection(change: dict[str, object], miss: str | None) -> None:
    assert selection_miss(RULES, {**GOOD, **change}) == miss


def test_a_campaign_without_rules_selects_everyone() -> None:
    assert selection_miss(Rules(), {}) is None


def test_the_first_channel_with_a_free_agent_within_target_is_chosen() -> None:
    phone = InviteChannel("phone", "sales", "+3120")
    callback = InviteChannel("callback", "later")
    channels = (phone, callback)
    assert choose_channel(channels, {"sales": Queue(2, False), "later": Queue(1, False)}) == phone
    assert choose_channel(channels, {"sales": Queue(0, False), "later": Queue(1, False)}) == (
        callback)
    assert choose_channel(channels, {"sales": Queue(3, True), "later": Queue(0, False)}) is None
    assert choose_channel(channels, {}) is None


CAL = Calendar("store", "loc_1", slot_minutes=45, opens=time(9), closes=time(12),
               weekdays=(0, 2))


def test_slots_follow_the_grid_within_opening_hours_on_open_days() -> None:
    monday = date(2026, 1, 5)
    assert [s.strftime("%H:%M") for s in slots_on(CAL, monday)] == [
        "09:00", "09:45", "10:30", "11:15"]
    assert slots_on(CAL, date(2026, 1, 6)) == []


def test_bookable_slots() -> None:
    now = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    assert check_slot(CAL, datetime(2026, 1, 5, 9, 45, tzinfo=UTC), now).minute == 45
    for bad, code in [(datetime(2026, 1, 5, 9, 0, tzinfo=UTC), "slot_in_past"),
                      (datetime(2026, 1, 5, 10, 0, tzinfo=UTC), "invalid_slot"),
                      (datetime(2026, 1, 6, 9, 0, tzinfo=UTC), "invalid_slot"),
                      (datetime(2026, 1, 5, 9, 45), "invalid_slot")]:  # noqa: DTZ001
        with pytest.raises(InvalidInput) as refused:
            check_slot(CAL, bad, now)
        assert refused.value.code == code


def test_calendars_without_bookable_time_are_refused() -> None:
    for bad in (Calendar("room", "x"), Calendar("store", "x", opens=time(12), closes=time(9)),
                Calendar("agent", "x", weekdays=()), Calendar("agent", "x", weekdays=(7,)),
                Calendar("agent", "x", slot_minutes=2)):
        with pytest.raises(InvalidInput):
            check_calendar(bad)


@given(st.integers(5, 240), st.integers(0, 23), st.integers(1, 24))
def test_slots_never_run_past_closing_and_are_evenly_spaced(minutes: int, opens: int,
                                                            hours: int) -> None:
    closes = min(opens + hours, 23)
    if closes <= opens:
        return
    cal = Calendar("store", "s", slot_minutes=minutes, opens=time(opens), closes=time(closes),
                   weekdays=tuple(range(7)))
    slots = slots_on(cal, date(2026, 3, 1))
    end = datetime(2026, 3, 1, closes, tzinfo=UTC)
    assert all(s + timedelta(minutes=minutes) <= end for s in slots)
    assert all(b - a == timedelta(minutes=minutes) for a, b in zip(slots, slots[1:],
                                                                   strict=False))


def test_cost_per_sale() -> None:
    assert cost_per_sale(Decimal("100.00"), 3) == Decimal("33.33")
    assert cost_per_sale(Decimal("100.00"), 0) is None
