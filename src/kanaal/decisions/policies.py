"""Pluggable policies: rank scored candidates. `kanaal` weighs value, incrementality and
capacity; the baselines each ignore part of that, to measure what the engine adds. Pure."""

from __future__ import annotations

from collections.abc import Callable

from kanaal.decisions.domain import ActionType, Estimate

Policy = Callable[[list[Estimate], float], list[Estimate]]


def _assisted(estimates: list[Estimate]) -> list[Estimate]:
    return [e for e in estimates if e.action is not ActionType.NONE]


def kanaal(estimates: list[Estimate], _margin: float) -> list[Estimate]:
    """Feasible actions with a positive incremental margin, best first."""
    paying = [e for e in _assisted(estimates) if e.feasible and e.incremental_margin > 0.0]
    return sorted(paying, key=lambda e: e.incremental_margin, reverse=True)


def never(_estimates: list[Estimate], _margin: float) -> list[Estimate]:
    """Always nothing (the holdout and the 'do nothing' baseline)."""
    return []


def always(estimates: list[Estimate], _margin: float) -> list[Estimate]:
    """Always the action most likely to end in a purchase, whatever it costs or the queue."""
    return sorted(_assisted(estimates), key=lambda e: e.p_buy_action, reverse=True)


def capacity_only(estimates: list[Estimate], _margin: float) -> list[Estimate]:
    """Offer whenever the queue has room, ignoring value and incrementality (Genesys-like)."""
    room = [e for e in _assisted(estimates) if e.feasible]
    return sorted(room, key=lambda e: e.p_buy_action, reverse=True)


def propensity_only(estimates: list[Estimate], margin: float) -> list[Estimate]:
    """Propensity x value, ignoring capacity and incrementality (Pega-like arbitration)."""

    def value(e: Estimate) -> float:
        return e.p_buy_action * margin + e.upsell

    best_nothing = max((value(e) for e in estimates if e.action is ActionType.NONE), default=0.0)
    better = [e for e in _assisted(estimates) if value(e) > best_nothing]
    return sorted(better, key=value, reverse=True)


POLICIES: dict[str, Policy] = {
    "kanaal": kanaal,
    "never": never,
    "always": always,
    "capacity_only": capacity_only,
    "propensity_only": propensity_only,
}
# Policies that respect the pacing budget of a queue (the others ignore capacity by design).
PACED = frozenset({"kanaal", "capacity_only"})
