"""Reservation throughput on PostgreSQL beside a plain single-row UPDATE loop, and overselling.

    .venv/bin/python -m bench.inventory [--seconds 5] [--skus 100] [--clients 1,8,32]

A fresh PostgreSQL schema (KANAAL_BENCH_DATABASE_URL, default the test database), migrated;
two locations, one channel drawing on both, `--skus` variants stocked at both locations.

For each client count (threads in this process, each with its own pooled connection):

1. baseline: a plain loop of `UPDATE bench_counter SET n = n + 1 WHERE id = :random_row`,
   one transaction per statement, over as many rows as there are skus: the floor cost of a
   committed single-row write on this machine, measured in the same run.
2. reservations: `kanaal.inventory.service.reserve_in` for 1 unit of a random sku through
   `ctx.db.run` (row locks in location order, conditional UPDATE, reservation and lines,
   movement log, outbox event, commit, retries).

Then the oversell race: 32 clients make 2,000 attempts on the last 50 units of one sku spread
over the two locations; oversold = successful units - 50 (must be 0), and the ledger must add
up. Goal: >= 500 reservations/s with 32 clients.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import create_engine, text
from tests.support.inventory import ledger_problems, ledger_rows

from kanaal.catalog import service as catalog
from kanaal.channels import service as channels
from kanaal.channels.domain import Channel
from kanaal.config import Settings
from kanaal.core.context import AppContext, build_context
from kanaal.core.errors import Conflict
from kanaal.core.live import open_live_store
from kanaal.inventory import service
from kanaal.migrations.runner import upgrade

PG_URL = os.environ.get("KANAAL_BENCH_DATABASE_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")
GOAL = 500.0


@dataclass(frozen=True)
class Job:
    """One timed measurement run by one process: `threads` clients doing `kind` steps."""

    schema: str
    kind: str  # "update" or "reserve"
    skus: tuple[str, ...]
    channel: Channel
    threads: int
    seconds: float


def context_for(schema: str) -> AppContext:
    """An application context on the bench schema."""
    settings = Settings(database_url=PG_URL, database_schema=schema, auto_migrate=False)
    return build_context(settings, live=open_live_store(None))


def step_for(ctx: AppContext, job: Job) -> Callable[[random.Random], bool]:
    """One client action: a plain committed UPDATE, or a 1-unit reservation of a random sku."""

    def plain_update(rng: random.Random) -> bool:
        with ctx.db.transaction() as session:
            session.execute(text("UPDATE bench_counter SET n = n + 1 WHERE id = :i"),
                            {"i": rng.randrange(len(job.skus))})
        return True

    def reserve(rng: random.Random) -> bool:
        return reserve_one(ctx, job.channel, rng.choice(job.skus))

    return plain_update if job.kind == "update" else reserve


def reserve_one(ctx: AppContext, channel: Channel, sku: str) -> bool:
    """Reserve one unit; False when refused for lack of stock."""
    try:
        ctx.db.run(lambda s: service.reserve_in(s, ctx, sku=sku, quantity=1, channel=channel,
                                                ttl_seconds=900))
    except Conflict:
        return False
    return True


def timed_loop(clients: int, seconds: float, step: Callable[[random.Random], bool],
               go: Any = None) -> float:
    """Run `step` in `clients` threads for `seconds` (after `go` is set); returns steps/s."""
    done = [0] * clients
    start = threading.Barrier(clients + 1)
    stop = threading.Event()

    def worker(index: int) -> None:
        rng = random.Random(index * 7919 + os.getpid())
        start.wait()
        while not stop.is_set():
            done[index] += int(step(rng))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    if go is not None:
        go.wait()
    start.wait()
    began = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    return sum(done) / (time.perf_counter() - began)


def cpu_per_step(ctx: AppContext, job: Job, steps: int = 300) -> float:
    """Milliseconds of this process's CPU per step (steadier than wall time on a busy box)."""
    step, rng = step_for(ctx, job), random.Random(1)
    began = time.process_time()
    for _ in range(steps):
        step(rng)
    return (time.process_time() - began) / steps * 1000


def run_job(job: Job, ready: Any, go: Any, results: Any) -> None:
    """Process entry point: warm up, say ready, run when told, report the rate."""
    ctx = context_for(job.schema)
    step = step_for(ctx, job)
    timed_loop(job.threads, 0.2, step)  # open the connections before timing
    ready.put(os.getpid())
    results.put(timed_loop(job.threads, job.seconds, step, go))
    ctx.db.dispose()


