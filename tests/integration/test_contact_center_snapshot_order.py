"""A capacity snapshot read before a change never replaces the one read after it.

A refresh (the periodic worker) reads the database, then, before it stores its snapshot,
another worker commits an agent's state change and stores the snapshot computed after it. The
first refresh's store must then leave the newer snapshot in place: in one process on the
in-process live store, and across processes sharing Redis.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from kanaal.config import Settings
from kanaal.contact_center import capacity, service
from kanaal.core.clock import ManualClock
from kanaal.core.context import AppContext, build_context
from kanaal.core.live import LiveStore

PASSWORD = "correct horse battery"


class _ChangeBeforeStore:
    """A live store whose first snapshot write first lets another worker change and refresh.

    Stands between a refresh's database read and its snapshot write, as a slow periodic
    refresh does while an agent's change lands elsewhere.
    """

    def __init__(self, live: LiveStore, change: Callable[[], None]) -> None:
        self.live = live
        self.change: Callable[[], None] | None = change
        self.read: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.live, name)

    def _before_store(self, key: str, value: Any) -> None:
        if key == capacity.SNAPSHOT_KEY and self.change is not None:
            change, self.change = self.change, None
            self.read.append(value["queues"]["sales-phone"]["available_agents"])
            change()

    def put_json(self, key: str, value: Any, **options: Any) -> None:
        self._before_store(key, value)
        self.live.put_json(key, value, **options)

    def put_json_if_newer(self, key: str, value: Any, **options: Any) -> bool:
        self._before_store(key, value)
        return self.live.put_json_if_newer(key, value, **options)


def _queue_and_offline_agent(ctx: AppContext) -> str:
    service.create_queue(ctx, name="sales-phone", skill="sales", channel="phone")
    agent = service.create_agent(ctx, name="Ann", email="ann@x.nl", password=PASSWORD,
                                 skills=["sales"])
    return agent.id


@pytest.fixture
def other_worker(ctx: AppContext, clock: ManualClock) -> Iterator[AppContext]:
    """A second worker in this process: same database, same live store, its own caches."""
    other = build_context(ctx.settings, clock=clock, live=ctx.live)
    yield other
    other.db.dispose()


# Not pytest-timeout's default: a refresh that waited for another one would hang here.
@pytest.mark.timeout(120)
@pytest.mark.parametrize("clock_step", [timedelta(0), timedelta(minutes=-1)],
                         ids=["same-instant", "clock-set-back"])
def test_a_refresh_that_read_before_a_change_keeps_the_snapshot_after_it(
    ctx: AppContext, other_worker: AppContext, clock: ManualClock, clock_step: timedelta,
) -> None:
    agent_id = _queue_and_offline_agent(ctx)
    shared = ctx.live

    def change_elsewhere() -> None:
        # The clock does not move forward: ordering must not come from it.
        clock.set(clock.now() + clock_step)
        service.set_agent_state(other_worker, agent_id, "available")

    slow = _ChangeBeforeStore(shared, change_elsewhere)
    ctx.live = slow
    try:
        returned = service.refresh_capacity(ctx)
    finally:
        ctx.live = shared
    assert slow.read == [0]  # this refresh read the database before the change
    # Its write was refused, and it answers with the live (newer) snapshot, not its own.
    assert returned["sales-phone"].available_agents == 1
    for worker in (ctx, other_worker):
        assert service.capacity_snapshot(worker)["sales-phone"].available_agents == 1
    # The next refresh, at the same clock instant, still replaces it.
    service.set_agent_state(ctx, agent_id, "away")
    assert service.capacity_snapshot(other_worker)["sales-phone"].available_agents == 0


# The slow refresh in its own process: its snapshot write waits for a line on stdin.
_SLOW_WORKER = """
import sys
from datetime import datetime

from kanaal.config import Settings
from kanaal.contact_center import capacity
from kanaal.core.clock import ManualClock
from kanaal.core.context import build_context

settings = Settings.model_validate_json(sys.argv[1])
ctx = build_context(settings, clock=ManualClock(datetime.fromisoformat(sys.argv[2])))
live = ctx.live


class PausedBeforeStore:
    def __getattr__(self, name):
        return getattr(live, name)

    def _pause(self, key, value):
        if key == capacity.SNAPSHOT_KEY:
            print(value["queues"]["sales-phone"]["available_agents"], flush=True)
            sys.stdin.readline()

    def put_json(self, key, value, **options):
        self._pause(key, value)
        return live.put_json(key, value, **options)

    def put_json_if_newer(self, key, value, **options):
        self._pause(key, value)
        return live.put_json_if_newer(key, value, **options)


ctx.live = PausedBeforeStore()
capacity.refresh_capacity(ctx)
ctx.db.dispose()
"""


@pytest.mark.redis
@pytest.mark.slow
def test_a_slower_process_does_not_store_its_older_snapshot_over_a_newer_one(
    db_settings: Settings, redis_url: str, redis_prefix: str, clock: ManualClock,
    tmp_path: Path,
) -> None:
    settings = db_settings.model_copy(update={"redis_url": redis_url,
                                              "redis_prefix": redis_prefix})
    worker = build_context(settings, clock=clock)
    try:
        agent_id = _queue_and_offline_agent(worker)
        slow = subprocess.Popen(
            [sys.executable, "-c", _SLOW_WORKER,
             settings.model_dump_json(include={"database_url", "database_schema", "redis_url",
                                               "redis_prefix", "data_dir"}),
             clock.now().isoformat()],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            cwd=tmp_path)
        try:
            assert slow.stdout is not None
            read = slow.stdout.readline()  # the slow process has read: none available
            if not read:
                pytest.fail(f"the slow process ended early: {slow.communicate()[1]}")
            assert read.strip() == "0"
            service.set_agent_state(worker, agent_id, "available")  # commit, then refresh
            assert service.capacity_snapshot(worker)["sales-phone"].available_agents == 1
            _, errors = slow.communicate("store now\n", timeout=120)
        finally:
            if slow.poll() is None:
                slow.kill()
                slow.wait()
        assert slow.returncode == 0, errors
        # The slow process stored after the change, yet every worker still sees it.
        assert service.capacity_snapshot(worker)["sales-phone"].available_agents == 1
        third = build_context(settings, clock=clock)
        try:
            assert service.capacity_snapshot(third)["sales-phone"].available_agents == 1
            assert service.snapshot_computed_at(third) == clock.now().isoformat()
        finally:
            third.db.dispose()
    finally:
        worker.db.dispose()
