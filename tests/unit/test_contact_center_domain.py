"""Pure contact-center rules: states, skills, capacity snapshot, outcomes, ACD mappings."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kanaal.contact_center.acd import (
    from_genesys,
    from_twilio,
    parse_generic,
    sign,
    verify_signature,
)
from kanaal.contact_center.domain import (
    TRANSITIONS,
    Agent,
    AgentState,
    Queue,
    QueueChannel,
    QueueStats,
    check_concurrency,
    check_outcome,
    check_transition,
    decayed_rate,
    handle_time_after,
    normalise_skills,
    queue_capacity,
    rate_after_arrival,
)
from kanaal.core.errors import Conflict, InvalidInput, Unauthenticated

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def agent(n: int, state: AgentState, skills: tuple[str, ...] = ("sales",), chat: int = 1,
          idle_minutes: int = 0) -> Agent:
    return Agent(id=f"agt_{n:03d}", name=f"A{n}", email=f"a{n}@x.nl", password_hash="h",
                 skills=skills, state=state, state_since=NOW - timedelta(minutes=idle_minutes),
                 concurrency={"phone": 1, "chat": chat})


def sales_queue(channel: QueueChannel = QueueChannel.PHONE, patience: float | None = None
                ) -> Queue:
    return Queue(id="que_1", name="sales-phone", skill="sales", channel=channel,
                 target_service_level=0.8, target_answer_seconds=20.0,
                 patience_seconds=patience, sla_seconds=900)


TEN_ERLANGS = QueueStats(arrival_rate_per_second=100 / 1800, arrivals_at=NOW,
                         handle_time_seconds=180.0, waiting=0)


def test_every_listed_transition_is_allowed_and_others_conflict() -> None:
    for current in AgentState:
        for target in AgentState:
            if target == current or target in TRANSITIONS[current]:
                check_transition(current, target)
            else:
                with pytest.raises(Conflict) as caught:
                    check_transition(current, target)
                assert caught.value.code == "invalid_state_transition"


def test_an_offline_agent_cannot_go_straight_to_busy() -> None:
    with pytest.raises(Conflict) as caught:
        check_transition(AgentState.OFFLINE, AgentState.BUSY)
    assert caught.value.details[0]["allowed"] == ["available", "away"]


def test_skills_are_normalised_and_validated() -> None:
    assert normalise_skills(["Sales", "language:NL", "brand:acme", "sales"]) == (
        "sales", "language:nl", "brand:acme")
    for bad in ("", "two words", "brand:", ":nl", "a" * 41):
        with pytest.raises(InvalidInput):
            normalise_skills([bad])


def test_phone_takes_one_call_and_chat_up_to_the_limit() -> None:
    assert check_concurrency({"chat": 4}) == {"phone": 1, "chat": 4}
    for bad in ({"phone": 2}, {"chat": 0}, {"chat": 11}, {"video": 1}):
        with pytest.raises(InvalidInput) as caught:
            check_concurrency(bad)
        assert caught.value.code == "invalid_concurrency"


def test_fourteen_on_duty_agents_meet_the_target_and_the_snapshot_says_so() -> None:
    team = [agent(i, AgentState.AVAILABLE, idle_minutes=i) for i in range(4)] + [
        agent(10 + i, AgentState.BUSY) for i in range(9)] + [agent(30, AgentState.WRAP_UP)] + [
        agent(40, AgentState.AWAY), agent(41, AgentState.OFFLINE),
        agent(42, AgentState.AVAILABLE, skills=("service",))]
    cap = queue_capacity(sales_queue(), TEN_ERLANGS, team, queue_length=0, now=NOW,
                         window_seconds=900)
    assert (cap.available_agents, cap.busy_agents, cap.servers) == (4, 10, 14)
    assert round(cap.service_level, 6) == 0.888350
    assert round(cap.waiting_probability, 6) == 0.174132
    assert cap.required_agents == 14
    assert cap.arrival_rate_per_minute == pytest.approx(100 / 30)
    assert cap.occupancy == pytest.approx(10 / 14)
    assert cap.predicted_wait_seconds == pytest.approx(0.174132 * 180 / 4, abs=1e-3)
    assert (cap.spare_agent_minutes_15, cap.spare_agent_minutes_30) == (0.0, 0.0)
    assert not cap.over_target and cap.stable


def test_thirteen_agents_are_over_target_and_sixteen_leave_spare_minutes() -> None:
    thirteen = [agent(i, AgentState.BUSY) for i in range(13)]
    cap = queue_capacity(sales_queue(), TEN_ERLANGS, thirteen, queue_length=0, now=NOW,
                         window_seconds=900)
    assert cap.over_target and round(cap.service_level, 6) == 0.795595
    sixteen = [agent(i, AgentState.AVAILABLE) for i in range(16)]
    cap = queue_capacity(sales_queue(), TEN_ERLANGS, sixteen, queue_length=2, now=NOW,
                         window_seconds=900)
    # two spare agents for 15 minutes, less the backlog of 2 callers x 3 minutes
    assert cap.spare_agent_minutes_15 == pytest.approx(2 * 15 - 6)
    assert cap.spare_agent_minutes_30 == pytest.approx(2 * 30 - 6)


def test_callbacks_booked_ahead_come_off_the_spare_minutes_of_their_horizon() -> None:
    sixteen = [agent(i, AgentState.AVAILABLE) for i in range(16)]
    cap = queue_capacity(sales_queue(), TEN_ERLANGS, sixteen, queue_length=2, now=NOW,
                         window_seconds=900, booked_15=1, booked_30=3)
    # two spare agents, less the backlog of 2 x 3 minutes and the callbacks due by then
    assert cap.spare_agent_minutes_15 == pytest.approx(2 * 15 - 6 - 1 * 3)
    assert cap.spare_agent_minutes_30 == pytest.approx(2 * 30 - 6 - 3 * 3)
    full = queue_capacity(sales_queue(), TEN_ERLANGS, sixteen, queue_length=2, now=NOW,
                          window_seconds=900, booked_15=9, booked_30=30)
    assert (full.spare_agent_minutes_15, full.spare_agent_minutes_30) == (0.0, 0.0)
    assert full.queue_length == 2  # booked callbacks are not waiting yet


def test_a_queue_at_or_below_its_traffic_reports_unstable_without_a_wait() -> None:
    team = [agent(i, AgentState.AVAILABLE) for i in range(10)]
    cap = queue_capacity(sales_queue(), TEN_ERLANGS, team, queue_length=3, now=NOW,
                         window_seconds=900)
    assert (cap.stable, cap.predicted_wait_seconds, cap.service_level, cap.over_target) == (
        False, None, 0.0, True)
    assert cap.occupancy == 1.0


def test_with_patience_the_snapshot_uses_erlang_a() -> None:
    team = [agent(i, AgentState.AVAILABLE) for i in range(10)]
    cap = queue_capacity(sales_queue(patience=120.0), TEN_ERLANGS, team, queue_length=0,
                         now=NOW, window_seconds=900)
    assert cap.stable and cap.service_level == pytest.approx(0.642, abs=0.004)
    assert cap.abandon_probability == pytest.approx(0.1375, abs=0.002)


def test_chat_agents_count_once_per_chat_they_can_hold() -> None:
    team = [agent(1, AgentState.AVAILABLE, chat=3), agent(2, AgentState.BUSY, chat=2)]
    queue = sales_queue(QueueChannel.CHAT)
    cap = queue_capacity(queue, TEN_ERLANGS, team, queue_length=0, now=NOW, window_seconds=900)
    assert (cap.servers, cap.available_agents, cap.busy_agents) == (5, 1, 1)


def test_callers_waiting_ahead_lengthen_the_predicted_wait() -> None:
    team = [agent(i, AgentState.BUSY) for i in range(14)]
    cap = queue_capacity(sales_queue(), TEN_ERLANGS, team, queue_length=6, now=NOW,
                         window_seconds=900)
    assert cap.predicted_wait_seconds == pytest.approx(7 * 180 / 14)


def test_the_arrival_rate_decays_and_one_arrival_adds_one_over_the_window() -> None:
    assert decayed_rate(1.0, NOW, NOW + timedelta(seconds=900), 900) == pytest.approx(0.36788,
                                                                                     rel=1e-4)
    assert rate_after_arrival(0.0, NOW, NOW, 900) == pytest.approx(1 / 900)
    assert handle_time_after(180.0, 300.0, 0.2) == pytest.approx(204.0)


@given(st.lists(st.floats(min_value=0.0, max_value=3600.0), min_size=1, max_size=30))
def test_the_weighted_handle_time_stays_within_what_was_seen(observed: list[float]) -> None:
    current = 180.0
    for value in observed:
        current = handle_time_after(current, value, 0.2)
    assert min([180.0, *observed]) - 1e-9 <= current <= max([180.0, *observed]) + 1e-9


def test_outcomes_need_their_figures() -> None:
    sale = check_outcome("sale", sale_value=Decimal("99.95"), upsell_value=Decimal("10"),
                         quote=None, notes="")
    assert (sale.outcome.value, sale.sale_value) == ("sale", Decimal("99.95"))
    cases = [("sale", None, None, "sale_value_required"), ("quote", None, None,
             "quote_required"), ("sale", Decimal("-1"), None, "invalid_amount"),
             ("maybe", None, None, "invalid_outcome")]
    for outcome, value, quote, code in cases:
        with pytest.raises(InvalidInput) as caught:
            check_outcome(outcome, sale_value=value, upsell_value=None, quote=quote, notes="")
        assert caught.value.code == code


# ---------------------------------------------------------------- ACD


def test_signatures_verify_only_with_the_right_secret_and_body() -> None:
    body = b'{"id":"e1"}'
    header = sign("s3cret", 1767603600, body)
    assert verify_signature(header, body, ["other", "s3cret"]) == 1767603600
    for bad_header, bad_body in ((header, b'{"id":"e2"}'), (sign("nope", 1767603600, body),
                                 body), ("t=1,v1=", body), (None, body)):
        with pytest.raises(Unauthenticated):
            verify_signature(bad_header, bad_body, ["s3cret"])


def test_generic_events_name_what_they_act_on() -> None:
    event = parse_generic({"id": "e1", "type": "agent.state", "agent_email": "a@x.nl",
                           "state": "available"})
    assert (event.agent_email, event.state) == ("a@x.nl", "available")
    for payload in ({"type": "agent.state"}, {"id": "e", "type": "agent.state"},
                    {"id": "e", "type": "call.answered", "call_id": "c", "queue": "q"},
                    {"id": "e", "type": "call.ringing"},
                    {"id": "e", "type": "call.completed", "call_id": "c",
                     "handle_seconds": -1}):
        with pytest.raises(InvalidInput) as caught:
            parse_generic(payload)
        assert caught.value.code == "invalid_acd_event"


def test_twilio_taskrouter_events_map_to_generic_events() -> None:
    activity = from_twilio({"EventType": "worker.activity.update", "Sid": "EV1",
                            "WorkerSid": "WK1", "WorkerActivityName": "Break"})
    assert activity is not None
    assert (activity.id, activity.type, activity.agent_external_id, activity.state) == (
        "twilio:EV1", "agent.state", "WK1", "away")
    created = from_twilio({"EventType": "task.created", "Sid": "EV2", "TaskSid": "WT1",
                           "TaskQueueName": "sales-phone",
                           "TaskAttributes": json.dumps({"from": "+31612345678"})})
    assert created is not None
    assert (created.type, created.call_id, created.queue, created.phone) == (
        "call.queued", "WT1", "sales-phone", "+31612345678")
    accepted = from_twilio({"EventType": "reservation.accepted", "Sid": "EV3",
                            "TaskSid": "WT1", "TaskQueueName": "sales-phone",
                            "WorkerSid": "WK1"})
    assert accepted is not None and accepted.type == "call.answered"
    done = from_twilio({"EventType": "task.completed", "Sid": "EV4", "TaskSid": "WT1",
                        "TaskAge": "240", "TaskAttributes": '{"outcome": "no_sale"}'})
    assert done is not None
    assert (done.type, done.handle_seconds, done.outcome) == ("call.completed", 240.0,
                                                              "no_sale")
    assert from_twilio({"EventType": "workflow.timeout", "Sid": "EV5"}) is None


def test_genesys_notifications_map_to_generic_events() -> None:
    presence = from_genesys({
        "topicName": "v2.users.u-1.presence", "metadata": {"CorrelationId": "c1"},
        "eventBody": {"presenceDefinition": {"systemPresence": "On Queue"}}})
    assert presence is not None
    assert (presence.type, presence.agent_external_id, presence.state) == (
        "agent.state", "u-1", "available")
    routing = from_genesys({"topicName": "v2.users.u-1.routingStatus",
                            "eventBody": {"id": "r1", "routingStatus": {"status": "INTERACTING"}}})
    assert routing is not None and routing.state == "busy"
    start = from_genesys({"topicName": "v2.detail.events.conversation.cv-9.acd.start",
                          "eventBody": {"id": "x1", "queueId": "q-77", "ani": "+3120"}})
    assert start is not None
    assert (start.type, start.call_id, start.queue) == ("call.queued", "cv-9", "q-77")
    abandon = from_genesys({"topicName": "v2.detail.events.conversation.cv-9.acd.end",
                            "eventBody": {"id": "x2", "queueId": "q-77",
                                          "acdOutcome": "ABANDON"}})
    assert abandon is not None and abandon.type == "call.abandoned"
    answered = from_genesys({"topicName": "v2.detail.events.conversation.cv-9.acd.end",
                             "eventBody": {"id": "x3", "queueId": "q-77",
                                           "acdOutcome": "ANSWERED"}})
    assert answered is None
    user_end = from_genesys({"topicName": "v2.detail.events.conversation.cv-9.user.end",
                             "eventBody": {"id": "x4", "userId": "u-1",
                                           "interactingDurationMs": 95000}})
    assert user_end is not None
    assert (user_end.type, user_end.handle_seconds) == ("call.completed", 95.0)
