"""Two app instances on one PostgreSQL and one Redis share the live capacity snapshot."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from kanaal.config import Settings
from kanaal.contact_center import service
from kanaal.core.context import AppContext, build_context
from tests.conftest import issue_test_keys
from tests.support.contact_center import add_agent, add_queue, capacity_of, set_state

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def two_workers(pg_db_settings: Settings, redis_url: str, redis_prefix: str
                ) -> Iterator[tuple[AppContext, AppContext]]:
    settings = pg_db_settings.model_copy(update={"redis_url": redis_url,
                                                 "redis_prefix": redis_prefix})
    first, second = build_context(settings), build_context(settings)
    yield first, second
    for context in (first, second):
        context.db.dispose()


def _next_message(listener: Any) -> dict[str, Any] | None:
    """The first published message, waiting up to ten seconds (skips subscribe replies)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        message = listener.get_message(timeout=0.5)
        if message is not None:
            return dict(message)
    return None


def test_a_state_change_through_one_worker_is_seen_by_the_other(
    two_workers: tuple[AppContext, AppContext], redis_url: str, redis_prefix: str,
    make_client: Callable[[AppContext], TestClient],
) -> None:
    first, second = two_workers
    keys = issue_test_keys(first)
    one, two = make_client(first), make_client(second)
    add_queue(one, keys.admin)
    agent = add_agent(one, keys.admin, "ann@x.nl")
    listener = redis.Redis.from_url(redis_url, decode_responses=True).pubsub(
        ignore_subscribe_messages=True)
    listener.subscribe(f"{redis_prefix}:contact_center")
    try:
        assert capacity_of(two, keys.read, "sales-phone")["available_agents"] == 0
        assert set_state(one, keys.writer, agent["id"], "available").status_code == 200
        assert capacity_of(two, keys.read, "sales-phone")["available_agents"] == 1
        assert service.capacity_snapshot(second)["sales-phone"].available_agents == 1
        message = _next_message(listener)
    finally:
        listener.close()
    assert message is not None, "no live message reached Redis"
    assert json.loads(message["data"]) == {"type": "agent.state", "agent_id": agent["id"],
                                           "state": "available", "previous": "offline"}
