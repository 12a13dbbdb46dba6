"""Erlang B/C/A: the issue's vectors, pyworkforce on a grid, and invariants by hypothesis."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyworkforce.queuing import ErlangC

from kanaal.contact_center.erlang import (
    erlang_a_metrics,
    erlang_b,
    erlang_c,
    erlang_c_metrics,
    queue_metrics,
    required_agents,
)

# 100 calls per 30 minutes, 3 minutes handle time: 10 Erlangs; answer target 20 seconds.
TRAFFIC = 100 / (30 * 60) * 180
VECTORS = [
    (11, 0.682118, 0.389614),
    (12, 0.449388, 0.640158),
    (13, 0.285270, 0.795595),
    (14, 0.174132, 0.888350),
    (15, 0.102042, 0.941453),
]


@pytest.mark.parametrize(("agents", "waiting", "level"), VECTORS)
def test_erlang_c_matches_the_published_vectors(agents: int, waiting: float, level: float
                                                ) -> None:
    metrics = erlang_c_metrics(agents, TRAFFIC, 180.0, 20.0)
    assert round(metrics.waiting_probability, 6) == waiting
    assert metrics.service_level is not None
    assert round(metrics.service_level, 6) == level
    assert metrics.stable


def test_fourteen_agents_are_required_for_eighty_percent_in_twenty_seconds() -> None:
    assert required_agents(TRAFFIC, 180.0, 20.0, 0.8) == 14


def test_average_speed_of_answer_is_waiting_probability_times_handle_over_spare() -> None:
    metrics = erlang_c_metrics(12, TRAFFIC, 180.0, 20.0)
    assert metrics.average_wait_seconds == pytest.approx(0.449388 * 180 / 2, abs=1e-4)


GRID = [
    (transactions, aht, agents)
    for transactions in (5, 40, 100, 250, 600)
    for aht in (1.5, 3.0, 7.0)
    for agents in (1, 3, 8, 15, 30, 60, 120)
]


@pytest.mark.parametrize(("transactions", "aht", "agents"), GRID)
def test_erlang_c_agrees_with_pyworkforce(transactions: int, aht: float, agents: int) -> None:
    reference = ErlangC(transactions=transactions, aht=aht, asa=20 / 60, interval=30)
    traffic = transactions / 30 * aht
    ours = erlang_c_metrics(agents, traffic, aht * 60, 20.0)
    if agents <= traffic:
        assert not ours.stable and ours.service_level is None
        return
    assert ours.waiting_probability == pytest.approx(
        reference.waiting_probability(agents), rel=1e-9, abs=1e-12)
    assert ours.service_level == pytest.approx(reference.service_level(agents), rel=1e-9,
                                               abs=1e-12)


@pytest.mark.parametrize("target", [0.5, 0.8, 0.9, 0.95])
def test_required_agents_agree_with_pyworkforce(target: float) -> None:
    reference = ErlangC(transactions=100, aht=3, asa=20 / 60, interval=30)
    assert required_agents(TRAFFIC, 180.0, 20.0, target) == \
        reference.required_positions(service_level=target)["raw_positions"]


def test_large_staffing_never_overflows() -> None:
    metrics = erlang_c_metrics(2000, 1950.0, 300.0, 20.0)
    assert metrics.stable and 0.0 < metrics.waiting_probability < 1.0
    assert 0.0 <= erlang_b(5000, 4000.0) <= 1.0


def test_at_or_below_traffic_intensity_the_queue_is_unstable() -> None:
    for agents in (0, 5, 10):
        metrics = erlang_c_metrics(agents, TRAFFIC, 180.0, 20.0)
        assert (metrics.stable, metrics.average_wait_seconds, metrics.service_level) == (
            False, None, None)
        assert erlang_c(agents, TRAFFIC) is None


def test_no_traffic_means_no_wait() -> None:
    metrics = erlang_c_metrics(3, 0.0, 180.0, 20.0)
    assert (metrics.waiting_probability, metrics.average_wait_seconds,
            metrics.service_level) == (0.0, 0.0, 1.0)
    assert required_agents(0.0, 180.0, 20.0, 0.8) == 0


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="handle time"):
        erlang_c_metrics(3, 1.0, 0.0, 20.0)
    with pytest.raises(ValueError, match="traffic"):
        erlang_b(3, -1.0)
    with pytest.raises(ValueError, match="patience"):
        erlang_a_metrics(3, 1.0, 180.0, 20.0, 0.0)
    with pytest.raises(ValueError, match="target"):
        required_agents(1.0, 180.0, 20.0, 1.5)


# ---------------------------------------------------------------- Erlang A


def test_erlang_a_with_endless_patience_is_erlang_c() -> None:
    for agents, waiting, level in VECTORS:
        metrics = erlang_a_metrics(agents, TRAFFIC, 180.0, 20.0, 1e12)
        assert round(metrics.waiting_probability, 6) == waiting
        assert metrics.service_level is not None
        assert round(metrics.service_level, 6) == level


def test_erlang_a_matches_a_simulation_of_impatient_callers() -> None:
    # Figures from a 400 000-call discrete-event simulation of M/M/n+M (seed 1):
    # 10 agents, 10 Erlangs, 180 s handle, 120 s patience: 64.2% answered in 20 s, 13.7% hang up;
    # 8 agents, 30 s patience: 62.0% answered in 20 s, 29.5% hang up.
    ten = erlang_a_metrics(10, TRAFFIC, 180.0, 20.0, 120.0)
    eight = erlang_a_metrics(8, TRAFFIC, 180.0, 20.0, 30.0)
    assert ten.service_level == pytest.approx(0.642, abs=0.004)
    assert ten.abandon_probability == pytest.approx(0.1375, abs=0.002)
    assert eight.service_level == pytest.approx(0.620, abs=0.004)
    assert eight.abandon_probability == pytest.approx(0.2968, abs=0.003)


def test_erlang_a_stays_stable_when_understaffed_and_needs_fewer_agents() -> None:
    metrics = erlang_a_metrics(8, TRAFFIC, 180.0, 20.0, 120.0)
    assert metrics.stable and metrics.average_wait_seconds is not None
    assert required_agents(TRAFFIC, 180.0, 20.0, 0.8, 120.0) < 14


# ---------------------------------------------------------------- invariants

traffic_values = st.floats(min_value=0.01, max_value=300.0, allow_nan=False)
handle_values = st.floats(min_value=5.0, max_value=3600.0, allow_nan=False)
answer_values = st.floats(min_value=0.0, max_value=600.0, allow_nan=False)


@given(traffic=traffic_values, handle=handle_values, answer=answer_values,
       extra=st.integers(min_value=1, max_value=40))
def test_service_level_never_falls_when_an_agent_is_added(
    traffic: float, handle: float, answer: float, extra: int
) -> None:
    agents = math.floor(traffic) + extra
    before = erlang_c_metrics(agents, traffic, handle, answer)
    after = erlang_c_metrics(agents + 1, traffic, handle, answer)
    assert before.service_level is not None and after.service_level is not None
    assert after.service_level >= before.service_level - 1e-12
    assert after.waiting_probability <= before.waiting_probability + 1e-12
    assert 0.0 <= after.service_level <= 1.0


@given(traffic=traffic_values, handle=handle_values, answer=answer_values,
       short=st.integers(min_value=0, max_value=50))
def test_at_or_below_traffic_intensity_erlang_c_says_unstable(
    traffic: float, handle: float, answer: float, short: int
) -> None:
    agents = max(0, math.floor(traffic) - short)
    metrics = erlang_c_metrics(agents, traffic, handle, answer)
    assert not metrics.stable
    assert metrics.average_wait_seconds is None and metrics.service_level is None


@settings(max_examples=40, deadline=None)
@given(traffic=st.floats(min_value=0.1, max_value=30.0), agents=st.integers(1, 40),
       patience=st.floats(min_value=10.0, max_value=1200.0))
def test_erlang_a_service_level_never_falls_when_an_agent_is_added(
    traffic: float, agents: int, patience: float
) -> None:
    before = queue_metrics(agents, traffic, 180.0, 20.0, patience)
    after = queue_metrics(agents + 1, traffic, 180.0, 20.0, patience)
    assert before.service_level is not None and after.service_level is not None
    assert after.service_level >= before.service_level - 1e-9
    assert 0.0 <= after.abandon_probability <= before.abandon_probability + 1e-9


@given(traffic=traffic_values, target=st.floats(min_value=0.05, max_value=0.99))
def test_required_agents_is_the_fewest_that_reach_the_target(traffic: float, target: float
                                                             ) -> None:
    needed = required_agents(traffic, 180.0, 20.0, target)
    reached = erlang_c_metrics(needed, traffic, 180.0, 20.0).service_level
    assert reached is not None and reached >= target
    fewer = erlang_c_metrics(needed - 1, traffic, 180.0, 20.0).service_level
    assert fewer is None or fewer < target


@settings(max_examples=30, deadline=None)
@given(traffic=st.floats(min_value=0.1, max_value=40.0),
       patience=st.floats(min_value=10.0, max_value=1200.0),
       target=st.floats(min_value=0.05, max_value=0.95))
def test_erlang_a_required_agents_is_the_fewest_that_reach_the_target(
    traffic: float, patience: float, target: float
) -> None:
    needed = required_agents(traffic, 180.0, 20.0, target, patience)
    reached = erlang_a_metrics(needed, traffic, 180.0, 20.0, patience).service_level
    assert reached is not None and reached >= target
    if needed > 1:
        fewer = erlang_a_metrics(needed - 1, traffic, 180.0, 20.0, patience).service_level
        assert fewer is not None and fewer < target
