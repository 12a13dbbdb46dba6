"""Contact-center capacity: snapshots per second beside pyworkforce's ErlangC, and read cost.

    .venv/bin/python -m bench.capacity [--queues 8] [--agents 60] [--rounds 200]
    KANAAL_TEST_REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python -m bench.capacity

Four figures, all from the same run:
1. math: the per-queue model (Erlang C wait probability, service level, average wait,
   agents required for the target, occupancy, spare minutes) with Kanaal's code, against
   pyworkforce's ErlangC computing waiting_probability, service_level and
   required_positions for the same inputs; both must agree before anything is timed;
2. refresh: a full snapshot recompute as done after every state change (read agents, queues
   and due callbacks from SQLite, compute every queue, store the JSON in the live store);
3. read: `capacity_snapshot(ctx)` as the decision engine calls it, from the in-process live
   store and, when Redis answers, from Redis;
4. the baseline for 3: one `dict` lookup of a pre-built snapshot (the floor of any read);
5. Erlang A (queues with a patience) beside Erlang C on the same queue.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from pyworkforce.queuing import ErlangC

from kanaal.config import Settings
from kanaal.contact_center import service
from kanaal.contact_center.domain import (
    Agent,
    AgentState,
    Queue,
    QueueChannel,
    QueueStats,
    queue_capacity,
)
from kanaal.contact_center.erlang import erlang_a_metrics, erlang_c_metrics, required_agents
from kanaal.core.context import AppContext, build_context
from kanaal.core.live import open_live_store
from kanaal.migrations.runner import upgrade

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def per_second(work: Callable[[], object], *, rounds: int) -> float:
    """Calls of `work` per second, best of three batches of `rounds`."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(rounds):
            work()
        best = min(best, time.perf_counter() - started)
    return rounds / best


def scenarios(queues: int, seed: int) -> list[tuple[float, float, int]]:
    """(calls per 30 minutes, handle minutes, agents) per queue, every queue stable."""
    rng = random.Random(seed)
    result = []
    for _ in range(queues):
        calls = rng.choice([40, 100, 250, 600])
        aht = rng.choice([2.0, 3.0, 5.0, 8.0])
        traffic = calls / 30 * aht
        result.append((float(calls), aht, int(traffic) + rng.randint(1, 8)))
    return result


def kanaal_math(cases: list[tuple[float, float, int]]) -> Callable[[], list[tuple[float, int]]]:
    """Kanaal's full per-queue model for every case."""
    prepared = []
    for i, (calls, aht, agents) in enumerate(cases):
        queue = Queue(id=f"q{i}", name=f"q{i}", skill="sales", channel=QueueChannel.PHONE,
                      target_service_level=0.8, target_answer_seconds=20.0,
                      patience_seconds=None, sla_seconds=900)
        stats = QueueStats(calls / 1800, NOW, aht * 60, 0)
        team = [Agent(id=f"a{j}", name="A", email="a@x", password_hash="", skills=("sales",),
                      state=AgentState.AVAILABLE, state_since=NOW,
                      concurrency={"phone": 1, "chat": 1}) for j in range(agents)]
        prepared.append((queue, stats, team))

    def run() -> list[tuple[float, int]]:
        out = []
        for queue, stats, team in prepared:
            cap = queue_capacity(queue, stats, team, queue_length=0, now=NOW,
                                 window_seconds=1e12)
            out.append((cap.service_level, cap.required_agents))
        return out

    return run


def kanaal_erlang(cases: list[tuple[float, float, int]]) -> Callable[[], list[tuple[float, int]]]:
    """Only Kanaal's queueing math (no agent counting): the like-for-like comparison."""
    def run() -> list[tuple[float, int]]:
        out = []
        for calls, aht, agents in cases:
            traffic = calls / 1800 * aht * 60
            level = erlang_c_metrics(agents, traffic, aht * 60, 20.0).service_level
            out.append((level or 0.0, required_agents(traffic, aht * 60, 20.0, 0.8)))
        return out

    return run


def pyworkforce_math(cases: list[tuple[float, float, int]]
                     ) -> Callable[[], list[tuple[float, int]]]:
    """pyworkforce's ErlangC: waiting probability, service level, required positions."""
    def run() -> list[tuple[float, int]]:
        out = []
        for calls, aht, agents in cases:
            model = ErlangC(transactions=calls, aht=aht, asa=20 / 60, interval=30)
            model.waiting_probability(agents)
            level = model.service_level(agents)
            needed = model.required_positions(service_level=0.8)["raw_positions"]
            out.append((level, int(needed)))
        return out

    return run


