"""Experiment statistics, following GrowthBook's stats engine (gbstats).

Frequentist: Welch's t-test on the relative (or absolute) effect, the relative effect's
variance by the delta method, Welch-Satterthwaite degrees of freedom. Bayesian: the
effect's posterior is normal (flat prior, or a proper Gaussian prior on the effect) with the
same delta-method variance; chance to win and risk follow from it in closed form.
Sample-ratio mismatch: Pearson's chi-square test of the observed units against the weights.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats

from kanaal.core.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class ArmStatistic:
    """Per-arm sufficient statistics of one metric: units, sum and sum of squares."""

    n: int
    total: float
    sum_squares: float
    binomial: bool = False  # a 0/1 metric: variance p(1-p), as GrowthBook's proportions

    @property
    def mean(self) -> float:
        """Mean per unit."""
        return self.total / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        """Per-unit variance: p(1-p) for proportions, the sample variance (n-1) otherwise."""
        if self.n == 0:
            return 0.0
        if self.binomial:
            return self.mean * (1.0 - self.mean)
        if self.n < 2:
            return 0.0
        return max(0.0, (self.sum_squares - self.total**2 / self.n) / (self.n - 1))

    @staticmethod
    def proportion(conversions: int, n: int) -> ArmStatistic:
        """A conversion-rate statistic."""
        return ArmStatistic(n, float(conversions), float(conversions), binomial=True)


@dataclass(frozen=True, slots=True)
class FrequentistResult:
    """Welch t-test on the effect of the treatment against control."""

    effect: float
    stddev: float
    ci_low: float
    ci_high: float
    p_value: float
    degrees_of_freedom: float
    relative: bool


@dataclass(frozen=True, slots=True)
class BayesianResult:
    """Normal posterior of the effect; risk = [expected loss of control, of treatment]."""

    effect: float
    stddev: float
    ci_low: float
    ci_high: float
    chance_to_win: float
    risk_control: float
    risk_treatment: float
    relative: bool


@dataclass(frozen=True, slots=True)
class SampleRatioResult:
    """Chi-square goodness of fit of the units per arm against the configured weights."""

    observed: tuple[int, ...]
    expected: tuple[float, ...]
    chi_square: float
    p_value: float
    mismatch: bool


def effect_moments(
    control: ArmStatistic, treatment: ArmStatistic, *, relative: bool = True
) -> tuple[float, float]:
    """Effect and its variance: absolute difference, or relative lift by the delta method."""
    _check(control, treatment, relative)
    mc, mt = control.mean, treatment.mean
    vc, vt = control.variance / control.n, treatment.variance / treatment.n
    if not relative:
        return mt - mc, vc + vt
    effect = mt / mc - 1.0
    variance = vt / mc**2 + vc * mt**2 / mc**4
    return effect, variance


def _check(control: ArmStatistic, treatment: ArmStatistic, relative: bool) -> None:
    if control.n < 2 or treatment.n < 2:
        raise InvalidInput("each arm needs at least 2 units", code="not_enough_units")
    if relative and control.mean == 0:
        raise InvalidInput("the control mean is zero: no relative effect",
                           code="zero_baseline")
    if control.variance <= 0 and treatment.variance <= 0:
        raise InvalidInput("both arms have zero variance", code="zero_variance")


def welch_degrees_of_freedom(control: ArmStatistic, treatment: ArmStatistic) -> float:
    """Welch-Satterthwaite degrees of freedom."""
    vc, vt = control.variance / control.n, treatment.variance / treatment.n
    return (vc + vt) ** 2 / (vc**2 / (control.n - 1) + vt**2 / (treatment.n - 1))


def frequentist(
    control: ArmStatistic, treatment: ArmStatistic, *, relative: bool = True,
    alpha: float = 0.05,
) -> FrequentistResult:
    """Two-sided Welch t-test; the interval is effect ± t(1-alpha/2, df) * stddev."""
    effect, variance = effect_moments(control, treatment, relative=relative)
    stddev = math.sqrt(variance)
    df = welch_degrees_of_freedom(control, treatment)
    width = float(stats.t.ppf(1.0 - alpha / 2.0, df)) * stddev
    p_value = float(2.0 * stats.t.sf(abs(effect) / stddev, df))
    return FrequentistResult(effect, stddev, effect - width, effect + width, p_value, df,
                             relative)


def _normal_risk(mean: float, stddev: float) -> tuple[float, float]:
    """E[max(X, 0)] and E[max(-X, 0)] for X ~ N(mean, stddev²), in closed form."""
    z = mean / stddev
    density = float(stats.norm.pdf(z))
    gain = mean * float(stats.norm.cdf(z)) + stddev * density
    loss = -mean * float(stats.norm.cdf(-z)) + stddev * density
    return gain, loss


def bayesian(
    control: ArmStatistic, treatment: ArmStatistic, *, relative: bool = True,
    alpha: float = 0.05, prior_mean: float = 0.0, prior_variance: float | None = None,
    inverse: bool = False,
) -> BayesianResult:
    """Posterior of the effect: flat prior by default, or a proper Gaussian prior.

    chance to win = P(effect > 0) (P(effect < 0) for metrics where lower is better);
    risk of choosing control = E[max(effect, 0)], of treatment = E[max(-effect, 0)]
    (swapped when lower is better), as GrowthBook reports them.
    """
    data_mean, data_variance = effect_moments(control, treatment, relative=relative)
    if prior_variance is None:
        mean, variance = data_mean, data_variance
    else:
        if prior_variance <= 0:
            raise InvalidInput("prior variance must be positive", code="invalid_prior")
        precision = 1.0 / data_variance + 1.0 / prior_variance
        mean = (data_mean / data_variance + prior_mean / prior_variance) / precision
        variance = 1.0 / precision
    stddev = math.sqrt(variance)
    up = float(stats.norm.sf(0.0, mean, stddev))
    gain, loss = _normal_risk(mean, stddev)
    low, high = (float(x) for x in stats.norm.ppf([alpha / 2, 1 - alpha / 2], mean, stddev))
    if inverse:
        return BayesianResult(mean, stddev, low, high, 1.0 - up, loss, gain, relative)
    return BayesianResult(mean, stddev, low, high, up, gain, loss, relative)


def sample_ratio_mismatch(
    observed: Sequence[int], weights: Sequence[float], *, threshold: float = 0.001
) -> SampleRatioResult:
    """Pearson chi-square test of units per arm against weights; mismatch when p < threshold."""
    if len(observed) != len(weights) or len(observed) < 2:
        raise InvalidInput("need one count and one weight per arm, at least 2 arms",
                           code="invalid_srm_input")
    total = sum(observed)
    weight_sum = sum(weights)
    expected = tuple(total * w / weight_sum for w in weights)
    if total == 0:
        return SampleRatioResult(tuple(observed), expected, 0.0, 1.0, False)
    chi = sum((o - e) ** 2 / e for o, e in zip(observed, expected, strict=True) if e > 0)
    p_value = float(stats.chi2.sf(chi, len(observed) - 1))
    return SampleRatioResult(tuple(observed), expected, chi, p_value, p_value < threshold)
