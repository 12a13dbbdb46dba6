"""Experiments: definitions, their rules, metrics and deterministic assignment (pure)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from kanaal.core.errors import InvalidInput

TARGET_KINDS = ("decision_policy", "widget", "offer", "trigger")
STATUSES = ("running", "stopped")
WEIGHT_TOLERANCE = Decimal("0.000001")
MAX_ARMS = 20
_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-.]{0,63}$")


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """How a metric is measured per customer and compared between arms.

    combine: how several observations of one customer merge (max: converted at least once;
    sum: money over the experiment; min: every contact answered within target).
    denominator: "exposures" (every assigned customer, missing values count as 0) or
    "observed" (only customers with an observation, e.g. those who contacted us).
    """

    name: str
    binomial: bool
    combine: str
    denominator: str
    higher_is_better: bool
    guardrail_only: bool = False
    description: str = ""


METRICS: dict[str, MetricSpec] = {
    m.name: m
    for m in (
        MetricSpec("conversion", True, "max", "exposures", True,
                   description="share of assigned customers who placed an order"),
        MetricSpec("revenue_per_visitor", False, "sum", "exposures", True,
                   description="revenue per assigned customer"),
        MetricSpec("margin_per_visitor", False, "sum", "exposures", True,
                   description="margin (revenue - cost of goods) per assigned customer"),
        MetricSpec("contact_cost", False, "sum", "exposures", False,
                   description="contact-center cost per assigned customer (lower is better)"),
        MetricSpec("service_level", True, "min", "observed", True, guardrail_only=True,
                   description="share of contacting customers answered within target"),
    )
}
GOAL_METRICS = tuple(n for n, m in METRICS.items() if not m.guardrail_only)
GUARDRAIL_METRICS = tuple(METRICS)


@dataclass(frozen=True, slots=True)
class Arm:
    """One variant of the experiment and its share of the traffic."""

    name: str
    weight: Decimal


@dataclass(frozen=True, slots=True)
class Experiment:
    """A test on a decision policy, widget, offer or trigger; arms[0] is the control."""

    id: str
    name: str
    target_kind: str
    target_name: str
    arms: tuple[Arm, ...]
    metrics: tuple[str, ...]
    guardrails: tuple[str, ...]
    salt: str
    status: str
    created_at: datetime
    hypothesis: str = ""

    @property
    def control(self) -> Arm:
        """The first arm is the baseline every other arm is compared with."""
        return self.arms[0]

    def arm(self, name: str) -> Arm:
        """The arm called `name`."""
        for arm in self.arms:
            if arm.name == name:
                return arm
        raise InvalidInput(f"experiment has no arm {name!r}", code="unknown_arm",
                           details=[{"loc": ["arm"], "allowed": [a.name for a in self.arms]}])


def _problem(loc: list[Any], message: str, code: str) -> InvalidInput:
    return InvalidInput(f"{'.'.join(str(p) for p in loc)}: {message}", code=code,
                        details=[{"loc": loc, "message": message}])


def validate_definition(
    *, name: str, target_kind: str, target_name: str, arms: Sequence[tuple[str, Decimal]],
    metrics: Sequence[str], guardrails: Sequence[str],
) -> None:
    """Raise InvalidInput (pointing at the field) when the definition breaks a rule."""
    if not name.strip() or len(name) > 200:
        raise _problem(["body", "name"], "must be 1 to 200 characters", "invalid_name")
    if target_kind not in TARGET_KINDS:
        raise _problem(["body", "target_kind"], f"must be one of {', '.join(TARGET_KINDS)}",
                       "unknown_target_kind")
    if not target_name.strip() or len(target_name) > 200:
        raise _problem(["body", "target_name"], "must be 1 to 200 characters",
                       "invalid_target_name")
    if len(arms) < 2:
        raise _problem(["body", "arms"], "an experiment needs at least 2 arms", "too_few_arms")
    if len(arms) > MAX_ARMS:
        raise _problem(["body", "arms"], f"at most {MAX_ARMS} arms", "too_many_arms")
    seen: set[str] = set()
    for index, (arm_name, weight) in enumerate(arms):
        if not _NAME.match(arm_name):
            raise _problem(["body", "arms", index, "name"],
                           "lowercase letters, digits, _ - . (at most 64)", "invalid_arm_name")
        if arm_name in seen:
            raise _problem(["body", "arms", index, "name"], f"duplicate arm {arm_name!r}",
                           "duplicate_arm")
        seen.add(arm_name)
        if not weight.is_finite() or weight <= 0 or weight >= 1:
            raise _problem(["body", "arms", index, "weight"], "must be > 0 and < 1",
                           "invalid_weight")
    total = sum((w for _, w in arms), Decimal(0))
    if abs(total - 1) > WEIGHT_TOLERANCE:
        raise _problem(["body", "arms"], f"weights sum to {total}, not 1", "weights_not_one")
    _validate_metrics(metrics, guardrails)


def _validate_metrics(metrics: Sequence[str], guardrails: Sequence[str]) -> None:
    if not metrics:
        raise _problem(["body", "metrics"], "at least one metric", "no_metrics")
    for field, names, allowed in (("metrics", metrics, GOAL_METRICS),
                                  ("guardrails", guardrails, GUARDRAIL_METRICS)):
        for index, metric in enumerate(names):
            if metric not in allowed:
                raise InvalidInput(
                    f"{field}.{index}: unknown metric {metric!r}", code="unknown_metric",
                    details=[{"loc": ["body", field, index], "message": "unknown metric",
                              "allowed": list(allowed)}])
        if len(set(names)) != len(names):
            raise _problem(["body", field], "a metric is listed twice", "duplicate_metric")


def bucket(salt: str, customer_id: str) -> float:
    """A uniform number in [0, 1) from sha256(salt:customer_id): same input, same number."""
    digest = hashlib.sha256(f"{salt}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def assign(experiment: Experiment, customer_id: str) -> Arm:
    """The arm of `customer_id`: its bucket falls in that arm's slice of the weights."""
    if not customer_id:
        raise InvalidInput("customer_id is required", code="missing_customer_id")
    point = Decimal(repr(bucket(experiment.salt, customer_id)))
    edge = Decimal(0)
    for arm in experiment.arms:
        edge += arm.weight
        if point < edge:
            return arm
    return experiment.arms[-1]  # weights within tolerance of 1 may end just below 1


def combine(metric: str, old: Decimal, new: Decimal) -> Decimal:
    """Merge a customer's new observation of `metric` into what was stored."""
    how = METRICS[metric].combine
    if how == "sum":
        return old + new
    if how == "max":
        return max(old, new)
    return min(old, new)


def validate_observation(metric: str, value: Decimal, allowed: Sequence[str]) -> None:
    """An observation must be for a metric of the experiment, binary metrics only 0 or 1."""
    if metric not in allowed:
        raise InvalidInput(f"metric {metric!r} is not measured by this experiment",
                           code="unknown_metric",
                           details=[{"loc": ["metric"], "allowed": list(allowed)}])
    if not value.is_finite():
        raise InvalidInput("value must be finite", code="invalid_value")
    if METRICS[metric].binomial and value not in (0, 1):
        raise InvalidInput(f"{metric} takes 0 or 1", code="invalid_value")
    if abs(value) >= Decimal("1e12"):
        raise InvalidInput("value is out of range", code="invalid_value")
