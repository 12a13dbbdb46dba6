"""Holdout: deterministic per customer, and its share matches the setting."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kanaal.decisions.holdout import HOLDOUT_ARM, Assignment, Experiment


@pytest.mark.parametrize("share", [0.05, 0.10, 0.25])
def test_holdout_share_is_within_one_point_over_100000_customers(share: float) -> None:
    experiment = Experiment(name="nbc-2026", holdout_share=share)
    held = sum(experiment.arm_for(f"cus_{n:07d}") == HOLDOUT_ARM for n in range(100_000))
    assert abs(held / 100_000 - share) <= 0.01


def test_arms_split_the_rest_by_weight() -> None:
    experiment = Experiment.from_config({"name": "baselines", "holdout_share": 0.1,
                                         "arms": {"kanaal": 3, "propensity_only": 1}})
    arms = [experiment.arm_for(f"anon-{n}") for n in range(100_000)]
    assert abs(arms.count("kanaal") / 100_000 - 0.675) <= 0.01
    assert abs(arms.count("propensity_only") / 100_000 - 0.225) <= 0.01


@given(st.text(min_size=1, max_size=40))
def test_a_customer_always_gets_the_same_arm(subject: str) -> None:
    experiment = Experiment(name="nbc", holdout_share=0.3)
    assert experiment.arm_for(subject) == experiment.arm_for(subject)
    assert Experiment(name="nbc", holdout_share=0.3).arm_for(subject) == experiment.arm_for(
        subject)


def test_the_holdout_arm_is_decided_by_the_never_policy() -> None:
    assert Assignment("nbc", HOLDOUT_ARM).policy == "never"
    assert Assignment("nbc", "capacity_only").policy == "capacity_only"


@pytest.mark.parametrize("raw", [{"arms": {"greedy": 1}}, {"holdout_share": 1.5}])
def test_bad_experiment_config_is_refused(raw: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        Experiment.from_config(raw)
