"""Experiment statistics against GrowthBook's published vectors and scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from kanaal.analytics.experiments_stats import (
    ArmStatistic,
    bayesian,
    effect_moments,
    frequentist,
    sample_ratio_mismatch,
)
from kanaal.core.errors import InvalidInput

CONTROL = ArmStatistic.proportion(100, 1000)
TREATMENT = ArmStatistic.proportion(120, 1000)


def test_frequentist_relative_effect_matches_growthbook() -> None:
    result = frequentist(CONTROL, TREATMENT)
    assert result.effect == pytest.approx(0.2, abs=1e-12)
    assert result.p_value == pytest.approx(0.1923502, abs=1e-7)
    assert result.ci_low == pytest.approx(-0.1007680, abs=1e-7)
    assert result.ci_high == pytest.approx(0.5007680, abs=1e-7)


def test_bayesian_flat_prior_chance_to_win_matches_growthbook() -> None:
    result = bayesian(CONTROL, TREATMENT)
    assert result.chance_to_win == pytest.approx(0.9039005, abs=1e-6)
    # risk: E[max(effect, 0)] for keeping control, E[max(-effect, 0)] for shipping treatment
    sd = math.sqrt(0.02352)
    z = 0.2 / sd
    expected_treatment = -0.2 * stats.norm.cdf(-z) + sd * stats.norm.pdf(z)
    assert result.risk_treatment == pytest.approx(expected_treatment, abs=1e-12)
    assert result.risk_control - result.risk_treatment == pytest.approx(0.2, abs=1e-12)


def test_risk_equals_the_numerical_expected_loss() -> None:
    result = bayesian(CONTROL, TREATMENT)
    grid = np.linspace(result.effect - 12 * result.stddev, result.effect + 12 * result.stddev,
                       200001)
    density = stats.norm.pdf(grid, result.effect, result.stddev)
    assert np.trapezoid(np.maximum(-grid, 0) * density, grid) == pytest.approx(
        result.risk_treatment, abs=1e-9)


def test_lower_is_better_metrics_flip_chance_and_risk() -> None:
    normal = bayesian(CONTROL, TREATMENT)
    inverse = bayesian(CONTROL, TREATMENT, inverse=True)
    assert inverse.chance_to_win == pytest.approx(1 - normal.chance_to_win, abs=1e-12)
    assert (inverse.risk_control, inverse.risk_treatment) == (
        normal.risk_treatment, normal.risk_control)


def test_a_proper_prior_shrinks_the_effect_towards_the_prior_mean() -> None:
    shrunk = bayesian(CONTROL, TREATMENT, prior_variance=0.02352)
    assert shrunk.effect == pytest.approx(0.1, abs=1e-12)
    assert shrunk.stddev == pytest.approx(math.sqrt(0.02352 / 2), abs=1e-12)


def test_sample_ratio_mismatch_matches_growthbook() -> None:
    result = sample_ratio_mismatch([4900, 5100], [0.5, 0.5])
    assert result.chi_square == pytest.approx(4.0, abs=1e-12)
    assert result.p_value == pytest.approx(0.0455003, abs=1e-7)
    assert result.mismatch is False  # GrowthBook flags below 0.001
    assert sample_ratio_mismatch([4700, 5300], [0.5, 0.5]).mismatch is True


def test_welch_agrees_with_scipy_on_random_cases() -> None:
    rng = np.random.default_rng(20260105)
    for _ in range(200):
        n_a, n_b = rng.integers(20, 5000, size=2)
        a = rng.gamma(2.0, rng.uniform(1, 50), size=n_a)
        b = rng.gamma(2.0, rng.uniform(1, 50), size=n_b)
        stat_a = ArmStatistic(int(n_a), float(a.sum()), float((a * a).sum()))
        stat_b = ArmStatistic(int(n_b), float(b.sum()), float((b * b).sum()))
        ours = frequentist(stat_a, stat_b, relative=False)
        reference = stats.ttest_ind_from_stats(
            b.mean(), b.std(ddof=1), n_b, a.mean(), a.std(ddof=1), n_a, equal_var=False)
        assert ours.p_value == pytest.approx(reference.pvalue, rel=1e-6, abs=1e-12)
        assert ours.effect / ours.stddev == pytest.approx(reference.statistic, rel=1e-9)


def test_sample_ratio_agrees_with_scipy_on_random_cases() -> None:
    rng = np.random.default_rng(11)
    for _ in range(200):
        arms = int(rng.integers(2, 6))
        weights = rng.dirichlet(np.ones(arms))
        counts = rng.multinomial(int(rng.integers(100, 100000)), weights)
        ours = sample_ratio_mismatch(counts.tolist(), weights.tolist())
        reference = stats.chisquare(counts, f_exp=weights * counts.sum())
        assert ours.p_value == pytest.approx(reference.pvalue, rel=1e-9, abs=1e-15)


def test_delta_method_variance_matches_a_simulation() -> None:
    effect, variance = effect_moments(CONTROL, TREATMENT)
    rng = np.random.default_rng(3)
    c = rng.binomial(1000, 0.1, size=200000) / 1000
    t = rng.binomial(1000, 0.12, size=200000) / 1000
    lifts = t / c - 1
    assert effect == pytest.approx(0.2, abs=1e-12)
    assert lifts.var() == pytest.approx(variance, rel=0.05)


def test_degenerate_arms_are_refused_with_a_code() -> None:
    with pytest.raises(InvalidInput) as zero:
        frequentist(ArmStatistic.proportion(0, 100), TREATMENT)
    assert zero.value.code == "zero_baseline"
    with pytest.raises(InvalidInput) as small:
        frequentist(ArmStatistic.proportion(1, 1), TREATMENT)
    assert small.value.code == "not_enough_units"
    with pytest.raises(InvalidInput) as flat:
        frequentist(ArmStatistic(10, 50, 250), ArmStatistic(10, 60, 360))
    assert flat.value.code == "zero_variance"