def measure(job: Job, processes: int) -> float:
    """Steps/s of `job.threads` clients spread over `processes` worker processes."""
    spawn = multiprocessing.get_context("spawn")
    ready, results, go = spawn.Queue(), spawn.Queue(), spawn.Event()
    count = max(1, min(processes, job.threads))
    shares = [job.threads // count + (1 if i < job.threads % count else 0) for i in range(count)]
    workers = [spawn.Process(target=run_job, args=(replace(job, threads=n), ready, go, results))
               for n in shares]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.get(timeout=120)
    go.set()
    total = sum(results.get(timeout=job.seconds + 120) for _ in workers)
    for worker in workers:
        worker.join()
    return float(total)


def make_world(ctx: AppContext, skus: int) -> tuple[Channel, list[str], list[str]]:
    """Two locations, a channel over both and `skus` stocked variants."""
    places = [service.create_location(ctx, name=name, kind=kind, latitude=lat, longitude=lon,
                                      address=name).id
              for name, kind, lat, lon in (("Warehouse", "warehouse", 51.56, 5.09),
                                           ("Store", "store", 52.09, 5.12))]
    channel = channels.create_channel(ctx, {
        "handle": "bench-web", "name": "bench web", "kind": "web", "currency": "EUR",
        "location_ids": places})
    names = [f"BENCH-{i:04d}" for i in range(skus)] + ["BENCH-HOT"]
    catalog.create_product(ctx, {
        "handle": "bench", "title": "Bench", "variants": [
            {"sku": sku, "title": sku, "cost_price": Decimal("1.00"), "currency": "EUR"}
            for sku in names]})
    for sku in names[:-1]:
        for place in places:
            service.set_stock(ctx, sku=sku, location_id=place, on_hand=1_000_000)
    service.set_stock(ctx, sku="BENCH-HOT", location_id=places[0], on_hand=30)
    service.set_stock(ctx, sku="BENCH-HOT", location_id=places[1], on_hand=20)
    return channel, names[:-1], places


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--skus", type=int, default=100)
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1,
                        help="worker processes the clients are spread over (like N x serve)")
    args = parser.parse_args()
    counts = [int(c) for c in args.clients.split(",")]
    schema = f"bench_inv_{uuid.uuid4().hex[:8]}"
    ctx = context_for(schema)
    admin = create_engine(PG_URL)
    try:
        upgrade(ctx.db)
        channel, skus, _ = make_world(ctx, args.skus)
        with ctx.db.transaction() as session:
            session.execute(text("CREATE TABLE bench_counter (id int PRIMARY KEY, n int)"))
            session.execute(text("INSERT INTO bench_counter SELECT g, 0 FROM "
                                 "generate_series(0, :n) g"), {"n": len(skus) - 1})
        print(f"PostgreSQL, {args.skus} skus x 2 locations, {args.seconds:.0f} s per figure, "
              f"{os.cpu_count()} CPUs, clients spread over up to {args.processes} processes, "
              f"load average {os.getloadavg()[0]:.1f}")
        print(f"{'clients':>7} {'UPDATE/s':>10} {'reservations/s':>15} {'ratio':>7}")
        at_most: dict[int, float] = {}
        for clients in counts:
            job = Job(schema, "update", tuple(skus), channel, clients, args.seconds)
            baseline = measure(job, args.processes)
            reservations = measure(replace(job, kind="reserve"), args.processes)
            at_most[clients] = reservations
            print(f"{clients:>7} {baseline:>10.0f} {reservations:>15.0f} "
                  f"{reservations / baseline:>7.2f}")

        cpu = {kind: cpu_per_step(ctx, replace(job, kind=kind)) for kind in ("update", "reserve")}
        print(f"CPU per step in this process (1 client, 300 steps): UPDATE "
              f"{cpu['update']:.2f} ms, reservation {cpu['reserve']:.2f} ms "
              f"({cpu['reserve'] / cpu['update']:.1f}x)")

        with ThreadPoolExecutor(32) as pool:
            wins = sum(pool.map(lambda _: reserve_one(ctx, channel, "BENCH-HOT"), range(2_000)))
        rows = ledger_rows(ctx, "BENCH-HOT")
        reserved = sum(level.reserved for level in rows.values())
        problems = ledger_problems(ctx, "BENCH-HOT")
        print(f"oversell race: 32 clients, 2000 attempts on the last 50 units over 2 locations: "
              f"{wins} succeeded, {reserved} units reserved, oversold = {max(0, reserved - 50)}, "
              f"ledger {'adds up' if not problems else problems}")
        top = at_most.get(32)
        if top is not None:
            print(f"goal >= {GOAL:.0f} reservations/s with 32 clients: "
                  f"{'met' if top >= GOAL else 'NOT met'} ({top:.0f}/s)")
    finally:
        ctx.db.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
