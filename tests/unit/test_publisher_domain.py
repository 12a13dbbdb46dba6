"""Pure rules of pretargeting: selection, the campaign period, channel by capacity, calendars,
the attribution window, cost per sale.

Slots and bookable times are the shared calendars' rules: tests/unit/test_calendars_domain.py.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest

from kanaal.core.errors import InvalidInput
from kanaal.publishers.domain import (
    Calendar,
    Campaign,
    InviteChannel,
    Rules,
    attributed,
    campaign_status,
    check_attribution_days,
    check_calendar,
    check_period,
    choose_channel,
    cost_per_sale,
    period_miss,
    running_since,
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


CREATED = datetime(2026, 1, 5, 9, tzinfo=UTC)
START = datetime(2026, 2, 1, tzinfo=UTC)
END = datetime(2026, 3, 1, tzinfo=UTC)
CAMPAIGN = Campaign(
    id="pcm_1", handle="test-drive", name="Test drive", publisher="AutoWeek", sku=None,
    expected_value=Decimal("2500"), currency="EUR", headline="h", body="b", rules=Rules(),
    channels=(InviteChannel("callback", "later"),), calendar=None,
    cost_per_mille=Decimal("0"), cost_per_click=Decimal("0"), created_at=CREATED,
    starts_at=START, ends_at=END)
SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(("now", "miss", "status"), [
    (START - SECOND, "campaign_not_started", "scheduled"),
    (START, None, "running"),
    (END - SECOND, None, "running"),
    (END, "campaign_ended", "ended"),
    (END + timedelta(days=400), "campaign_ended", "ended"),
])
def test_a_campaign_runs_from_its_start_until_just_before_its_end(
    now: datetime, miss: str | None, status: str
) -> None:
    assert period_miss(CAMPAIGN, now) == miss
    assert campaign_status(CAMPAIGN, now) == status


def test_a_campaign_without_start_or_end_always_runs() -> None:
    open_ended = replace(CAMPAIGN, starts_at=None, ends_at=None)
    for now in (CREATED - timedelta(days=1), CREATED, END + timedelta(days=1000)):
        assert period_miss(open_ended, now) is None
    assert period_miss(replace(CAMPAIGN, ends_at=None), END + timedelta(days=9)) is None
    assert period_miss(replace(CAMPAIGN, starts_at=None), CREATED - timedelta(days=9)) is None


def test_a_campaign_runs_since_its_start_but_never_before_its_creation() -> None:
    assert running_since(CAMPAIGN) == START
    assert running_since(replace(CAMPAIGN, starts_at=None)) == CREATED
    assert running_since(replace(CAMPAIGN, starts_at=CREATED - timedelta(days=3))) == CREATED


def test_the_end_must_come_after_the_start_or_the_creation() -> None:
    check_period(START, END, CREATED)
    check_period(None, None, CREATED)
    check_period(START, None, CREATED)
    check_period(None, CREATED + SECOND, CREATED)
    check_period(CREATED - timedelta(days=9), CREATED - timedelta(days=8), CREATED)
    for starts_at, ends_at in ((START, START), (START, START - SECOND), (None, CREATED),
                               (None, CREATED - timedelta(days=1))):
        with pytest.raises(InvalidInput) as refused:
            check_period(starts_at, ends_at, CREATED)
        assert refused.value.code == "invalid_period"
        assert refused.value.message.startswith("ends_at:")
        assert refused.value.details[0]["loc"] == ["body", "ends_at"]
    with pytest.raises(InvalidInput) as naive:
        check_period(datetime(2026, 2, 1), None, CREATED)  # noqa: DTZ001 - the point
    assert naive.value.details[0]["loc"] == ["body", "starts_at"]


@pytest.mark.parametrize(("days", "ok"), [(0, False), (1, True), (30, True), (365, True),
                                          (366, False), (-5, False)])
def test_the_attribution_window_is_1_to_365_days(days: int, ok: bool) -> None:
    if ok:
        assert check_attribution_days(days) == days
    else:
        with pytest.raises(InvalidInput) as refused:
            check_attribution_days(days)
        assert refused.value.code == "invalid_attribution_days"


REACH = datetime(2026, 2, 10, 15, 30, tzinfo=UTC)


@pytest.mark.parametrize(("placed", "counts"), [
    (REACH - SECOND, False),
    (REACH, True),
    (REACH + timedelta(days=1), True),
    (REACH + timedelta(days=7) - SECOND, True),
    (REACH + timedelta(days=7), False),
    (REACH + timedelta(days=30), False),
])
def test_an_order_is_attributed_from_the_first_reach_until_the_window_closes(
    placed: datetime, counts: bool
) -> None:
    assert attributed(REACH, placed, 7) is counts
