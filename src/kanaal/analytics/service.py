"""Experiment use cases: define, assign, expose, observe and analyse. Only services commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from kanaal.analytics import store
from kanaal.analytics.domain import (
    METRICS,
    Arm,
    Experiment,
    assign,
    combine,
    validate_definition,
    validate_observation,
)
from kanaal.analytics.experiments_stats import (
    ArmStatistic,
    bayesian,
    frequentist,
    sample_ratio_mismatch,
)
from kanaal.core.context import AppContext
from kanaal.core.errors import Conflict, InvalidInput

MAX_OBSERVATIONS = 1000


@dataclass(frozen=True, slots=True)
class Observation:
    """A customer seen in the experiment, optionally with a metric value to merge."""

    customer_id: str
    metric: str | None = None
    value: Decimal | None = None


def create_experiment(
    ctx: AppContext, *, name: str, target_kind: str, target_name: str,
    arms: Sequence[tuple[str, Decimal]], metrics: Sequence[str], guardrails: Sequence[str] = (),
    hypothesis: str = "", salt: str | None = None,
) -> Experiment:
    """Validate and store an experiment; it starts running at once. Nothing is saved on error."""
    validate_definition(name=name, target_kind=target_kind, target_name=target_name, arms=arms,
                        metrics=metrics, guardrails=guardrails)
    experiment_id = ctx.ids.new("exp")
    experiment = Experiment(
        id=experiment_id, name=name.strip(), target_kind=target_kind,
        target_name=target_name.strip(), arms=tuple(Arm(n, w) for n, w in arms),
        metrics=tuple(metrics), guardrails=tuple(guardrails), salt=salt or experiment_id,
        status="running", created_at=ctx.clock.now(), hypothesis=hypothesis,
    )
    with ctx.db.transaction() as session:
        store.insert_experiment(session, experiment)
    return experiment


def get_experiment(ctx: AppContext, experiment_id: str) -> Experiment:
    """One experiment (NotFound `unknown_experiment`)."""
    with ctx.db.reader() as session:
        return store.get_experiment(session, experiment_id)


def list_experiments(ctx: AppContext, *, target_kind: str | None = None) -> list[Experiment]:
    """Experiments, newest first."""
    with ctx.db.reader() as session:
        return store.list_experiments(session, target_kind=target_kind)


def stop_experiment(ctx: AppContext, experiment_id: str) -> Experiment:
    """Stop an experiment: assignment keeps answering, new exposures are refused."""
    with ctx.db.transaction() as session:
        store.get_experiment(session, experiment_id)
        store.set_status(session, experiment_id, "stopped")
        return store.get_experiment(session, experiment_id)


def assignment(ctx: AppContext, experiment_id: str, customer_id: str) -> tuple[Arm, bool]:
    """The customer's arm (deterministic) and whether they were already exposed."""
    with ctx.db.reader() as session:
        experiment = store.get_experiment(session, experiment_id)
        arm = assign(experiment, customer_id)
        return arm, store.stored_arm(session, experiment_id, customer_id) is not None


def expose_in(session: Session, ctx: AppContext, experiment: Experiment, customer_id: str) -> Arm:
    """Record that the customer saw their arm (once); returns the arm. Never commits."""
    arm = assign(experiment, customer_id)
    if store.stored_arm(session, experiment.id, customer_id) is None:
        if experiment.status != "running":
            raise Conflict(f"experiment {experiment.id} is {experiment.status}",
                           code="experiment_not_running")
        store.insert_exposure(session, experiment.id, customer_id, arm.name, ctx.clock.now())
    return arm


def arm_for_in(session: Session, ctx: AppContext, experiment_id: str, customer_id: str) -> str:
    """For other features (widgets, triggers, the decision engine): the customer's arm name,
    recorded as an exposure in the caller's transaction. Never commits."""
    return expose_in(session, ctx, store.get_experiment(session, experiment_id), customer_id).name


def observe_in(
    session: Session, ctx: AppContext, experiment: Experiment, observation: Observation
) -> Arm:
    """Expose the customer and merge a metric value into theirs. Never commits."""
    arm = expose_in(session, ctx, experiment, observation.customer_id)
    if observation.metric is None:
        return arm
    value = observation.value if observation.value is not None else Decimal(1)
    now = ctx.clock.now()
    if store.insert_value(session, experiment.id, observation.customer_id, observation.metric,
                          value, now):
        return arm
    # The row exists (perhaps just written by a concurrent request): merge under its lock.
    current = store.stored_value(session, experiment.id, observation.customer_id,
                                 observation.metric)
    assert current is not None  # values are never deleted
    store.update_value(session, experiment.id, observation.customer_id, observation.metric,
                       combine(observation.metric, current, value), now)
    return arm


