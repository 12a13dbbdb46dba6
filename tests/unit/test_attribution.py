"""Attribution models on hand-computed cases; Markov removal effects on the issue's paths."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kanaal.analytics.attribution import (
    Path,
    Touch,
    attribute,
    conversion_probability,
    first_touch,
    last_touch,
    linear,
    markov,
    position_based,
    position_shares,
    time_decay,
    transition_counts,
)
from kanaal.core.errors import InvalidInput

ISSUE_PATHS = [
    Path.of(["C1", "C2", "C3"], converted=True, value=90.0),
    Path.of(["C1"], converted=False),
    Path.of(["C2", "C3"], converted=False),
]
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_markov_removal_effects_and_credit_on_the_issue_paths() -> None:
    result = markov(ISSUE_PATHS)
    assert result.conversion_probability == pytest.approx(1 / 3, abs=1e-12)
    for channel, effect in {"C1": 0.5, "C2": 1.0, "C3": 1.0}.items():
        assert abs(result.removal_effects[channel] - effect) < 1e-9
    for channel, share in {"C1": 0.2, "C2": 0.4, "C3": 0.4}.items():
        assert abs(result.shares[channel] - share) < 1e-9
        assert abs(result.credit[channel] - share) < 1e-9  # one conversion in total


def test_markov_credit_on_revenue_splits_the_revenue_by_the_same_shares() -> None:
    credit = markov(ISSUE_PATHS, on="revenue").credit
    assert credit == pytest.approx({"C1": 18.0, "C2": 36.0, "C3": 36.0}, abs=1e-9)


def test_removing_a_channel_sends_its_traffic_to_null() -> None:
    counts = transition_counts(ISSUE_PATHS)
    assert counts[("(start)", "C1")] == 2 and counts[("C3", "(null)")] == 1
    assert conversion_probability(counts, removed="C1") == pytest.approx(1 / 6, abs=1e-12)
    assert conversion_probability(counts, removed="C2") == 0.0
    assert conversion_probability(counts, removed="C3") == 0.0


def test_markov_handles_loops_with_the_fundamental_matrix() -> None:
    # A > A > conv, A > null: from A, P(A)=1/3, P(conv)=1/3, P(null)=1/3 so P(conv)=1/2.
    paths = [Path.of(["A", "A"], converted=True), Path.of(["A"], converted=False)]
    assert markov(paths).conversion_probability == pytest.approx(0.5, abs=1e-12)


def test_markov_with_no_conversion_gives_no_credit() -> None:
    result = markov([Path.of(["A", "B"], converted=False)])
    assert result.conversion_probability == 0.0
    assert result.credit == {"A": 0.0, "B": 0.0}


def test_path_counts_equal_repeated_paths() -> None:
    repeated = [*ISSUE_PATHS, *ISSUE_PATHS[1:], ISSUE_PATHS[2]]
    counted = [ISSUE_PATHS[0], Path.of(["C1"], converted=False, count=2),
               Path.of(["C2", "C3"], converted=False, count=3)]
    assert markov(repeated).removal_effects == pytest.approx(markov(counted).removal_effects)


def test_markov_matches_a_monte_carlo_walk_of_the_same_chain() -> None:
    paths = [Path.of(["A", "B"], converted=True), Path.of(["B"], converted=True),
             Path.of(["A", "C", "B"], converted=False), Path.of(["C"], converted=True)]
    counts = transition_counts(paths)
    rng = np.random.default_rng(7)
    outgoing: dict[str, list[tuple[str, float]]] = {}
    for (here, there), n in counts.items():
        outgoing.setdefault(here, []).append((there, n))
    hits = 0
    for _ in range(20000):
        state = "(start)"
        while state not in ("(conversion)", "(null)"):
            targets, weights = zip(*outgoing[state], strict=True)
            state = targets[rng.choice(len(targets), p=np.array(weights) / sum(weights))]
        hits += state == "(conversion)"
    assert abs(hits / 20000 - conversion_probability(counts)) < 0.01


def test_first_and_last_touch() -> None:
    paths = [Path.of(["web", "phone", "store"], converted=True),
             Path.of(["web"], converted=True), Path.of(["phone"], converted=False)]
    assert first_touch(paths) == {"web": 2.0, "phone": 0.0, "store": 0.0}
    assert last_touch(paths) == {"web": 1.0, "phone": 0.0, "store": 1.0}


def test_linear_counts_every_touch() -> None:
    paths = [Path.of(["web", "phone", "web", "store"], converted=True, value=100.0)]
    assert linear(paths) == {"web": 0.5, "phone": 0.25, "store": 0.25}
    assert linear(paths, on="revenue") == {"web": 50.0, "phone": 25.0, "store": 25.0}


def test_position_based_40_20_40() -> None:
    assert position_shares(1) == [1.0]
    assert position_shares(2) == [0.5, 0.5]
    assert position_shares(4) == pytest.approx([0.4, 0.1, 0.1, 0.4])
    paths = [Path.of(["web", "chat", "phone", "store"], converted=True, value=200.0)]
    assert position_based(paths, on="revenue") == pytest.approx(
        {"web": 80.0, "chat": 20.0, "phone": 20.0, "store": 80.0})


def test_time_decay_halves_the_weight_every_half_life() -> None:
    touches = (Touch("web", T0), Touch("phone", T0 + timedelta(hours=24)),
               Touch("store", T0 + timedelta(hours=48)))
    path = Path(touches, converted=True, value=70.0, converted_at=T0 + timedelta(hours=48))
    # ages 48h, 24h, 0h with a 24h half-life: weights 1/4, 1/2, 1 → 1/7, 2/7, 4/7.
    credit = time_decay([path], on="revenue", half_life_hours=24)
    assert credit == pytest.approx({"web": 10.0, "phone": 20.0, "store": 40.0}, abs=1e-9)


def test_time_decay_needs_timestamps_and_a_positive_half_life() -> None:
    with pytest.raises(InvalidInput) as missing:
        time_decay([Path.of(["web"], converted=True)])
    assert missing.value.code == "missing_time"
    with pytest.raises(InvalidInput) as bad:
        time_decay([Path((Touch("web", T0),), True)], half_life_hours=0)
    assert bad.value.code == "invalid_half_life"


def test_bad_input_is_refused() -> None:
    with pytest.raises(InvalidInput) as empty:
        linear([Path((), converted=True)])
    assert empty.value.code == "empty_path"
    with pytest.raises(InvalidInput) as model:
        attribute(ISSUE_PATHS, "shapley")
    assert model.value.code == "unknown_model"
    with pytest.raises(InvalidInput) as basis:
        linear(ISSUE_PATHS, on="margin")
    assert basis.value.code == "unknown_basis"


channel_names = st.sampled_from(["web", "phone", "chat", "store", "mobile"])
paths_strategy = st.lists(
    st.builds(
        lambda cs, conv, value: Path.of(cs, converted=conv, value=value),
        st.lists(channel_names, min_size=1, max_size=6), st.booleans(),
        st.floats(min_value=0, max_value=1000, allow_nan=False),
    ), min_size=1, max_size=25)


@given(paths_strategy, st.sampled_from(["first_touch", "last_touch", "linear",
                                        "position_based", "markov"]))
def test_every_model_hands_out_exactly_the_observed_total(paths: list[Path], model: str) -> None:
    converted = [p for p in paths if p.converted]
    for basis, total in (("conversions", float(len(converted))),
                         ("revenue", sum(p.value for p in converted))):
        credit = attribute(paths, model, on=basis)
        assert sum(credit.values()) == pytest.approx(total, rel=1e-9, abs=1e-9)
        assert all(v >= -1e-12 for v in credit.values())


@given(paths_strategy)
def test_markov_removal_effects_lie_between_zero_and_one(paths: list[Path]) -> None:
    result = markov(paths)
    assert 0.0 <= result.conversion_probability <= 1.0 + 1e-12
    assert all(-1e-9 <= e <= 1.0 + 1e-9 for e in result.removal_effects.values())
