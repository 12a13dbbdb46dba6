"""Experiment rules: definitions, deterministic assignment and metric merging."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from kanaal.analytics.domain import (
    Arm,
    Experiment,
    assign,
    bucket,
    combine,
    validate_definition,
    validate_observation,
)
from kanaal.core.errors import InvalidInput

D = Decimal


def experiment(*weights: str, salt: str = "exp_1") -> Experiment:
    """An experiment with arms a0, a1, ... of the given weights."""
    return Experiment(
        id="exp_1", name="phone button", target_kind="widget", target_name="call-me",
        arms=tuple(Arm(f"a{i}", D(w)) for i, w in enumerate(weights)),
        metrics=("conversion",), guardrails=("service_level",), salt=salt, status="running",
        created_at=datetime(2026, 1, 5, tzinfo=UTC),
    )


def definition(**changes: Any) -> dict[str, Any]:
    """A valid definition, with some fields changed."""
    base: dict[str, Any] = {
        "name": "phone button", "target_kind": "widget", "target_name": "call-me",
        "arms": [("control", D("0.5")), ("treatment", D("0.5"))],
        "metrics": ["conversion", "revenue_per_visitor"], "guardrails": ["service_level"],
    }
    return {**base, **changes}


def refused(**changes: Any) -> InvalidInput:
    """The error a definition with `changes` raises."""
    with pytest.raises(InvalidInput) as caught:
        validate_definition(**definition(**changes))
    return caught.value


def test_a_valid_definition_passes() -> None:
    validate_definition(**definition())
    validate_definition(**definition(arms=[("a", D("0.3333333")), ("b", D("0.3333333")),
                                           ("c", D("0.3333334"))]))


def test_bad_definitions_point_at_the_field() -> None:
    cases = [
        ({"arms": []}, "too_few_arms", ["body", "arms"]),
        ({"arms": [("control", D(1))]}, "too_few_arms", ["body", "arms"]),
        ({"arms": [("a", D("0.5")), ("b", D("0.4"))]}, "weights_not_one", ["body", "arms"]),
        ({"arms": [("a", D("0.5")), ("a", D("0.5"))]}, "duplicate_arm",
         ["body", "arms", 1, "name"]),
        ({"arms": [("a", D("1.5")), ("b", D("-0.5"))]}, "invalid_weight",
         ["body", "arms", 0, "weight"]),
        ({"arms": [("A B", D("0.5")), ("b", D("0.5"))]}, "invalid_arm_name",
         ["body", "arms", 0, "name"]),
        ({"metrics": ["conversion", "happiness"]}, "unknown_metric", ["body", "metrics", 1]),
        ({"metrics": ["service_level"]}, "unknown_metric", ["body", "metrics", 0]),
        ({"metrics": []}, "no_metrics", ["body", "metrics"]),
        ({"guardrails": ["latency"]}, "unknown_metric", ["body", "guardrails", 0]),
        ({"target_kind": "banner"}, "unknown_target_kind", ["body", "target_kind"]),
        ({"name": " "}, "invalid_name", ["body", "name"]),
    ]
    for changes, code, loc in cases:
        error = refused(**changes)
        assert (error.code, error.details[0]["loc"]) == (code, loc), changes


def test_assignment_is_deterministic_and_salted() -> None:
    exp = experiment("0.5", "0.5")
    assert assign(exp, "cus_42") == assign(exp, "cus_42")
    assert bucket("exp_1", "cus_42") == bucket("exp_1", "cus_42")
    assert bucket("exp_1", "cus_42") != bucket("exp_2", "cus_42")
    # sha256("exp_1:cus_42")'s first 8 bytes / 2^64, fixed forever so arms never move.
    digest = hashlib.sha256(b"exp_1:cus_42").hexdigest()
    assert bucket("exp_1", "cus_42") == int(digest[:16], 16) / 2**64


def test_assignment_follows_the_weights() -> None:
    exp = experiment("0.2", "0.3", "0.5")
    counts = Counter(assign(exp, f"cus_{i}").name for i in range(30000))
    observed = [counts["a0"], counts["a1"], counts["a2"]]
    assert stats.chisquare(observed, f_exp=[6000, 9000, 15000]).pvalue > 0.001


@given(st.text(min_size=1, max_size=40), st.integers(min_value=1, max_value=98))
def test_every_customer_gets_one_of_the_arms(customer_id: str, percent: int) -> None:
    exp = experiment(f"0.{percent:02d}", str(1 - D(f"0.{percent:02d}")))
    assert assign(exp, customer_id).name in {"a0", "a1"}
    assert 0.0 <= bucket(exp.salt, customer_id) < 1.0


def test_missing_customer_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        assign(experiment("0.5", "0.5"), "")
    assert caught.value.code == "missing_customer_id"


def test_observations_merge_per_metric() -> None:
    assert combine("conversion", D(1), D(0)) == D(1)
    assert combine("revenue_per_visitor", D("10.50"), D("4.25")) == D("14.75")
    assert combine("service_level", D(1), D(0)) == D(0)


def test_observation_values_are_checked() -> None:
    validate_observation("conversion", D(1), ["conversion"])
    for metric, value, code in [("conversion", D(2), "invalid_value"),
                                ("margin_per_visitor", D(1), "unknown_metric"),
                                ("conversion", D("NaN"), "invalid_value")]:
        with pytest.raises(InvalidInput) as caught:
            validate_observation(metric, value, ["conversion"])
        assert caught.value.code == code