def record_observations(
    ctx: AppContext, experiment_id: str, observations: Sequence[Observation]
) -> list[str]:
    """Record a batch of exposures/observations atomically; returns the arm of each."""
    if not observations or len(observations) > MAX_OBSERVATIONS:
        raise InvalidInput(f"send 1 to {MAX_OBSERVATIONS} observations",
                           code="invalid_batch_size")

    def work(session: Session) -> list[str]:
        experiment = store.get_experiment(session, experiment_id)
        measured = (*experiment.metrics, *experiment.guardrails)
        for index, item in enumerate(observations):
            if not item.customer_id:
                raise InvalidInput(f"observations.{index}: customer_id is required",
                                   code="missing_customer_id")
            if item.metric is not None:
                validate_observation(item.metric, item.value if item.value is not None
                                     else Decimal(1), measured)
        return [observe_in(session, ctx, experiment, item).name for item in observations]

    return ctx.db.run(work)


def _statistics(
    experiment: Experiment, metric: str, exposed: dict[str, int],
    totals: dict[tuple[str, str], tuple[int, float, float]],
) -> dict[str, ArmStatistic]:
    spec = METRICS[metric]
    result = {}
    for arm in experiment.arms:
        observed, total, squares = totals.get((arm.name, metric), (0, 0.0, 0.0))
        n = exposed.get(arm.name, 0) if spec.denominator == "exposures" else observed
        result[arm.name] = ArmStatistic(n, total, squares, binomial=spec.binomial)
    return result


def _compare(
    metric: str, control: ArmStatistic, treatment: ArmStatistic, alpha: float
) -> dict[str, Any]:
    spec = METRICS[metric]
    try:
        freq = frequentist(control, treatment, alpha=alpha)
        bayes = bayesian(control, treatment, alpha=alpha, inverse=not spec.higher_is_better)
    except InvalidInput as exc:
        return {"status": "not_enough_data", "reason": exc.code}
    return {
        "status": "ok",
        "relative_effect": freq.effect,
        "frequentist": {"p_value": freq.p_value, "ci_low": freq.ci_low, "ci_high": freq.ci_high,
                        "degrees_of_freedom": freq.degrees_of_freedom},
        "bayesian": {"chance_to_win": bayes.chance_to_win, "risk_control": bayes.risk_control,
                     "risk_treatment": bayes.risk_treatment, "ci_low": bayes.ci_low,
                     "ci_high": bayes.ci_high},
    }


def _metric_report(
    experiment: Experiment, metric: str, stats: dict[str, ArmStatistic], alpha: float,
    guardrail: bool,
) -> dict[str, Any]:
    control = stats[experiment.control.name]
    comparisons = []
    for arm in experiment.arms[1:]:
        comparison = {"arm": arm.name, **_compare(metric, control, stats[arm.name], alpha)}
        if guardrail:
            worse = comparison.get("bayesian", {}).get("chance_to_win")
            comparison["guardrail"] = (
                "not_enough_data" if worse is None else "failing" if worse < alpha else "ok")
        comparisons.append(comparison)
    return {
        "metric": metric, "higher_is_better": METRICS[metric].higher_is_better,
        "arms": [{"arm": name, "units": s.n, "mean": s.mean, "total": s.total}
                 for name, s in stats.items()],
        "comparisons": comparisons,
    }


def results(ctx: AppContext, experiment_id: str, *, alpha: float = 0.05) -> dict[str, Any]:
    """Frequentist and Bayesian comparison of each arm with control, SRM and guardrails."""
    with ctx.db.reader() as session:
        experiment = store.get_experiment(session, experiment_id)
        exposed = store.exposures_per_arm(session, experiment_id)
        measured = (*experiment.metrics, *experiment.guardrails)
        totals = store.metric_totals(session, experiment_id, measured)
    srm = sample_ratio_mismatch([exposed.get(a.name, 0) for a in experiment.arms],
                                [float(a.weight) for a in experiment.arms])
    report = {
        "experiment_id": experiment.id,
        "computed_at": ctx.clock.now(),
        "arms": [{"name": a.name, "weight": a.weight, "exposures": exposed.get(a.name, 0)}
                 for a in experiment.arms],
        "sample_ratio": {"observed": list(srm.observed), "expected": list(srm.expected),
                         "chi_square": srm.chi_square, "p_value": srm.p_value,
                         "mismatch": srm.mismatch},
        "metrics": [
            _metric_report(experiment, m, _statistics(experiment, m, exposed, totals), alpha,
                           guardrail=False) for m in experiment.metrics],
        "guardrails": [
            _metric_report(experiment, m, _statistics(experiment, m, exposed, totals), alpha,
                           guardrail=True) for m in experiment.guardrails],
    }
    return report
