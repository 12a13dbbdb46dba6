"""Request and response models of the analytics API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from kanaal.analytics.domain import Experiment


class ArmIn(BaseModel):
    """An arm and its share of the traffic (weights of all arms sum to 1)."""

    name: str = Field(max_length=64, description="lowercase slug, e.g. control, phone_first")
    weight: Decimal = Field(description="share of traffic, > 0 and < 1")


class ExperimentIn(BaseModel):
    """A new experiment; the first arm is the control."""

    name: str = Field(max_length=200)
    target_kind: str = Field(description="decision_policy, widget, offer or trigger")
    target_name: str = Field(max_length=200)
    arms: list[ArmIn] = Field(max_length=50)
    metrics: list[str] = Field(
        max_length=10, description="conversion, revenue_per_visitor, margin_per_visitor, "
        "contact_cost; the first is the primary metric")
    guardrails: list[str] = Field(default_factory=list, max_length=10,
                                  description="metrics that must not get worse: service_level")
    hypothesis: str = Field(default="", max_length=2000)


class ArmOut(BaseModel):
    """An arm of a stored experiment."""

    name: str
    weight: Decimal


class ExperimentOut(BaseModel):
    """A stored experiment."""

    id: str
    name: str
    target_kind: str
    target_name: str
    arms: list[ArmOut]
    metrics: list[str]
    guardrails: list[str]
    status: str
    hypothesis: str
    created_at: datetime

    @staticmethod
    def of(experiment: Experiment) -> ExperimentOut:
        """From the domain object."""
        return ExperimentOut(
            id=experiment.id, name=experiment.name, target_kind=experiment.target_kind,
            target_name=experiment.target_name,
            arms=[ArmOut(name=a.name, weight=a.weight) for a in experiment.arms],
            metrics=list(experiment.metrics), guardrails=list(experiment.guardrails),
            status=experiment.status, hypothesis=experiment.hypothesis,
            created_at=experiment.created_at,
        )


class ExperimentList(BaseModel):
    """Experiments, newest first."""

    experiments: list[ExperimentOut]


class AssignmentOut(BaseModel):
    """The arm a customer gets; the same customer always gets the same arm."""

    experiment_id: str
    customer_id: str
    arm: str
    exposed: bool


class ObservationIn(BaseModel):
    """A customer exposed to the experiment, with an optional metric value to merge."""

    customer_id: str = Field(min_length=1, max_length=64)
    metric: str | None = Field(default=None, max_length=40)
    value: Decimal | None = Field(default=None, description="defaults to 1 with a metric")


class ObservationsIn(BaseModel):
    """A batch of observations, recorded all or nothing."""

    observations: list[ObservationIn] = Field(min_length=1, max_length=1000)


class ObservationsOut(BaseModel):
    """The arm of each observation's customer, in order."""

    arms: list[str]


class ResultsOut(BaseModel):
    """Per-metric comparisons with control, the sample-ratio check and guardrails."""

    experiment_id: str
    computed_at: datetime
    arms: list[dict[str, Any]]
    sample_ratio: dict[str, Any]
    metrics: list[dict[str, Any]]
    guardrails: list[dict[str, Any]]


class PathCountOut(BaseModel):
    """A path (channels joined by ' > ') and how many customers followed it."""

    path: str
    customers: int


class SankeyLinkOut(BaseModel):
    """Customers moving from one path step to the next (or to purchase / drop-out)."""

    source: str
    target: str
    customers: int


class JourneysOut(BaseModel):
    """Journeys over the timeline: paths, time and touches to purchase, funnels, Sankey."""

    customers: int
    converted: int
    top_purchase_paths: list[PathCountOut]
    top_dropout_paths: list[PathCountOut]
    mean_hours_to_purchase: float | None
    median_hours_to_purchase: float | None
    mean_touches_to_purchase: float | None
    median_touches_to_purchase: float | None
    funnels: list[dict[str, Any]]
    sankey: list[SankeyLinkOut]


class AttributionOut(BaseModel):
    """Credit per channel per model (conversions, or revenue as decimal money)."""

    on: str
    customers: int
    conversions: int
    models: dict[str, dict[str, Decimal | float]]
    markov: dict[str, Any]


class ChannelFiguresOut(BaseModel):
    """One channel's orders, money and new customers (money as decimal strings)."""

    channel: str
    orders: int
    revenue: Decimal
    margin: Decimal
    contact_cost: Decimal
    net_margin: Decimal
    cost_per_order: Decimal | None
    new_customers: int
    refunded: Decimal = Field(description="refunds booked in the period (already taken off "
                              "revenue and margin)")


class ProfitabilityOut(BaseModel):
    """Channel profitability in one currency, most net margin first."""

    currency: str
    channels: list[ChannelFiguresOut]
    orders_in_other_currencies: int
    lines_without_cost: int


class CannibalizationArmOut(BaseModel):
    """One arm's eligible customers and what they brought (money as decimal strings)."""

    arm: str
    customers: int
    decisions: int
    contacts: int = Field(description="accepted contact-center contacts")
    converted: int
    margin: Decimal
    contact_cost: Decimal
    margin_per_customer: Decimal
    contact_cost_per_customer: Decimal
    net_margin_per_customer: Decimal


class CannibalizationEstimateOut(BaseModel):
    """Treated minus holdout, per customer, with 95% Welch intervals."""

    treated: int
    holdout: int
    confidence: float
    incremental_margin: Decimal
    margin_ci_low: Decimal | None
    margin_ci_high: Decimal | None
    extra_contact_cost: Decimal
    incremental_net_margin: Decimal
    ci_low: Decimal
    ci_high: Decimal
    p_value: float


class CannibalizationOut(BaseModel):
    """Does contact-center assistance pay? Measured against the decision engine's holdout."""

    experiment: str
    treated_arm: str | None = Field(description="null: every arm but the holdout")
    currency: str
    decisions: int
    decisions_in_other_currencies: int
    customers: int = Field(description="customers the engine would send to an agent")
    customers_not_eligible: int
    arms: list[CannibalizationArmOut]
    estimate: CannibalizationEstimateOut | None
    verdict: str = Field(description="pays, does_not_pay, inconclusive or not_enough_data")
    answer: str
