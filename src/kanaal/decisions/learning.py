"""Models that learn: P(buy | action, context bucket) and P(accept | ...) as Beta posteriors.

Each (action, bucket) cell holds counts on top of a prior built from configuration. Choosing
with a draw from each posterior (Thompson sampling) explores actions the engine is unsure
about, and stops proposing them once their outcomes show they do not pay.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kanaal.decisions.domain import ActionType, DecisionContext

DEFAULT_PRIORS: dict[str, Any] = {
    # Conversion of a visitor on a product page with average intent, doing nothing.
    "online_conversion": 0.025,
    "stage_factor": {"orientation": 0.3, "browse": 0.4, "product": 1.0, "cart": 3.0,
                     "checkout": 16.0, "stuck": 6.0, "follow_up": 4.0, "in_store": 8.0},
    "intent_factor": {"low": 0.5, "mid": 1.0, "high": 2.0},
    # Conversion among prospects who accept the action (at the reference online conversion).
    "assisted": {"show_phone": 0.25, "call_now": 0.25, "callback_offer": 0.22,
                 "chat_invite": 0.10, "offer": 0.06, "store_appointment": 0.35,
                 "hot_prospect_alert": 0.30},
    # Stages where an action persuades more than on average (a personal follow-up after a
    # call, staff walking up to an in-store visitor who compared the product online).
    "stage_assisted": {"follow_up": {"offer": 0.35, "callback_offer": 0.40},
                       "in_store": {"hot_prospect_alert": 0.50}},
    # Share of prospects who accept (call, click, book) when the action is shown.
    "accept": {"show_phone": 0.04, "call_now": 0.08, "callback_offer": 0.10,
               "chat_invite": 0.12, "offer": 0.30, "store_appointment": 0.05,
               "hot_prospect_alert": 0.60},
    # How many observations the prior is worth.
    "strength": 30.0,
}

MAX_P = 0.95
# Thompson draws are taken from the posterior in batches (numpy), one fresh draw per decision.
DRAW_BATCH = 256
HIGH_INTENT_SEGMENTS = frozenset({"vip", "loyal", "high_value"})


def journey_stage(ctx: DecisionContext) -> str:
    """Where the prospect is in the journey, from orientation to checkout."""
    if ctx.follow_up is not None:
        return "follow_up"
    if ctx.store_id is not None and ctx.channel in {"store", "mobile"}:
        return "in_store"
    if ctx.channel == "publisher":
        return "orientation"
    if ctx.checkout_errors > 0:
        return "stuck"
    if ctx.page_type == "checkout":
        return "checkout"
    if ctx.cart_items > 0 or ctx.page_type == "cart":
        return "cart"
    if ctx.page_type == "product" or ctx.product_sku is not None:
        return "product"
    return "browse"


def intent(ctx: DecisionContext) -> str:
    """Coarse purchase intent from engagement: low, mid or high."""
    score = (int(ctx.is_returning) + int(ctx.pageviews >= 5) + int(ctx.seconds_on_site >= 180)
             + int(ctx.prior_contacts > 0) + int(ctx.segment in HIGH_INTENT_SEGMENTS)
             + int(ctx.browsed_product_online))
    return "low" if score <= 0 else "mid" if score <= 2 else "high"


def bucket_of(ctx: DecisionContext) -> str:
    """The context bucket a model cell is kept for: channel group, stage, intent."""
    group = "store" if ctx.channel == "store" else (
        "publisher" if ctx.channel == "publisher" else "online")
    return f"{group}:{journey_stage(ctx)}:{intent(ctx)}"


@dataclass
class Cell:
    """Observed counts for one (action, bucket)."""

    buy_wins: float = 0.0
    buy_trials: float = 0.0
    accept_wins: float = 0.0
    accept_trials: float = 0.0


@dataclass
class Priors:
    """Prior means per (action, bucket), computed from the configured priors."""

    config: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_PRIORS))
    _cache: dict[tuple[ActionType, str], tuple[float, float]] = field(default_factory=dict)

    @property
    def strength(self) -> float:
        """Pseudo-observations the prior is worth."""
        return float(self.config.get("strength", DEFAULT_PRIORS["strength"]))

    def _get(self, name: str, key: str) -> float:
        table = self.config.get(name) or DEFAULT_PRIORS[name]
        return float(table.get(key, DEFAULT_PRIORS[name].get(key, 0.0)))

    def p_nothing(self, bucket: str) -> float:
        """Prior P(buy | nothing) for a bucket."""
        _, stage, level = bucket.split(":")
        base = float(self.config.get("online_conversion", DEFAULT_PRIORS["online_conversion"]))
        return min(MAX_P, base * self._get("stage_factor", stage)
                   * self._get("intent_factor", level))

    def means(self, action: ActionType, bucket: str) -> tuple[float, float]:
        """Prior (P(buy | action), P(accept | action)) for a bucket."""
        cached = self._cache.get((action, bucket))
        if cached is not None:
            return cached
        p0 = self.p_nothing(bucket)
        if action is ActionType.NONE:
            result = (p0, 0.0)
        else:
            reference = float(self.config.get("online_conversion", 0.025))
            stage = bucket.split(":")[1]
            by_stage = (self.config.get("stage_assisted") or {}).get(stage) or {}
            assisted = float(by_stage.get(action.value, self._get("assisted", action.value)))
            persuasion = max(0.0, (assisted - reference) / (1.0 - reference))
            accept = self._get("accept", action.value)
            result = (min(MAX_P, p0 + accept * (1.0 - p0) * persuasion), accept)
        self._cache[(action, bucket)] = result
        return result


def _beta(prior_mean: float, strength: float, wins: float, trials: float) -> tuple[float, float]:
    alpha = prior_mean * strength + wins
    beta = (1.0 - prior_mean) * strength + max(0.0, trials - wins)
    return max(alpha, 1e-6), max(beta, 1e-6)


@dataclass
class BetaModel:
    """Beta-Bernoulli posteriors per (action, bucket) on top of configured priors."""

    priors: Priors = field(default_factory=Priors)
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)
    version: int = 0
    # (alpha, beta of P(buy), mean of P(accept)) per (action, bucket): the hot path reads this.
    _posterior: dict[tuple[str, str], tuple[float, float, float]] = field(
        default_factory=dict, repr=False)
    _draws: dict[tuple[str, str], list[float]] = field(default_factory=dict, repr=False)

    def posterior(self, action: ActionType, bucket: str) -> tuple[float, float, float]:
        """(alpha, beta) of the P(buy) posterior and the posterior mean of P(accept)."""
        key = (action, bucket)
        found = self._posterior.get(key)
        if found is not None:
            return found
        buy_prior, accept_prior = self.priors.means(action, bucket)
        strength = self.priors.strength
        cell = self.cells.get(key)
        if cell is None:
            cell = Cell()
        alpha, beta = _beta(buy_prior, strength, cell.buy_wins, cell.buy_trials)
        if action is ActionType.NONE:
            accept = 0.0
        else:
            a_alpha, a_beta = _beta(accept_prior, strength, cell.accept_wins, cell.accept_trials)
            accept = a_alpha / (a_alpha + a_beta)
        found = (alpha, beta, accept)
        self._posterior[key] = found
        return found

    def p_buy(self, action: ActionType, bucket: str, rng: random.Random | None = None) -> float:
        """Posterior mean of P(buy | action), or a Thompson draw when `rng` is given."""
        if rng is None:
            alpha, beta, _ = self.posterior(action, bucket)
            return alpha / (alpha + beta)
        key = (action, bucket)
        pool = self._draws.get(key)
        if pool:
            try:
                return pool.pop()
            except IndexError:  # another thread took the last draw
                pass
        alpha, beta, _ = self.posterior(action, bucket)
        sampler = np.random.default_rng(rng.getrandbits(64))
        pool = sampler.beta(alpha, beta, DRAW_BATCH).tolist()
        self._draws[key] = pool
        return float(pool.pop())

    def p_accept(self, action: ActionType, bucket: str) -> float:
        """Posterior mean of P(accept | action shown)."""
        return self.posterior(action, bucket)[2]

    def observe(self, action: ActionType, bucket: str, *, shown: int = 0, accepted: int = 0,
                converted: int = 0) -> None:
        """Add counts for one (action, bucket): trials when shown, wins when accepted/bought."""
        key = (action.value, bucket)
        cell = self.cells.setdefault(key, Cell())
        cell.buy_trials += shown
        cell.accept_trials += shown
        cell.accept_wins += accepted
        cell.buy_wins += converted
        self._posterior.pop(key, None)
        self._draws.pop(key, None)
