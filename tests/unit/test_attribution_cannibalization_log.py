"""Reading the decision log for cannibalization: who is compared, from when, at what cost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from kanaal.analytics.profitability import LogEntry, cannibalization
from kanaal.analytics.service_cannibalization import CustomerOutcome, customer_outcomes
from kanaal.core.errors import InvalidInput
from kanaal.decisions.domain import QueueView
from kanaal.decisions.economics import EconomicParams
from kanaal.decisions.reports import DecisionOutcomeRow, best_action, contact_minutes

D = Decimal
T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)


def score(action: str, margin: str, *, feasible: bool = True) -> dict[str, object]:
    return {"type": action, "queue": None, "feasible": feasible, "incremental_margin": margin}


def test_best_action_is_the_kanaal_policys_first_choice() -> None:
    assert best_action([score("none", "0.00"), score("call_now", "2.10"),
                        score("callback_offer", "2.57"), score("offer", "1.00")]) == (
        "callback_offer")
    assert best_action([score("none", "0.00"), score("call_now", "9.00", feasible=False),
                        score("chat_invite", "0.40")]) == "chat_invite"
    assert best_action([score("none", "0.00"), score("call_now", "-0.50"),
                        score("show_phone", "-999999999999.99")]) == "none"
    assert best_action("not a list") == "none"
    assert best_action([{"type": "call_now", "incremental_margin": "n/a"}]) == "none"


def view(channel: str, handle: float) -> QueueView:
    return QueueView(queue="q", channel=channel, available_agents=1, queue_length=0,
                     handle_time_seconds=handle, predicted_wait_seconds=0.0,
                     target_answer_seconds=20.0, over_target=False, spare_agent_minutes_15=9.0)


def test_contact_minutes_follow_the_engines_economics() -> None:
    params = EconomicParams()
    assert contact_minutes("call_now", "q", {"q": view("phone", 600.0)}, params) == (10.0, 0.75)
    assert contact_minutes("chat_invite", "q", {"q": view("chat", 540.0)}, params) == (
        3.0, 0.75)
    # The queue is gone: the engine's default handle time on the action's channel.
    assert contact_minutes("callback_offer", "old", {}, params) == (8.0, 0.75)
    assert contact_minutes("store_appointment", None, {}, params) == (20.0, 0.50)
    assert contact_minutes("offer", None, {}, params) == (0.0, 0.0)
    assert contact_minutes("none", None, {}, params) == (0.0, 0.0)


def row(decision: str, subject: str, minutes: int, *, arm: str = "kanaal",
        best: str = "call_now", cost: str = "0.00", margin: str | None = None,
        order: str | None = None) -> DecisionOutcomeRow:
    return DecisionOutcomeRow(
        decision_id=decision, customer_id=subject, subject=subject, experiment="default",
        arm=arm, policy="never" if arm == "holdout" else arm, holdout=arm == "holdout",
        action="none" if arm == "holdout" else best, queue=None, best_action=best,
        accepted=cost != "0.00", agent_minutes=D(8), contact_cost=D(cost),
        margin=None if margin is None else D(margin), revenue=None, order_id=order,
        decided_at=T0 + timedelta(minutes=minutes), converted_at=None, currency="EUR")


def test_customers_enter_at_their_first_eligible_decision_and_orders_count_once() -> None:
    rows = [
        row("d2", "a", 10, cost="6.00", margin="150.00", order="o1"),
        row("d1", "a", 0, best="none", margin="40.00", order="o0"),  # before entry
        row("d3", "a", 20, best="none", margin="150.00", order="o1"),  # the same order
        row("d4", "a", 30, best="offer", margin="25.00"),  # converted over the API
        row("d5", "b", 0, arm="holdout", best="chat_invite", margin="60.00", order="o2"),
        row("d6", "c", 0, best="offer", margin="99.00", order="o3"),  # never eligible
    ]
    outcomes, left_out = customer_outcomes(rows)
    assert outcomes == [
        CustomerOutcome("a", "kanaal", False, 3, 1, True, D("175.00"), D("6.00")),
        CustomerOutcome("b", "holdout", True, 1, 0, True, D("60.00"), D("0.00")),
    ]
    assert left_out == 1


def test_the_margin_interval_is_given_when_margins_vary() -> None:
    log = [LogEntry("t1", False, D("150"), D("6")), LogEntry("t2", False, D("0"), D("6")),
           LogEntry("h1", True, D("120"), D("0")), LogEntry("h2", True, D("0"), D("0"))]
    result = cannibalization(log)
    assert (result.incremental_margin, result.extra_contact_cost) == (15.0, 6.0)
    assert result.margin_ci_low is not None and result.margin_ci_high is not None
    assert result.margin_ci_low < 15.0 < result.margin_ci_high
    flat = [LogEntry("t1", False, D("0"), D("6")), LogEntry("t2", False, D("0"), D("4")),
            LogEntry("h1", True, D("0"), D("0")), LogEntry("h2", True, D("0"), D("0"))]
    nobody_bought = cannibalization(flat)
    assert (nobody_bought.margin_ci_low, nobody_bought.margin_ci_high) == (None, None)
    assert nobody_bought.incremental_net_margin == -5.0


def test_a_log_where_nothing_varies_is_refused() -> None:
    same = [LogEntry(f"c{i}", i % 2 == 0, D("10"), D("0")) for i in range(4)]
    with pytest.raises(InvalidInput) as caught:
        cannibalization(same)
    assert caught.value.code == "zero_variance"
