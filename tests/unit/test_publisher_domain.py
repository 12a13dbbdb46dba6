"""Pure rules of pretargeting: selection, channel by capacity, calendars, cost per sale.

Slots and bookable times are the shared calendars' rules: tests/unit/test_calendars_domain.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from decimal import Decimal

import pytest

from kanaal.core.errors import InvalidInput
from kanaal.publishers.domain import (
    Calendar,
    InviteChannel,
    Rules,
    check_calendar,
    choose_channel,
    cost_per_sale,
    selection_miss,
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


def test_calendars_without_bookable_time_are_refused() -> None:
    for bad in (Calendar("room", "x"), Calendar("store", "x", opens=time(12), closes=time(9)),
                Calendar("agent", "x", weekdays=()), Calendar("agent", "x", weekdays=(7,)),
                Calendar("agent", "x", slot_minutes=2)):
        with pytest.raises(InvalidInput):
            check_calendar(bad)


def test_cost_per_sale() -> None:
    assert cost_per_sale(Decimal("100.00"), 3) == Decimal("33.33")
    assert cost_per_sale(Decimal("100.00"), 0) is None
