"""Segment rules: exact memberships on fixed profiles, time windows, and validation paths."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kanaal.core.errors import InvalidInput
from kanaal.marketing.segment_rules import EventRecord, Profile, evaluate, parse_rule

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


def ev(name: str, days_ago: float, channel: str = "web", **props: Any) -> EventRecord:
    return EventRecord(name, channel, NOW - timedelta(days=days_ago), props)


TV_BROWSER_NO_ORDER = {
    "all": [
        {"event": "Product Viewed", "where": {"category": "tv"}, "count": {"gte": 3},
         "within_days": 14},
        {"not": {"event": "Order Completed", "within_days": 14}},
    ]
}

PROFILES = {
    "ann": Profile({"country": "NL", "birth_year": 1990, "consent": {"email": True}},
                   frozenset({"email"}),
                   [ev("Product Viewed", d, category="tv") for d in (1, 2, 13.9)]),
    "bob": Profile({"country": "BE", "birth_year": 1970}, frozenset({"phone"}),
                   [ev("Product Viewed", d, category="tv") for d in (1, 2, 3)]
                   + [ev("Order Completed", 5)]),
    "cas": Profile({"country": "NL"}, frozenset({"email", "phone"}),
                   [ev("Product Viewed", d, category="tv") for d in (1, 2, 14.1)]
                   + [ev("Store Entered", 30, channel="store")]),
    "dee": Profile({}, frozenset(), [ev("Product Viewed", d, category="laptop") for d in (1, 2, 3)]
                   + [ev("Order Completed", 20)], rfm={"recency": 5, "frequency": 2,
                                                        "monetary": 4}),
}


def members(rule: dict[str, Any], now: datetime = NOW) -> set[str]:
    parsed = parse_rule(rule)
    return {name for name, profile in PROFILES.items() if evaluate(parsed, profile, now)}


def test_viewed_category_three_times_in_14_days_and_no_order() -> None:
    assert members(TV_BROWSER_NO_ORDER) == {"ann"}


def test_windows_move_with_the_clock() -> None:
    assert members(TV_BROWSER_NO_ORDER, NOW + timedelta(hours=3)) == set()
    assert members(TV_BROWSER_NO_ORDER, NOW - timedelta(hours=3)) == {"ann", "cas"}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"trait": "country", "value": "NL"}, {"ann", "cas"}),
        ({"trait": "country", "op": "in", "value": ["BE", "DE"]}, {"bob"}),
        ({"trait": "country", "op": "exists"}, {"ann", "bob", "cas"}),
        ({"trait": "birth_year", "op": "lt", "value": 1980}, {"bob"}),
        ({"identity": "phone"}, {"bob", "cas"}),
        ({"generation": "millennial"}, {"ann"}),
        ({"generation": "gen_x"}, {"bob"}),
        ({"consent": "email"}, {"ann"}),
        ({"channel_used": "store"}, {"cas"}),
        ({"channel_used": "store", "within_days": 7}, set()),
        ({"rfm": {"recency": {"gte": 4}, "monetary": {"gte": 4}}}, {"dee"}),
        ({"event": "Order Completed", "count": {"eq": 0}}, {"ann", "cas"}),
        ({"any": [{"identity": "phone"}, {"consent": "email"}]}, {"ann", "bob", "cas"}),
    ],
)
def test_rule_kinds(rule: dict[str, Any], expected: set[str]) -> None:
    assert members(rule) == expected


@pytest.mark.parametrize(
    ("rule", "loc"),
    [
        ({"all": []}, "all"),
        ({"all": [{"trait": "x", "op": "like", "value": 1}]}, "all[0].op"),
        ({"event": "X", "count": {"gte": -1}}, "count.gte"),
        ({"event": "X", "count": {"about": 3}}, "count.about"),
        ({"event": "X", "within_days": 0}, "within_days"),
        ({"any": [{"identity": "email"}, {"colour": "red"}]}, "any[1]"),
        ({"trait": "x", "value": 1, "bogus": True}, "bogus"),
        ({"not": {"generation": "hippie"}}, "not.generation"),
        ({"rfm": {"loyalty": {"gte": 1}}}, "rfm.loyalty"),
        ("everyone", "rule"),
    ],
)
def test_invalid_rules_point_at_the_problem(rule: Any, loc: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_rule(rule)
    assert err.value.code == "invalid_rule"
    assert err.value.details[0]["loc"] == loc


def test_lookback_and_event_names_drive_incremental_loading() -> None:
    rule = parse_rule(TV_BROWSER_NO_ORDER)
    assert rule.lookback_days() == 14
    assert rule.event_names() == {"Product Viewed", "Order Completed"}
    assert not rule.reads_channels()
    assert parse_rule({"channel_used": "store"}).lookback_days() == float("inf")
