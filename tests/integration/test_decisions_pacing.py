"""Two app instances on one PostgreSQL and one Redis draw from one pacing budget per queue."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from kanaal.config import Settings
from kanaal.core.clock import ManualClock
from kanaal.core.context import AppContext, build_context
from kanaal.core.live import open_live_store
from kanaal.decisions import store
from kanaal.decisions.domain import QueueView
from kanaal.decisions.service import runtime
from tests.conftest import issue_test_keys
from tests.integration.test_decisions_api import PERSUADABLE, StaticCapacity

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

# One agent with 8 spare minutes in the next 15 and 8-minute calls: one accepted contact per
# 15 minutes, a burst of one contact. An invitation takes P(accept) of it.
SCARCE = {"sales": QueueView(queue="sales", channel="phone", available_agents=1,
                             queue_length=0, handle_time_seconds=480.0,
                             predicted_wait_seconds=0.0, target_answer_seconds=20.0,
                             over_target=False, spare_agent_minutes_15=8.0)}


def instance(settings: Settings, clock: ManualClock, *, redis: bool) -> AppContext:
    """An app context as a separate worker process would build it."""
    context = build_context(settings, clock=clock,
                            live=None if redis else open_live_store(None))
    context.business["decisions"] = {"explore": False, "experiment": {"holdout_share": 0.0},
                                     "caps": {"per_session": 100, "per_day": 100}}
    context.state["decisions.capacity"] = StaticCapacity(SCARCE)
    return context


def ask(client: TestClient, key: str, n: int) -> dict[str, Any]:
    auth = {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
    body = {**PERSUADABLE, "anonymousId": f"anon-{n}",
            "allowed_actions": ["show_phone", "call_now", "callback_offer"]}
    response = client.post("/v1/decisions", json=body, headers=auth)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_two_instances_share_one_pacing_budget(
    pg_db_settings: Settings, redis_url: str, redis_prefix: str, clock: ManualClock,
    make_client: Callable[[AppContext], TestClient],
) -> None:
    settings = pg_db_settings.model_copy(update={"redis_url": redis_url,
                                                 "redis_prefix": redis_prefix})
    a, b = instance(settings, clock, redis=True), instance(settings, clock, redis=True)
    key = issue_test_keys(a).write
    clients = [make_client(a), make_client(b)]
    answers = [ask(clients[n % 2], key, n) for n in range(30)]
    invited = [n for n, body in enumerate(answers) if body["action"]["queue"] == "sales"]
    assert invited[0] == 0 and 1 in invited  # both instances drew from the budget
    # Once the shared budget is spent, neither instance invites any more.
    assert invited == list(range(len(invited)))
    assert 9 <= len(invited) <= 20  # 10 callbacks at P(accept) 10% fill one contact
    assert "callback_offer not offered: pacing budget of queue sales is spent" in (
        answers[-1]["reasons"])
    # The expected accepted contacts of all invitations fit in the one-contact budget.
    for context in (a, b):
        runtime(context).log.flush(context.db)
    with a.db.reader() as session:
        rows = session.execute(select(store.decisions.c.scores).where(
            store.decisions.c.queue == "sales")).scalars().all()
    assert len(rows) == len(invited)
    assert sum(scores[0]["p_accept"] for scores in rows) <= 1.0 + 1e-9
    # A worker with its own in-memory budget would still invite: the budget above was shared.
    alone = instance(settings, clock, redis=False)
    assert ask(make_client(alone), key, 99)["action"]["queue"] == "sales"
