"""The table of economic cases: what the engine proposes, and why, with default priors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kanaal.decisions.domain import ActionType, DecisionContext, FollowUp, QueueView
from kanaal.decisions.economics import EconomicParams, estimate
from kanaal.decisions.engine import EngineParams, decide
from kanaal.decisions.learning import BetaModel

A = ActionType


def queue(name: str, channel: str, *, wait: float | None = 0.0, over: bool = False,
          agents: int = 3, length: int = 0, spare: float = 40.0) -> QueueView:
    return QueueView(queue=name, channel=channel, available_agents=agents, queue_length=length,
                     handle_time_seconds=480.0, predicted_wait_seconds=wait,
                     target_answer_seconds=20.0, over_target=over, spare_agent_minutes_15=spare)


IDLE = {"sales": queue("sales", "phone"), "chat": queue("chat", "chat")}
PHONE_OVER = {"sales": queue("sales", "phone", wait=95.0, over=True, agents=0, length=7,
                             spare=0.0),
              "chat": queue("chat", "chat")}
ALL_BUSY = {"sales": PHONE_OVER["sales"],
            "chat": queue("chat", "chat", wait=40.0, over=True, agents=0, length=4, spare=0.0)}
WEB_ACTIONS = frozenset({A.SHOW_PHONE, A.CALL_NOW, A.CALLBACK_OFFER, A.CHAT_INVITE, A.OFFER})

SURE_BUYER = DecisionContext(channel="web", page_type="checkout", pageviews=8,
                             seconds_on_site=400, is_returning=True, cart_value=80.0,
                             cart_items=1, margin=20.0)
PERSUADABLE = DecisionContext(channel="web", page_type="cart", pageviews=6, seconds_on_site=300,
                              cart_value=600.0, cart_items=2, margin=150.0, allowed=WEB_ACTIONS)
CALLER = DecisionContext(
    channel="web", page_type="product", pageviews=3, product_sku="TV-55", margin=200.0,
    cart_value=1250.0, prior_contacts=1,
    follow_up=FollowUp(interaction="call", at=datetime(2026, 1, 4, 15, 0, tzinfo=UTC),
                       queue="sales", agent_name="Sanne", quote=1200.0, discount_percent=5.0))
IN_STORE = DecisionContext(channel="store", store_id="loc_store_1", product_sku="TV-55",
                           browsed_product_online=True, margin=300.0, cart_value=1300.0)


def run(ctx: DecisionContext, queues: dict[str, QueueView]) -> tuple[A, float]:
    choice = decide(ctx, model=BetaModel(), queues=queues, params=EngineParams())
    return choice.action, round(choice.estimate.incremental_margin, 2)


@pytest.mark.parametrize(
    ("case", "ctx", "queues", "expected"),
    [
        ("sure buyer, low upsell, idle agents", SURE_BUYER, IDLE, (A.NONE, 0.0)),
        ("persuadable, high uplift, idle agents", PERSUADABLE, IDLE, (A.CALLBACK_OFFER, 2.57)),
        ("persuadable, phone over target, chat has room", PERSUADABLE, PHONE_OVER,
         (A.CHAT_INVITE, 1.12)),
        ("persuadable, phone and chat over target", PERSUADABLE, ALL_BUSY, (A.NONE, 0.0)),
        ("recent caller without purchase, idle agents", CALLER, IDLE, (A.CALLBACK_OFFER, 7.22)),
        ("recent caller without purchase, phone over target", CALLER, PHONE_OVER,
         (A.OFFER, 6.6)),
        ("in-store visitor who browsed the product online", IN_STORE, IDLE,
         (A.HOT_PROSPECT_ALERT, 79.27)),
    ],
)
def test_economic_cases(case: str, ctx: DecisionContext, queues: dict[str, QueueView],
                        expected: tuple[A, float]) -> None:
    assert run(ctx, queues) == expected, case


def test_sure_buyer_is_not_sent_to_an_agent_because_upsell_is_below_contact_cost() -> None:
    choice = decide(SURE_BUYER, model=BetaModel(), queues=IDLE, params=EngineParams())
    call = next(e for e in choice.alternatives if e.action is A.CALL_NOW)
    assert call.feasible and call.capacity_price == 0.0
    assert round(call.uplift_margin + call.upsell, 2) == 0.24
    assert round(call.contact_cost, 2) == 0.48
    assert any(r.startswith("no action pays: the best") for r in choice.reasons)


def test_phone_actions_are_never_proposed_when_the_phone_queue_is_over_target() -> None:
    choice = decide(PERSUADABLE, model=BetaModel(), queues=PHONE_OVER, params=EngineParams())
    phone = [e for e in choice.alternatives if e.action in {A.SHOW_PHONE, A.CALL_NOW,
                                                            A.CALLBACK_OFFER}]
    assert {e.action for e in phone} == {A.SHOW_PHONE, A.CALL_NOW, A.CALLBACK_OFFER}
    assert all(not e.feasible and e.capacity_price == float("inf") for e in phone)
    assert "queue sales is over its service-level target: no invitations" in choice.reasons


def test_a_queue_without_spare_minutes_is_closed_and_says_why() -> None:
    # The chat queue answers within its target now, but the 15-minute forecast needs every
    # agent it has: no chat invitation, and the reason names the spare minutes, not the wait.
    full = {"sales": PHONE_OVER["sales"],
            "chat": queue("chat", "chat", wait=13.0, agents=1, spare=0.0)}
    choice = decide(PERSUADABLE, model=BetaModel(), queues=full, params=EngineParams())
    assert choice.action is A.NONE
    chat = next(e for e in choice.alternatives if e.action is A.CHAT_INVITE)
    assert not chat.feasible and chat.capacity_price == float("inf")
    assert ("queue chat has no spare agent minutes in the next 15 minutes (predicted wait 13s "
            "of the 20s target): no invitations") in choice.reasons
    slow = {**full, "chat": queue("chat", "chat", wait=25.0, agents=0, spare=0.0)}
    reasons = decide(PERSUADABLE, model=BetaModel(), queues=slow, params=EngineParams()).reasons
    assert "queue chat predicted wait 25s reaches the 20s target: no invitations" in reasons


def test_hot_prospect_alert_needs_the_online_browse() -> None:
    walk_in = DecisionContext(channel="store", store_id="loc_store_1", product_sku="TV-55",
                              margin=300.0, cart_value=1300.0)
    choice = decide(walk_in, model=BetaModel(), queues=IDLE, params=EngineParams())
    assert A.HOT_PROSPECT_ALERT not in {e.action for e in (choice.estimate, *choice.alternatives)}


def test_the_formula_term_by_term() -> None:
    view = queue("sales", "phone", wait=10.0, length=1)
    e = estimate(A.CALL_NOW, PERSUADABLE, p_nothing=0.05, p_action=0.10, p_accept=0.2,
                 queue=view, price=0.5, params=EconomicParams())
    assert e.agent_minutes == 8.0
    assert round(e.uplift_margin, 6) == 7.5  # (0.10 - 0.05) x 150
    assert round(e.upsell, 6) == 1.08  # (0.10 - 0.8 x 0.05) x 0.12 x 150
    assert round(e.contact_cost, 6) == 1.2  # 0.2 x 8 min x 0.75
    assert round(e.capacity_cost, 6) == 0.8  # 0.5 x 0.2 x 8 min
    assert e.discount_cost == 0.0
    assert round(e.incremental_margin, 6) == 6.58


def test_an_offer_pays_its_discount_only_on_purchase() -> None:
    e = estimate(A.OFFER, PERSUADABLE, p_nothing=0.05, p_action=0.08, p_accept=0.3,
                 queue=None, price=0.0, params=EconomicParams())
    assert round(e.discount_cost, 6) == 2.4  # 0.08 x 5% x 600
    assert e.contact_cost == 0.0 and e.agent_minutes == 0.0
