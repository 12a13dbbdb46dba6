"""Attribution models: heuristic rules and data-driven Markov chain removal effects.

Pure functions over customer paths: no database, no web framework. A path is the ordered
list of touches (channel, time) of one customer up to a conversion or a drop-out. Credit is
returned per channel as floats; callers turn revenue credit back into money (Decimal, cents).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from kanaal.core.errors import InvalidInput

START = "(start)"
CONVERSION = "(conversion)"
NULL = "(null)"

HEURISTIC_MODELS = ("first_touch", "last_touch", "linear", "position_based", "time_decay")
MODELS = (*HEURISTIC_MODELS, "markov")


@dataclass(frozen=True, slots=True)
class Touch:
    """One contact of a customer with a channel."""

    channel: str
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Path:
    """The touches of one customer, whether they converted, and the value of the conversion."""

    touches: tuple[Touch, ...]
    converted: bool
    value: float = 1.0
    converted_at: datetime | None = None
    count: int = 1  # identical paths may be given once with a count

    @staticmethod
    def of(
        channels: Iterable[str], *, converted: bool, value: float = 1.0, count: int = 1
    ) -> Path:
        """A path from channel names only (no timestamps)."""
        return Path(tuple(Touch(c) for c in channels), converted, value, None, count)


@dataclass(frozen=True, slots=True)
class MarkovResult:
    """Markov attribution: conversion probability, removal effects and credit per channel."""

    conversion_probability: float
    removal_effects: dict[str, float]
    shares: dict[str, float]
    credit: dict[str, float] = field(default_factory=dict)


def _validate(paths: Sequence[Path]) -> None:
    for index, path in enumerate(paths):
        if not path.touches:
            raise InvalidInput(f"path {index} has no touches", code="empty_path")
        if path.count < 1:
            raise InvalidInput(f"path {index} has count < 1", code="invalid_path")
        if not math.isfinite(path.value) or path.value < 0:
            raise InvalidInput(f"path {index} has an invalid value", code="invalid_path")


def _weight(path: Path, on: str) -> float:
    """What one conversion of `path` is worth: 1 (conversions) or its value (revenue)."""
    if on == "conversions":
        return float(path.count)
    if on == "revenue":
        return path.value * path.count
    raise InvalidInput(f"unknown attribution basis {on!r}", code="unknown_basis")


def _distribute(
    paths: Sequence[Path], on: str, split: Callable[[Path], list[float]]
) -> dict[str, float]:
    credit: dict[str, float] = defaultdict(float)
    for path in paths:
        if not path.converted:
            continue
        total = _weight(path, on)
        for touch, share in zip(path.touches, split(path), strict=True):
            credit[touch.channel] += total * share
    return dict(credit)


def first_touch(paths: Sequence[Path], *, on: str = "conversions") -> dict[str, float]:
    """All credit to the first touch of each converting path."""
    _validate(paths)
    return _distribute(paths, on, lambda p: [1.0] + [0.0] * (len(p.touches) - 1))


def last_touch(paths: Sequence[Path], *, on: str = "conversions") -> dict[str, float]:
    """All credit to the last touch of each converting path."""
    _validate(paths)
    return _distribute(paths, on, lambda p: [0.0] * (len(p.touches) - 1) + [1.0])


def linear(paths: Sequence[Path], *, on: str = "conversions") -> dict[str, float]:
    """Equal credit to every touch of each converting path."""
    _validate(paths)
    return _distribute(paths, on, lambda p: [1.0 / len(p.touches)] * len(p.touches))


def position_shares(length: int, first: float = 0.4, last: float = 0.4) -> list[float]:
    """Position-based (U-shaped) split: 40% first, 40% last, 20% over the middle touches."""
    if length == 1:
        return [1.0]
    if length == 2:
        return [0.5, 0.5]
    middle = (1.0 - first - last) / (length - 2)
    return [first] + [middle] * (length - 2) + [last]


def position_based(
    paths: Sequence[Path], *, on: str = "conversions", first: float = 0.4, last: float = 0.4
) -> dict[str, float]:
    """U-shaped credit: `first` to the first touch, `last` to the last, the rest spread."""
    _validate(paths)
    if first < 0 or last < 0 or first + last > 1:
        raise InvalidInput("position weights must be >= 0 and sum to at most 1",
                           code="invalid_position_weights")
    return _distribute(paths, on, lambda p: position_shares(len(p.touches), first, last))


def time_decay_shares(path: Path, half_life_hours: float) -> list[float]:
    """Weights 2^(-age/half-life) of each touch at conversion time, normalised to 1."""
    end = path.converted_at or path.touches[-1].at
    if end is None or any(t.at is None for t in path.touches):
        raise InvalidInput("time decay needs a timestamp on every touch", code="missing_time")
    ages = [max(0.0, (end - t.at).total_seconds() / 3600.0) for t in path.touches if t.at]
    weights = [2.0 ** (-age / half_life_hours) for age in ages]
    total = sum(weights)
    return [w / total for w in weights]


def time_decay(
    paths: Sequence[Path], *, on: str = "conversions", half_life_hours: float = 168.0
) -> dict[str, float]:
    """Touches closer to the conversion get more credit; weight halves every half-life."""
    _validate(paths)
    if not (half_life_hours > 0 and math.isfinite(half_life_hours)):
        raise InvalidInput("half_life_hours must be positive", code="invalid_half_life")
    return _distribute(paths, on, lambda p: time_decay_shares(p, half_life_hours))


def transition_counts(paths: Sequence[Path]) -> dict[tuple[str, str], float]:
    """Observed transitions start > touches > conversion|null, weighted by path counts."""
    counts: dict[tuple[str, str], float] = defaultdict(float)
    for path in paths:
        states = [START, *(t.channel for t in path.touches), CONVERSION if path.converted else NULL]
        for here, there in zip(states, states[1:], strict=False):
            counts[(here, there)] += path.count
    return dict(counts)


def conversion_probability(
    counts: dict[tuple[str, str], float], removed: str | None = None
) -> float:
    """P(reach conversion from start) in the absorbing chain, optionally with a channel removed.

    A removed channel becomes part of the null state: every transition into it is lost.
    Absorption probabilities come from the fundamental matrix, B = (I - Q)^-1 R, solved
    with numpy.linalg.solve rather than by inverting.
    """
    transient = sorted(
        {s for pair in counts for s in pair if s not in (CONVERSION, NULL) and s != removed}
    )
    if START not in transient:
        return 0.0
    index = {state: i for i, state in enumerate(transient)}
    size = len(transient)
    q = np.zeros((size, size))
    r = np.zeros(size)  # probability of stepping straight into conversion
    totals: dict[str, float] = defaultdict(float)
    for (here, _there), n in counts.items():
        totals[here] += n
    for (here, there), n in counts.items():
        if here == removed or here not in index:
            continue
        p = n / totals[here]
        if there == CONVERSION:
            r[index[here]] += p
        elif there in index:
            q[index[here], index[there]] += p
        # transitions to NULL or to the removed channel are absorbed without conversion
    absorbed = np.linalg.solve(np.eye(size) - q, r)
    return float(absorbed[index[START]])


def markov_from_counts(counts: dict[tuple[str, str], float], total: float) -> MarkovResult:
    """Removal effects and credit from transition counts; `total` is what gets shared out.

    removal effect(c) = 1 - P(conversion without c) / P(conversion); the shares are the
    removal effects divided by their sum, and the credit is the share times `total`
    (the conversions or the revenue observed).
    """
    base = conversion_probability(counts)
    channels = sorted({s for pair in counts for s in pair} - {START, CONVERSION, NULL})
    if base <= 0.0:
        zero = dict.fromkeys(channels, 0.0)
        return MarkovResult(0.0, zero, dict(zero), dict(zero))
    effects = {c: 1.0 - conversion_probability(counts, removed=c) / base for c in channels}
    total_effect = sum(effects.values())
    shares = {c: effects[c] / total_effect for c in channels}
    return MarkovResult(base, effects, shares, {c: shares[c] * total for c in channels})


def markov(paths: Sequence[Path], *, on: str = "conversions") -> MarkovResult:
    """Data-driven attribution over paths: the absorbing chain of their transitions."""
    _validate(paths)
    total = sum(_weight(p, on) for p in paths if p.converted)
    return markov_from_counts(transition_counts(paths), total)


def attribute(
    paths: Sequence[Path], model: str, *, on: str = "conversions", half_life_hours: float = 168.0
) -> dict[str, float]:
    """Credit per channel under one named model (see MODELS)."""
    if model == "first_touch":
        return first_touch(paths, on=on)
    if model == "last_touch":
        return last_touch(paths, on=on)
    if model == "linear":
        return linear(paths, on=on)
    if model == "position_based":
        return position_based(paths, on=on)
    if model == "time_decay":
        return time_decay(paths, on=on, half_life_hours=half_life_hours)
    if model == "markov":
        return markov(paths, on=on).credit
    raise InvalidInput(f"unknown attribution model {model!r}", code="unknown_model",
                       details=[{"loc": ["model"], "allowed": list(MODELS)}])