def seeded_context(directory: Path, queues: int, agents: int, redis_url: str | None
                   ) -> AppContext:
    """A migrated SQLite database with queues, agents (half available) and callbacks."""
    settings = Settings(database_url=f"sqlite:///{directory / 'bench.db'}", data_dir=directory,
                        redis_url=redis_url, redis_prefix=f"bench:{uuid.uuid4().hex[:8]}")
    ctx = build_context(settings, live=open_live_store(None))
    upgrade(ctx.db)
    for i in range(queues):
        channel = "callback" if i == 0 else ("chat" if i % 3 == 0 else "phone")
        service.create_queue(ctx, name=f"queue-{i}", skill=f"skill{i % 4}", channel=channel,
                             arrival_rate_per_minute=2.0 + i)
    for j in range(agents):
        agent = service.create_agent(ctx, name=f"Agent {j}", email=f"a{j}@bench.nl",
                                     password="bench password", skills=[f"skill{j % 4}"],
                                     concurrency={"chat": 3})
        if j % 2 == 0:
            service.set_agent_state(ctx, agent.id, "available")
    for k in range(20):
        service.create_callback(ctx, customer_id=None, phone=f"06123456{k:02d}",
                                queue="queue-0", slot_start=None, context={})
    return ctx


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--queues", type=int, default=8)
    parser.add_argument("--agents", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    cases = scenarios(args.queues, args.seed)
    ours, math_only, theirs = kanaal_math(cases), kanaal_erlang(cases), pyworkforce_math(cases)
    for mine, only, ref in zip(ours(), math_only(), theirs(), strict=True):
        assert abs(mine[0] - ref[0]) < 1e-9 and mine[1] == ref[1], "models disagree"
        assert abs(only[0] - ref[0]) < 1e-9 and only[1] == ref[1], "models disagree"
    theirs_rate = per_second(theirs, rounds=args.rounds)
    only_rate = per_second(math_only, rounds=args.rounds)
    ours_rate = per_second(ours, rounds=args.rounds)
    print(f"math, {args.queues} queues per snapshot (same inputs, results checked equal):")
    print(f"  pyworkforce ErlangC (wait, SL, required)  {theirs_rate:8.0f} snapshots/s")
    print(f"  kanaal erlang (wait, SL, ASA, required)   {only_rate:8.0f} snapshots/s"
          f"  ratio {only_rate / theirs_rate:.2f}x")
    print(f"  kanaal queue_capacity (+ agent counting,  {ours_rate:8.0f} snapshots/s"
          f"  ratio {ours_rate / theirs_rate:.2f}x")
    print("    occupancy, spare minutes)")

    print("Erlang A (patience 60 s) beside Erlang C, one evaluation each:")
    for agents, traffic in ((12, 10.0), (110, 100.0), (480, 500.0)):
        c_rate = per_second(partial(erlang_c_metrics, agents, traffic, 300.0, 20.0),
                            rounds=200)
        a_rate = per_second(partial(erlang_a_metrics, agents, traffic, 300.0, 20.0, 60.0),
                            rounds=5)
        print(f"  {agents:4d} agents, {traffic:5.0f} Erlangs: C {1000 / c_rate:8.3f} ms, "
              f"A {1000 / a_rate:8.3f} ms ({c_rate / a_rate:.0f}x)")
    started = time.perf_counter()
    needed = required_agents(500.0, 300.0, 20.0, 0.8, 60.0)
    print(f"  Erlang A agents required for 500 Erlangs: {needed} in "
          f"{(time.perf_counter() - started) * 1000:.0f} ms")

    redis_url = os.environ.get("KANAAL_TEST_REDIS_URL")
    with tempfile.TemporaryDirectory() as tmp:
        ctx = seeded_context(Path(tmp), args.queues, args.agents, None)
        refresh = per_second(lambda: service.refresh_capacity(ctx), rounds=max(20,
                                                                            args.rounds // 4))
        print(f"refresh (SQLite read + compute + store), {args.queues} queues, "
              f"{args.agents} agents: {refresh:8.0f} snapshots/s "
              f"({1000 / refresh:.2f} ms each)")
        read_memory = per_second(lambda: service.capacity_snapshot(ctx), rounds=args.rounds * 20)
        prebuilt = {"snapshot": service.capacity_snapshot(ctx)}
        floor = per_second(lambda: prebuilt["snapshot"], rounds=args.rounds * 20)
        print(f"read capacity_snapshot(ctx), in-process live store: "
              f"{1e6 / read_memory:8.1f} us per read")
        print(f"  baseline dict lookup of a pre-built snapshot: {1e6 / floor:8.3f} us per read")
        print(f"  read / refresh cost: {refresh / read_memory:.4f} "
              f"(a read costs {100 * refresh / read_memory:.2f}% of a recompute)")
        if redis_url:
            try:
                shared = build_context(ctx.settings.model_copy(update={"redis_url": redis_url}))
                service.refresh_capacity(shared)
                read_redis = per_second(lambda: service.capacity_snapshot(shared),
                                        rounds=args.rounds * 5)
                print(f"read capacity_snapshot(ctx), Redis live store: "
                      f"{1e6 / read_redis:8.1f} us per read "
                      f"({read_memory / read_redis:.1f}x the in-process read)")
                shared.live.delete("contact_center:capacity")
                shared.live.delete("contact_center:capacity:version")
                shared.live.delete("contact_center:capacity#order")  # its ordering hash
                shared.db.dispose()
            except Exception as exc:  # noqa: BLE001 - Redis is optional for this script
                print(f"Redis read skipped: {exc}")
        ctx.db.dispose()


if __name__ == "__main__":
    main()
