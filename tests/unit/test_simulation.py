"""Unit tests of the simulated world, contact center and the report's checks."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
import simpy

from kanaal.simulation.contact_center import Contact, SimQueue
from kanaal.simulation.report import checks
from kanaal.simulation.runner import PolicyResult, RunResult
from kanaal.simulation.world import (
    SCENARIOS,
    QueueSetup,
    accept_probability,
    generate_visitors,
    load_scenario,
)


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_shipped_scenario_loads(name: str) -> None:
    scenario = load_scenario(name)
    assert scenario.name == name
    assert {q.channel for q in scenario.queues} == {"phone", "chat"}
    assert scenario.checked is (name != "cold_start")
    assert scenario.warm_start is (name != "cold_start")


def test_scenarios_differ_where_they_say() -> None:
    normal, peak = load_scenario("normal_day"), load_scenario("peak_day")
    assert (peak.visitors, normal.visitors) == (12000, 6000)
    assert load_scenario("low_margin").margin_rate == 0.12
    assert load_scenario("high_upsell").upsell_share == 0.40
    phone = load_scenario("understaffed").queue("phone")
    assert phone is not None and max(phone.staffing) == 8
    assert load_scenario("cold_start").days == 3


def test_unknown_scenario_and_bad_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown scenario 'busy'"):
        load_scenario("busy")
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nvisitors = 10\ncolour = "red"\n')
    with pytest.raises(ValueError, match="unknown scenario keys: colour"):
        load_scenario(str(bad))
    mix = tmp_path / "mix.toml"
    mix.write_text('name = "x"\nvisitors = 10\n[type_mix.cart]\npersuadable = 0.9\n')
    with pytest.raises(ValueError, match="type_mix.cart must sum to 1"):
        load_scenario(str(mix))


def test_visitors_are_reproducible_from_the_seed() -> None:
    scenario = replace(load_scenario("normal_day"), visitors=300)
    first, again = generate_visitors(scenario, 5), generate_visitors(scenario, 5)
    other = generate_visitors(scenario, 6)
    assert first == again
    assert first != other
    assert len(first) == 300
    assert [v.at for v in first] == sorted(v.at for v in first)


def test_types_follow_the_journey_stage() -> None:
    scenario = replace(load_scenario("normal_day"), visitors=4000)
    kinds = Counter((v.stage, v.kind) for v in generate_visitors(scenario, 1))
    checkout = sum(n for (stage, _), n in kinds.items() if stage == "checkout")
    browse = sum(n for (stage, _), n in kinds.items() if stage == "browse")
    assert kinds[("checkout", "sure_thing")] / checkout > 0.6
    assert kinds[("browse", "lost_cause")] / browse > 0.75


def test_window_keeps_the_staffing_and_drops_visitors_outside_it() -> None:
    scenario = load_scenario("normal_day")
    window = scenario.window(12, 14)
    assert window.queues == scenario.queues
    hours = {int(v.at // 3600) for v in generate_visitors(window)}
    assert hours == {12, 13}
    assert window.visitors == round(6000 * (1.1 + 1.0) / sum(scenario.profile))
    with pytest.raises(ValueError, match="window"):
        scenario.window(14, 12)


def test_the_request_carries_only_what_a_touchpoint_sees() -> None:
    visitor = replace(generate_visitors(replace(load_scenario("normal_day"), visitors=5))[0],
                      stage="cart", cart_value=120.0, channel="web")
    request = visitor.request(("call_now",))
    assert request["channel"] == "web"
    assert request["allowed_actions"] == ["call_now"]
    assert request["context"]["cart"]["items"][0]["price"] == "120.00"
    assert "kind" not in str(request) and visitor.kind not in str(request)
    browse = replace(visitor, stage="browse").request()
    assert "cart" not in browse["context"] and "product" not in browse["context"]


def test_accept_probability_by_action() -> None:
    b = load_scenario("normal_day").behaviour["persuadable"]
    assert accept_probability(b, "call_now") == 0.22
    assert accept_probability(b, "show_phone") == 0.11
    assert accept_probability(b, "chat_invite") == pytest.approx(0.264)


def _queue(env: simpy.Environment, agents: int = 1) -> SimQueue:
    setup = QueueSetup(name="sales", channel="phone", staffing=(agents,) * 24,
                       inbound_per_hour=0.0, inbound_handle_seconds=300.0,
                       sales_handle_seconds=480.0, target_answer_seconds=20.0)
    return SimQueue(env, setup, random.Random(1))


def test_a_queue_answers_in_order_and_counts_the_service_level() -> None:
    env = simpy.Environment()
    queue = _queue(env)
    done: list[tuple[str, bool, float]] = []
    for name in ("a", "b", "c"):
        contact = Contact(kind="inbound", arrived=0.0, patience=150.0, handle=100.0)
        contact.on_done = lambda ok, wait, name=name: done.append((name, ok, wait))
        queue.offer(contact)
    env.run(until=1000)
    # a is answered at once, b after 100 s; c hung up after 150 s of waiting (noticed when
    # the agent comes for c at 200 s).
    assert done == [("a", True, 0.0), ("b", True, 100.0), ("c", False, 150.0)]
    assert (queue.stats.offered, queue.stats.answered, queue.stats.abandoned) == (3, 2, 1)
    assert queue.stats.answered_in_target == 1
    assert queue.stats.service_level == pytest.approx(1 / 3)


def test_only_background_contacts_who_hang_up_carry_a_service_cost() -> None:
    env = simpy.Environment()
    queue = _queue(env)
    for kind, at in (("inbound", 0.0), ("invited", 0.0), ("inbound", 0.0)):
        queue.offer(Contact(kind=kind, arrived=at, patience=50.0, handle=400.0))
    env.run(until=1000)
    # The first caller is answered; the invited prospect and the second caller hang up after
    # 50 s. Only the caller who phoned on their own is a background abandonment: the invited
    # prospect's loss is already in the visitor's own profit.
    assert queue.stats.abandoned == 2
    assert queue.stats.abandoned_inbound == [50.0]
    # By default the caller phones again: one more inbound handle time (300 s) at 0.75/min.
    assert queue.setup.abandon_cost_at(0.75) == pytest.approx(3.75)
    chat = QueueSetup(name="chat", channel="chat", staffing=(1,) * 24, inbound_per_hour=0.0,
                      inbound_handle_seconds=400.0, sales_handle_seconds=600.0,
                      concurrency=3)
    assert chat.abandon_cost_at(0.75) == pytest.approx(400 / 60 / 3 * 0.75)
    assert replace(chat, abandon_cost=12.5).abandon_cost_at(0.75) == 12.5


def test_callbacks_wait_for_an_idle_agent() -> None:
    env = simpy.Environment()
    queue = _queue(env)
    order: list[str] = []
    callback = Contact(kind="callback", arrived=0.0, patience=1800.0, handle=50.0,
                       on_done=lambda ok, _w: order.append(f"callback:{ok}"))
    call = Contact(kind="inbound", arrived=0.0, patience=300.0, handle=50.0,
                   on_done=lambda ok, _w: order.append(f"call:{ok}"))
    queue.offer(callback)
    queue.offer(call)
    env.run(until=500)
    assert order == ["call:True", "callback:True"]
    assert queue.stats.offered == 1  # a callback is not an inbound call


def test_the_view_counts_waiting_callbacks_as_the_contact_center_counts_due_ones() -> None:
    env = simpy.Environment()
    queue = _queue(env, agents=2)
    # Both agents busy with a long call; two callbacks wait for one of them.
    for _ in range(2):
        queue.offer(Contact(kind="inbound", arrived=0.0, patience=300.0, handle=3000.0))
    env.run(until=1)
    busy = queue.view()
    for _ in range(2):
        queue.offer(Contact(kind="callback", arrived=1.0, patience=1800.0, handle=480.0))
    env.run(until=2)
    waiting = queue.view()
    # The callbacks are in the queue's length and in its arrivals (their load), so the next
    # caller's predicted wait and the capacity price rise; no inbound caller was added.
    assert (busy.queue_length, waiting.queue_length) == (0, 2)
    assert busy.predicted_wait_seconds is not None
    assert waiting.predicted_wait_seconds is not None
    assert waiting.predicted_wait_seconds > busy.predicted_wait_seconds
    assert queue.stats.offered == 2
    # A callback whose patience ran out is no longer counted.
    env.run(until=1900)
    assert queue.view().queue_length == 0


def test_the_view_of_an_idle_queue_is_free_and_a_closed_one_is_over_target() -> None:
    env = simpy.Environment()
    idle = _queue(env, agents=4).view()
    assert (idle.available_agents, idle.queue_length, idle.over_target) == (4, 0, False)
    assert idle.predicted_wait_seconds == 0.0
    assert idle.spare_agent_minutes_15 == 60.0
    closed = _queue(simpy.Environment(), agents=0)
    closed.setup = replace(closed.setup, staffing=(0,) * 24)
    view = closed.view()
    assert view.over_target is True and view.predicted_wait_seconds is None


def _result(policy: str, expected: float, **extra: object) -> PolicyResult:
    # The drawn profit is the same for every policy: the checks compare the expected one.
    result = PolicyResult(policy=policy, profit=500.0, expected_profit=expected)
    result.service_level = {"sales": 0.9}
    result.target_service_level = {"sales": 0.8}
    for key, value in extra.items():
        setattr(result, key, value)
    return result


def test_checks_state_each_figure() -> None:
    scenario = load_scenario("normal_day")
    results = {
        "never": _result("never", 100.0), "always": _result("always", 50.0),
        "capacity_only": _result("capacity_only", 120.0, cannibalized=9),
        "propensity_only": _result("propensity_only", 130.0),
        "oracle": _result("oracle", 200.0),
        "kanaal": _result("kanaal", 190.0, cannibalized=3, idle_routed=10,
                          idle_routed_bought=3, decisions_idle=100, invites_idle=30,
                          decisions_busy=100, invites_busy=5),
    }
    run = RunResult(scenario=scenario, seed=1, results=results)
    found = {c.name: (c.passed, c.figure) for c in checks(run)}
    assert found["kanaal earns >= 85% of the oracle's incremental profit"] == (
        True, "90.0% (expected: kanaal 90.00 / oracle 100.00 EUR)")
    assert found["kanaal beats propensity_only"] == (True, "expected 90.00 vs 30.00 EUR")
    assert found["kanaal has fewer cannibalized contacts than capacity_only"] == (True, "3 vs 9")
    assert found["visitors routed while agents are idle convert in the 20-40% band"] == (
        True, "30.0% of 10 contacts")
    assert found["more invitations when agents are idle"] == (
        True, "30.0% of decisions when idle vs 5.0% when not")
    results["kanaal"].service_level = {"sales": 0.79}
    results["kanaal"].phone_invites_over_target = 2
    found = {c.name: (c.passed, c.figure) for c in checks(run)}
    assert found["kanaal holds the service-level target"] == (
        False, "sales 79.0% (target 80.0%)")
    assert found["no phone invitations while the queue is over target"] == (
        False, "2 invitations")


def test_the_simulated_chat_queue_counts_slots_as_the_contact_center_does() -> None:
    """Three chat agents at three chats each are nine servers (as
    contact_center.domain.queue_capacity counts them), so a load two of them could carry
    leaves spare minutes and an open queue; counted as three slow servers it looked full."""
    import random

    import simpy

    from kanaal.contact_center.erlang import required_agents
    from kanaal.simulation.contact_center import RATE_WINDOW, SimQueue
    from kanaal.simulation.world import QueueSetup

    env = simpy.Environment(initial_time=12 * 3600.0)
    setup = QueueSetup(name="chat", channel="chat", staffing=(3,) * 24, inbound_per_hour=0,
                       inbound_handle_seconds=600, sales_handle_seconds=600,
                       target_answer_seconds=30, concurrency=3)
    queue = SimQueue(env, setup, random.Random(1))
    queue.arrivals.extend(env.now - i * 150.0 for i in range(6))  # 0.4 a minute: 4 erlangs
    per_second = len(queue.arrivals) / RATE_WINDOW
    traffic = per_second * 600
    view = queue.view()
    needed = required_agents(traffic, 600, 30, 0.8)
    assert needed < 9
    assert view.spare_agent_minutes_15 == (9 - needed) * 15.0
    assert not view.over_target


def test_expected_profit_replaces_each_purchase_draw_by_its_probability() -> None:
    from kanaal.simulation.runner import run_scenario

    scenario = replace(load_scenario("normal_day").window(12, 13), visitors=400)
    run = run_scenario(scenario, policies=("never", "oracle"))
    visitors = generate_visitors(scenario)
    never, oracle = run.results["never"], run.results["oracle"]
    # Nobody is asked: each visitor is worth their type's own purchase probability x margin.
    alone = [scenario.behaviour[v.kind].self_buy * v.margin for v in visitors]
    assert never.expected_per_visitor == pytest.approx(alone)
    assert never.expected_profit == pytest.approx(sum(alone) - never.service_cost)
    # The oracle asks only persuadables: everybody else is worth the same as under never.
    for v, mine, theirs in zip(visitors, oracle.expected_per_visitor, alone, strict=True):
        if v.kind != "persuadable":
            assert mine == pytest.approx(theirs)
    assert oracle.invitations and run.incremental("oracle") > 0
    assert run.incremental("oracle") == pytest.approx(
        oracle.expected_profit - never.expected_profit)
