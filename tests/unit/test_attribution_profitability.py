"""Channel profitability by hand and cannibalization on logs with a known true effect."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from kanaal.analytics.profitability import (
    ChannelFigures,
    ContactFact,
    LogEntry,
    OrderFact,
    RefundFact,
    cannibalization,
    channel_profitability,
)
from kanaal.core.errors import InvalidInput

D = Decimal
T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)


def test_channel_profitability_by_hand() -> None:
    orders = [
        OrderFact("o1", "c1", "web", T0, D("100.00"), D("30.00")),
        OrderFact("o2", "c1", "phone", T0 + timedelta(days=1), D("250.00"), D("90.00")),
        OrderFact("o3", "c2", "phone", T0, D("80.00"), D("20.00")),
        OrderFact("o4", "c3", "web", T0 + timedelta(days=2), D("40.00"), D("10.00")),
    ]
    contacts = [ContactFact("phone", D("12.50")), ContactFact("phone", D("7.50")),
                ContactFact("chat", D("3.00"))]
    assert channel_profitability(orders, contacts) == [
        ChannelFigures("phone", 2, D("330.00"), D("110.00"), D("20.00"), D("90.00"),
                       D("10.00"), 1),
        ChannelFigures("web", 2, D("140.00"), D("40.00"), D("0.00"), D("40.00"), D("0.00"), 2),
        ChannelFigures("chat", 0, D("0.00"), D("0.00"), D("3.00"), D("-3.00"), None, 0),
    ]


def synthetic_log(seed: int, *, uplift: float, cost: str, n: int) -> list[LogEntry]:
    """Holdout margin ~ N(20, 10); assisted customers get `uplift` more and cost `cost`."""
    rng = np.random.default_rng(seed)
    entries = []
    for i in range(2 * n):
        holdout = i % 2 == 0
        margin = rng.normal(20.0, 10.0) + (0.0 if holdout else uplift)
        entries.append(LogEntry(f"c{i}", holdout, D(f"{margin:.2f}"),
                                D(0) if holdout else D(cost)))
    return entries


def test_the_interval_covers_the_true_incremental_net_margin() -> None:
    result = cannibalization(synthetic_log(1, uplift=5.0, cost="3.00", n=2000))
    assert (result.treated, result.holdout) == (2000, 2000)
    assert result.extra_contact_cost == pytest.approx(3.0, abs=1e-12)
    assert result.incremental_net_margin == pytest.approx(
        result.incremental_margin - result.extra_contact_cost, abs=1e-9)
    assert result.ci_low < 2.0 < result.ci_high
    assert result.verdict == "pays"


def test_the_interval_covers_the_truth_about_95_percent_of_the_time() -> None:
    covered = 0
    for seed in range(200):
        result = cannibalization(synthetic_log(seed, uplift=1.0, cost="0.50", n=150))
        covered += result.ci_low < 0.5 < result.ci_high
    assert 180 <= covered <= 198  # binomial(200, 0.95): 190 ± 3 sd


def test_an_upsell_smaller_than_the_contact_cost_does_not_pay() -> None:
    result = cannibalization(synthetic_log(5, uplift=1.0, cost="3.00", n=4000))
    assert result.ci_low < -2.0 < result.ci_high
    assert result.verdict == "does_not_pay"


def test_too_small_a_log_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        cannibalization(synthetic_log(1, uplift=1.0, cost="1", n=1))
    assert caught.value.code == "not_enough_units"


def test_earlier_orders_decide_who_is_new_but_are_not_counted() -> None:
    orders = [
        OrderFact("o1", "c1", "web", T0, D("10.00"), D("3.00")),
        OrderFact("o2", "c1", "phone", T0 + timedelta(days=3), D("20.00"), D("5.00")),
        OrderFact("o3", "c2", "phone", T0 + timedelta(days=4), D("30.00"), D("9.00")),
    ]
    figures = channel_profitability(orders, since=T0 + timedelta(days=1))
    assert figures == [ChannelFigures("phone", 2, D("50.00"), D("14.00"), D("0.00"),
                                      D("14.00"), D("0.00"), 1)]


def test_refunds_are_taken_off_the_channel_they_happen_on() -> None:
    orders = [OrderFact("o1", "c1", "web", T0, D("100.00"), D("30.00"))]
    refunds = [RefundFact("web", D("40.00"), D("12.00")), RefundFact("store", D("5.00"),
                                                                      D("1.50"))]
    assert channel_profitability(orders, refunds=refunds) == [
        ChannelFigures("web", 1, D("60.00"), D("18.00"), D("0.00"), D("18.00"), D("0.00"), 1,
                       D("40.00")),
        ChannelFigures("store", 0, D("-5.00"), D("-1.50"), D("0.00"), D("-1.50"), None, 0,
                       D("5.00")),
    ]
