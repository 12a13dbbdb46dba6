"""Learning: on a synthetic stream whose true uplift differs from the priors, the estimates
converge and the chosen action changes.

Bucket online:cart:mid. The priors say a callback lifts conversion from 7.5% to 9.35% and a
chat invitation to 8.35%. In this world an invitation works through the prospects who take it
up: they buy at TRUE_C[action], those who decline (and those shown nothing) at 7.5%, so a
callback lifts conversion by 0.1 point only and a chat by 4.5 points. The engine scores agent
time with posterior means and explores (Thompson draws) on a tenth of its decisions. With
these seeds it has moved from callback_offer to chat_invite and stopped proposing callbacks,
and its estimated chat uplift is within a point of the truth after 20,000 visitors.
"""

from __future__ import annotations

import random
from collections import Counter

from kanaal.decisions.domain import ActionType
from kanaal.decisions.engine import EngineParams, decide
from kanaal.decisions.learning import BetaModel, Priors, bucket_of
from tests.unit.test_economics_cases import IDLE, PERSUADABLE

A = ActionType
P0 = 0.075
# P(accept) in this world is the prior's (callback 10%, chat 12%, ...); acceptors buy at:
TRUE_C = {A.CALLBACK_OFFER: 0.085, A.CALL_NOW: 0.12, A.SHOW_PHONE: 0.10,
          A.CHAT_INVITE: P0 + 0.045 / 0.12, A.OFFER: 0.09}
N = 20_000


def test_estimates_converge_and_the_choice_follows_the_true_uplift() -> None:
    model, engine_rng, world = BetaModel(), random.Random(7), random.Random(11)
    bucket = bucket_of(PERSUADABLE)
    before = decide(PERSUADABLE, model=model, queues=IDLE, params=EngineParams()).action
    prior_callback_uplift = model.p_buy(A.CALLBACK_OFFER, bucket) - model.p_buy(A.NONE, bucket)
    chosen: Counter[ActionType] = Counter()
    for _ in range(N):
        if world.random() < 0.1:
            action = A.NONE
        else:
            action = decide(PERSUADABLE, model=model, queues=IDLE, params=EngineParams(),
                            rng=engine_rng).action
        chosen[action] += 1
        accepted = action is not A.NONE and world.random() < model.priors.means(action,
                                                                                bucket)[1]
        converted = world.random() < (TRUE_C[action] if accepted else P0)
        model.observe(action, bucket, shown=1, accepted=int(accepted),
                      converted=int(converted), assisted=int(accepted and converted))
    after = decide(PERSUADABLE, model=model, queues=IDLE, params=EngineParams()).action
    p0 = model.p_buy(A.NONE, bucket)
    chat_error = abs((model.p_buy(A.CHAT_INVITE, bucket) - p0) - 0.045)
    callback_uplift = model.p_buy(A.CALLBACK_OFFER, bucket) - p0
    assert (before, after) == (A.CALLBACK_OFFER, A.CHAT_INVITE)
    assert chat_error < 0.01
    assert abs(p0 - P0) < 0.01
    assert callback_uplift < prior_callback_uplift
    assert chosen[A.CALLBACK_OFFER] < 0.01 * N
    assert chosen.most_common(1)[0][0] is A.CHAT_INVITE
    assert chosen[A.CHAT_INVITE] > 0.75 * N


def _declined(model: BetaModel, bucket: str, decliners: int, rate: float) -> None:
    """`decliners` shown a chat who declined and bought at `rate`, beside a control arm."""
    model.observe(A.NONE, bucket, shown=20_000, converted=round(20_000 * P0))
    model.observe(A.CHAT_INVITE, bucket, shown=decliners, converted=round(decliners * rate))


def test_the_decliners_shift_moves_only_with_thousands_of_decliners() -> None:
    bucket = bucket_of(PERSUADABLE)
    # Decliners who buy 1.5 points less than the control arm (annoyed by the invitation).
    few, many = BetaModel(), BetaModel()
    _declined(few, bucket, 300, P0 - 0.015)
    _declined(many, bucket, 30_000, P0 - 0.015)
    shift_few, shift_many = few.posterior(A.CHAT_INVITE, bucket)[4], many.posterior(
        A.CHAT_INVITE, bucket)[4]
    # 300 decliners are a few purchases either way: they move the shift by less than a
    # quarter of the truth. 30,000 carry it.
    assert -0.015 / 4 < shift_few < 0.0
    assert -0.015 < shift_many < -0.012
    # And the chat's estimated P(buy) carries the shift of the decliners it is shown to.
    assert many.p_buy(A.CHAT_INVITE, bucket) < few.p_buy(A.CHAT_INVITE, bucket)


def test_without_outcomes_the_posterior_is_the_prior() -> None:
    model = BetaModel(priors=Priors({"online_conversion": 0.02, "strength": 10.0}))
    assert round(model.p_buy(A.NONE, "online:product:mid"), 6) == 0.02
    assert round(model.p_buy(A.NONE, "online:cart:high"), 6) == 0.12  # 0.02 x 3 x 2


def test_outcomes_move_the_posterior_by_their_weight_against_the_prior() -> None:
    model = BetaModel(priors=Priors({"online_conversion": 0.02, "strength": 10.0}))
    model.observe(A.NONE, "online:product:mid", shown=40, converted=10)
    # (0.02 x 10 + 10) / (10 + 40)
    assert round(model.p_buy(A.NONE, "online:product:mid"), 6) == 0.204
