"""The pure decision: candidates, scores, policy, pacing and reasons. No I/O."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from kanaal.decisions import explain
from kanaal.decisions.capacity_price import PriceParams, capacity_price, choose_queue
from kanaal.decisions.domain import (
    DEFAULT_ACTIONS,
    QUEUE_CHANNEL,
    ActionType,
    Choice,
    DecisionContext,
    Estimate,
    QueueView,
)
from kanaal.decisions.economics import EconomicParams, estimate
from kanaal.decisions.learning import BetaModel, bucket_of
from kanaal.decisions.policies import PACED, POLICIES

# Pace(queue view, expected accepted contacts) -> True when the queue's budget allows it.
Pace = Callable[[QueueView, float], bool]
_A = ActionType
FOLLOW_UP_ACTIONS = frozenset({_A.OFFER, _A.CALLBACK_OFFER})
# While fewer than this share of a bucket's decisions were "nothing", the exploring engine
# keeps this share of the invitations it would make there as the bucket's control group.
CONTROL_SHARE = 0.2
# Share of the decisions on which assisted actions are scored with Thompson draws.
EXPLORE_SHARE = 0.1


@dataclass(frozen=True)
class EngineParams:
    """Economic and pricing parameters, plus configured action -> queue names."""

    economics: EconomicParams = field(default_factory=EconomicParams)
    pricing: PriceParams = field(default_factory=PriceParams)
    queues: dict[str, str] = field(default_factory=dict)


_CANDIDATES: dict[tuple[str, bool, bool, frozenset[ActionType]], tuple[ActionType, ...]] = {}


def candidates(ctx: DecisionContext) -> tuple[ActionType, ...]:
    """Actions worth scoring for this context: channel defaults, follow-ups, hot prospects."""
    hot = ctx.store_id is not None and ctx.browsed_product_online
    key = (ctx.channel, ctx.follow_up is not None, hot, ctx.allowed)
    found = _CANDIDATES.get(key)
    if found is not None:
        return found
    pool = set(DEFAULT_ACTIONS.get(ctx.channel, frozenset()))
    if ctx.follow_up is not None:
        pool |= FOLLOW_UP_ACTIONS
    if hot:
        pool.add(_A.HOT_PROSPECT_ALERT)
    else:
        pool.discard(_A.HOT_PROSPECT_ALERT)
    pool &= ctx.allowed
    found = (_A.NONE, *sorted(pool - {_A.NONE}, key=lambda a: a.value))
    if len(_CANDIDATES) < 4096:
        _CANDIDATES[key] = found
    return found


def decide(
    ctx: DecisionContext,
    *,
    model: BetaModel,
    queues: dict[str, QueueView],
    params: EngineParams,
    policy: str = "kanaal",
    arm: str = "kanaal",
    blocked: dict[ActionType, str] | None = None,
    pace: Pace | None = None,
    rng: random.Random | None = None,
) -> Choice:
    """Score every candidate and pick one with the policy; `rng` turns on Thompson sampling."""
    bucket = bucket_of(ctx)
    reasons = [explain.stage_reason(bucket.split(":", 2)[1], bucket)]
    follow = explain.follow_up_reason(ctx)
    if follow:
        reasons.append(follow)
    blocked_reasons: dict[str, str] = {}
    # The control arm is data-rich: its posterior mean, never a draw.
    p_nothing = model.p_buy(_A.NONE, bucket)
    explore = rng is not None and rng.random() < EXPLORE_SHARE
    estimates: list[Estimate] = []
    prices: dict[str, float] = {}
    economics = params.economics
    for action in candidates(ctx):
        if blocked and action in blocked:
            blocked_reasons[action.value] = blocked[action]
            continue
        view = None
        price = 0.0
        if action in QUEUE_CHANNEL:
            view = choose_queue(action, queues, params.queues)
            if view is None:
                blocked_reasons[action.value] = "no live capacity for its queue"
                continue
            known = prices.get(view.queue)
            if known is None:
                known = prices[view.queue] = capacity_price(view, params.pricing)
                reasons.append(explain.queue_reason(view, known))
            price = known
        if action is _A.NONE:
            estimates.append(estimate(action, ctx, p_nothing=p_nothing, p_action=p_nothing,
                                      p_accept=0.0, queue=None, price=0.0, params=economics))
            continue
        # Agent time is mostly scored with the posterior means (random draws on every
        # decision cost more agent minutes than they teach); a share of the decisions made
        # while the queue is idle explore with Thompson draws, as do actions without agents.
        p_action, p_accept, p_assisted = model.scores(
            action, bucket, rng if view is None or (explore and price == 0.0) else None)
        estimates.append(estimate(action, ctx, p_nothing=p_nothing, p_action=p_action,
                                  p_accept=p_accept, queue=view, price=price,
                                  params=economics, p_assisted=p_assisted))
    nothing = estimates[0]
    ranked = POLICIES[policy](estimates, ctx.margin)
    chosen = nothing
    for option in ranked:
        view = queues.get(option.queue) if option.queue else None
        if view is not None and policy in PACED and pace is not None and not pace(
                view, option.p_accept):
            blocked_reasons[option.action.value] = f"pacing budget of queue {view.queue} is spent"
            continue
        chosen = option
        break
    explored = False
    if (chosen is not nothing and rng is not None and policy == "kanaal"
            and model.control_share(bucket, candidates(ctx)) < CONTROL_SHARE
            and rng.random() < CONTROL_SHARE):
        # Uplift is measured against the bucket's own "nothing" arm: keep that arm fed.
        reasons.append(f"kept in the control group of bucket {bucket} (fewer than "
                       f"{CONTROL_SHARE:.0%} of its decisions were nothing): "
                       f"{chosen.action.value} would add "
                       f"{explain.money(chosen.incremental_margin, ctx.currency)}")
        chosen = nothing
    if chosen is not nothing:
        reasons.append(explain.chosen_reason(chosen, ctx))
        if rng is not None and policy == "kanaal":
            mean_p, _, mean_assisted = model.scores(chosen.action, bucket)
            mean = estimate(chosen.action, ctx, p_nothing=p_nothing,
                            p_action=mean_p, p_accept=chosen.p_accept,
                            queue=queues.get(chosen.queue) if chosen.queue else None,
                            price=chosen.capacity_price, params=params.economics,
                            p_assisted=mean_assisted)
            if mean.incremental_margin <= 0.0:
                explored = True
                reasons.append(f"exploring: on average {chosen.action.value} would add "
                               f"{explain.money(mean.incremental_margin, ctx.currency)}; "
                               "its outcome will teach the model")
    elif not reasons[-1].startswith("kept in the control group"):
        others = [e for e in estimates if e.action is not _A.NONE]
        best = max(others, key=lambda e: e.incremental_margin, default=None)
        if policy == "kanaal" or best is None:
            reasons.append(explain.nothing_reason(best, ctx))
    if policy != "kanaal":
        reasons.append(f"policy {policy} ({arm} arm)")
    for action_name, why in blocked_reasons.items():
        reasons.append(f"{action_name} not offered: {why}")
    alternatives = tuple(e for e in sorted(estimates, key=lambda e: e.incremental_margin,
                                           reverse=True) if e is not chosen)
    return Choice(action=chosen.action, estimate=chosen, alternatives=alternatives,
                  reasons=tuple(reasons), policy=policy, arm=arm, bucket=bucket,
                  explored=explored, blocked=blocked_reasons)
