"""Invariants of the pure decision rules: capacity price, policies, no cannibalization."""

from __future__ import annotations

import math
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from kanaal.decisions.capacity_price import capacity_price
from kanaal.decisions.domain import ALL_ACTIONS, ActionType, DecisionContext, QueueView
from kanaal.decisions.engine import EngineParams, candidates, decide
from kanaal.decisions.learning import BetaModel, bucket_of, journey_stage
from kanaal.decisions.policies import POLICIES
from tests.unit.test_economics_cases import IDLE, PERSUADABLE, queue

A = ActionType


def test_capacity_price_is_zero_when_idle_and_a_hard_stop_over_target() -> None:
    assert capacity_price(queue("q", "phone", wait=0.0)) == 0.0
    assert capacity_price(queue("q", "phone", wait=10.0, length=2)) == 0.5
    assert capacity_price(queue("q", "phone", wait=15.0, length=2)) == 1.5
    assert capacity_price(queue("q", "phone", wait=5.0, over=True)) == math.inf
    assert capacity_price(queue("q", "phone", wait=None)) == math.inf
    assert capacity_price(queue("q", "phone", wait=0.0, spare=0.0)) == math.inf
    assert capacity_price(queue("q", "phone", wait=20.0, length=3)) == math.inf


@given(st.floats(0, 19.9), st.floats(0, 19.9), st.integers(0, 5), st.integers(0, 10))
def test_capacity_price_rises_with_the_predicted_wait(w1: float, w2: float, agents: int,
                                                      length: int) -> None:
    low, high = sorted((w1, w2))
    a = capacity_price(queue("q", "phone", wait=low, agents=agents, length=length + 1))
    b = capacity_price(queue("q", "phone", wait=high, agents=agents, length=length + 1))
    assert 0.0 <= a <= b < math.inf


contexts = st.builds(
    DecisionContext,
    channel=st.sampled_from(["web", "mobile", "store", "chat", "publisher", "shop_in_shop"]),
    page_type=st.sampled_from(["home", "product", "cart", "checkout", "other"]),
    pageviews=st.integers(1, 50),
    seconds_on_site=st.floats(0, 5000),
    is_returning=st.booleans(),
    cart_value=st.floats(0, 5000),
    cart_items=st.integers(0, 10),
    margin=st.floats(0, 2000),
    checkout_errors=st.integers(0, 3),
    prior_contacts=st.integers(0, 3),
    store_id=st.sampled_from([None, "loc_1"]),
    browsed_product_online=st.booleans(),
    allowed=st.frozensets(st.sampled_from(ALL_ACTIONS)),
)
queue_sets = st.sampled_from([IDLE, {}, {"sales": queue("sales", "phone", wait=12.0, length=2)},
                              {"sales": queue("sales", "phone", over=True)}])


@settings(max_examples=300)
@given(contexts, queue_sets, st.integers(0, 2**32))
def test_kanaal_never_chooses_an_action_that_does_not_pay(
    ctx: DecisionContext, queues: dict[str, QueueView], seed: int
) -> None:
    for rng in (None, random.Random(seed)):
        choice = decide(ctx, model=BetaModel(), queues=queues, params=EngineParams(), rng=rng)
        assert choice.action in ctx.allowed | {A.NONE}
        if choice.action is not A.NONE:
            assert choice.estimate.incremental_margin > 0.0
            assert choice.estimate.feasible
        assert choice.bucket == bucket_of(ctx)
        assert journey_stage(ctx) in choice.reasons[0]


@given(contexts)
def test_nothing_is_always_a_candidate(ctx: DecisionContext) -> None:
    assert candidates(ctx)[0] is A.NONE


def test_the_never_policy_and_an_exhausted_pacing_budget_give_nothing() -> None:
    model, params = BetaModel(), EngineParams()
    assert decide(PERSUADABLE, model=model, queues=IDLE, params=params, policy="never",
                  arm="holdout").action is A.NONE
    paced = decide(PERSUADABLE, model=model, queues=IDLE, params=params,
                   pace=lambda _view, _cost: False)
    assert paced.action is A.NONE
    assert paced.blocked["callback_offer"] == "pacing budget of queue sales is spent"
    assert paced.blocked["chat_invite"] == "pacing budget of queue chat is spent"


def test_baseline_policies_differ_where_the_engine_is_careful() -> None:
    busy = {"sales": queue("sales", "phone", over=True), "chat": queue("chat", "chat",
                                                                      over=True)}
    model, params = BetaModel(), EngineParams()
    picks = {name: decide(PERSUADABLE, model=model, queues=busy, params=params,
                          policy=name).action for name in POLICIES}
    assert picks == {"kanaal": A.NONE, "never": A.NONE, "always": A.CALLBACK_OFFER,
                     "capacity_only": A.OFFER, "propensity_only": A.CALLBACK_OFFER}


def test_caps_block_actions_with_their_reason() -> None:
    choice = decide(PERSUADABLE, model=BetaModel(), queues=IDLE, params=EngineParams(),
                    blocked={A.CALLBACK_OFFER: "dismissed 5 minutes ago"})
    assert choice.action is A.CALL_NOW
    assert "callback_offer not offered: dismissed 5 minutes ago" in choice.reasons
