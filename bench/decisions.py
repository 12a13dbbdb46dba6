"""Decision engine speed: in-process decisions/s and HTTP latency beside GET /healthz.

    .venv/bin/python -m bench.decisions [--decisions 20000] [--seconds 20] [--rate 200]
                                        [--rounds 1] [--no-http]

1. engine: `kanaal.decisions.engine.decide` (pure core: features -> buckets -> Thompson draws
   -> economics of every candidate -> policy -> pacing callback -> reasons) on 1,000 varied
   synthetic contexts, one core. Goal >= 10,000 decisions/s.
2. service: `kanaal.decisions.service.make_decision` in-process on SQLite (identity lookup,
   timeline read, margin, capacity snapshot, caps and pacing in the live store, background
   log queue), beside the pure engine: with a new visitor on every decision (every read
   misses the worker's read cache), with 8 decisions per visitor (7 of 8 hit), and with
   every read a hit (visitors prewarmed: the hot path alone).
3. HTTP: a real uvicorn (`kanaal.app:create_app`) on a migrated SQLite with a staffed contact
   center (uvloop, httptools, one worker); 16 client connections send POST /v1/decisions
   open-loop at `--rate` requests/s for visitors drawn from 20,000 (mostly read-cache misses)
   while one more probes GET /healthz at 20/s in the same run. The load generator is one
   asyncio loop in a fresh process (aiohttp), so client-side thread and GC pauses
   do not count as server latency. Goals: decisions p99 <= 15 ms
   and p50 <= 3x the healthz p50.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import concurrent.futures
import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from tests.support.server import free_port

from kanaal.collect.service import record_event
from kanaal.config import Settings
from kanaal.contact_center import service as cc
from kanaal.core.auth import KeyKind, SourceKind
from kanaal.core.context import AppContext, build_context
from kanaal.core.keys import issue_key
from kanaal.core.live import open_live_store
from kanaal.decisions.capacity_price import view_from
from kanaal.decisions.domain import ALL_ACTIONS, DecisionContext
from kanaal.decisions.engine import EngineParams, decide
from kanaal.decisions.learning import BetaModel
from kanaal.decisions.service import make_decision, runtime
from kanaal.migrations.runner import upgrade

PAGES = ["home", "category", "product", "cart", "checkout"]
CHANNELS = ["web", "web", "web", "mobile", "store", "publisher", "chat"]


def request_body(rng: random.Random, n: int) -> dict[str, Any]:
    """A synthetic decision request."""
    price = round(rng.uniform(20, 900), 2)
    quantity = rng.randint(1, 3)
    items = [{"sku": f"SKU-{rng.randrange(500)}", "quantity": quantity, "price": str(price)}] \
        if rng.random() < 0.5 else []
    return {
        "anonymousId": f"anon-{n}", "channel": rng.choice(CHANNELS),
        "context": {"page": {"type": rng.choice(PAGES), "url": "https://shop.example/p"},
                    "cart": {"value": str(round(price * quantity, 2)) if items else "0",
                             "currency": "EUR", "items": items},
                    "product": {"sku": f"SKU-{rng.randrange(500)}"},
                    "session": {"pageviews": rng.randint(1, 20),
                                "seconds_on_site": rng.randint(5, 900),
                                "is_returning": rng.random() < 0.3},
                    "store_id": "loc_1" if rng.random() < 0.1 else None},
    }


def make_world(directory: Path) -> tuple[Settings, str]:
    """A migrated SQLite with a staffed contact center, a write key and timelines for one
    visitor in ten (anon-0, anon-10, ... anon-9990)."""
    directory.mkdir(parents=True, exist_ok=True)
    settings = Settings(database_url=f"sqlite:///{directory / 'kanaal.db'}", data_dir=directory,
                        auto_migrate=False)
    ctx = build_context(settings, live=open_live_store(None))
    upgrade(ctx.db)
    cc.create_queue(ctx, name="sales", skill="sales", channel="phone", handle_time_seconds=420)
    cc.create_queue(ctx, name="chat", skill="sales", channel="chat", handle_time_seconds=420)
    for n in range(4):
        agent = cc.create_agent(ctx, name=f"Agent {n}", email=f"agent{n}@example.com",
                                password="correct horse battery", skills=["sales"])
        cc.set_agent_state(ctx, agent.id, "available")
    with ctx.db.transaction() as session:
        for n in range(0, 10_000, 10):
            record_event(session, ctx, event="Product Viewed", channel="web", source="web",
                         identities={"anonymous_id": f"anon-{n}"},
                         properties={"sku": f"SKU-{n % 500}"})
    key = issue_key(ctx.db, source_name="web", source_kind=SourceKind.WEB, kind=KeyKind.WRITE,
                    scopes=frozenset(), ids=ctx.ids, clock=ctx.clock).raw
    ctx.db.dispose()
    return settings, key


def bench_engine(count: int, ctx: AppContext) -> float:
    """Pure engine decisions/s with Thompson sampling and live capacity views."""
    rng = random.Random(3)
    views = {name: view_from(cap) for name, cap in cc.capacity_snapshot(ctx).items()}
    contexts = [DecisionContext(
        channel=rng.choice(CHANNELS), page_type=rng.choice(PAGES), pageviews=rng.randint(1, 20),
        seconds_on_site=rng.uniform(5, 900), is_returning=rng.random() < 0.3,
        cart_value=rng.uniform(0, 1500), cart_items=rng.randint(0, 3),
        margin=rng.uniform(5, 400), store_id="loc_1" if rng.random() < 0.1 else None,
        browsed_product_online=rng.random() < 0.1, allowed=frozenset(ALL_ACTIONS))
        for _ in range(1000)]
    model, params, thompson = BetaModel(), EngineParams(), random.Random(5)
    started = time.perf_counter()
    for n in range(count):
        decide(contexts[n % 1000], model=model, queues=views, params=params,
               pace=lambda _view, _cost: True, rng=thompson)
    return count / (time.perf_counter() - started)


def bench_service(count: int, ctx: AppContext, *, repeats: int, first: int = 0,
                  prewarm: bool = False) -> float:
    """make_decision/s in-process on SQLite (the log is flushed outside the timing).

    `repeats` decisions per visitor, interleaved (visitor n % (count / repeats)): 1 means a
    new visitor every time, so every identity and timeline read misses the worker's read
    cache; 8 is a visitor deciding on each of 8 page views, all within the cache's TTL
    (the bench runs faster than 5 s per round). `prewarm` decides once for every visitor
    before the timing, so the timed decisions all hit the cache (the hot path alone)."""
    rng = random.Random(4 + first)
    visitors = max(1, count // repeats)
    bodies = [request_body(rng, first + n % visitors) for n in range(count)]
    for body in bodies[:visitors] if prewarm else []:
        make_decision(ctx, body)
    started = time.perf_counter()
    for body in bodies:
        make_decision(ctx, body)
    elapsed = time.perf_counter() - started
    runtime(ctx).log.flush(ctx.db)
    return count / elapsed


def percentile(values: list[float], share: float) -> float:
    """The `share` percentile (nearest rank) in milliseconds."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


def bench_http(settings: Settings, key: str, seconds: float, rate: float, clients: int
               ) -> dict[str, Any]:
    """Open-loop POST /v1/decisions at `rate`/s over `clients` connections, healthz beside it."""
    port = free_port()
    env = {**os.environ, "KANAAL_DATABASE_URL": settings.sqlalchemy_url(),
           "KANAAL_DATA_DIR": str(settings.data_dir), "KANAAL_AUTO_MIGRATE": "false",
           "KANAAL_LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "kanaal.app:create_app", "--factory", "--host",
         "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning",
         "--loop", "uvloop", "--http", "httptools"],
        env=env)
    url = f"http://127.0.0.1:{port}"
    auth = {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
    try:
        deadline = time.monotonic() + 180
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"the server exited with code {server.returncode}")
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        # The load runs in a fresh process with one asyncio loop (no client threads fighting
        # over a GIL, no garbage from the in-process rounds): what it times is the server.
        spawn = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(1, mp_context=spawn) as pool:
            measured = pool.submit(run_load, url, auth, seconds, rate, clients).result()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return measured


def run_load(url: str, auth: dict[str, str], seconds: float, rate: float, clients: int
             ) -> dict[str, Any]:
    """The open-loop load of `bench_http`, run in its own process."""
    return asyncio.run(_load(url, auth, seconds, rate, clients))


async def _load(url: str, auth: dict[str, str], seconds: float, rate: float, clients: int
                ) -> dict[str, Any]:
    """`clients` connections each POST /v1/decisions on their own schedule (together `rate`
    per second, whatever the answers take: open loop) and one more GETs /healthz at 20/s.
    aiohttp: its C HTTP parser keeps the client's own time per request small."""
    results: dict[str, list[float]] = {"decide": [], "healthz": []}
    errors = 0
    connector = aiohttp.TCPConnector(limit=clients + 1)
    async with aiohttp.ClientSession(url, headers=auth, connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=10)) as http:
        rng = random.Random(9)
        for n in range(200):
            async with http.post("/v1/decisions", json=request_body(rng, 100_000 + n)) as r:
                r.raise_for_status()
                await r.read()
        start = time.perf_counter() + 0.2

        async def client(index: int, path: str, per_second: float, count: int) -> None:
            nonlocal errors
            local = random.Random(index)
            for n in range(count):
                body = json.dumps(request_body(local, local.randrange(20_000))) \
                    if path == "decide" else None
                due = start + index / (per_second * clients) + n / per_second
                pause = due - time.perf_counter()
                if pause > 0:
                    await asyncio.sleep(pause)
                began = time.perf_counter()
                request = http.post("/v1/decisions", data=body, headers=JSON) \
                    if body is not None else http.get("/healthz")
                async with request as response:
                    await response.read()
                results[path].append(time.perf_counter() - began)
                errors += int(response.status != 200)

        per_client = rate / clients
        tasks = [client(i, "decide", per_client, int(per_client * seconds))
                 for i in range(clients)]
        tasks.append(client(clients, "healthz", 20.0, int(20 * seconds)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    return {"decide": results["decide"], "healthz": results["healthz"], "errors": errors,
            "achieved": len(results["decide"]) / elapsed}


JSON = {"Content-Type": "application/json"}


def reference_loop_us() -> float:
    """Microseconds for sum(range(1000)): how fast (or loaded) this machine is right now."""
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(2000):
            sum(range(1000))
        best = min(best, (time.perf_counter() - started) / 2000)
    return best * 1e6


def main() -> None:
    """Run the three measurements and print the figures and ratios."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=1,
                        help="in-process rounds; the best of each figure is printed")
    parser.add_argument("--no-http", action="store_true", help="in-process figures only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings, key = make_world(Path(tmp) / "world")
        reference = reference_loop_us()
        engine = warm = cold = hot = 0.0
        for _ in range(args.rounds):  # best of interleaved rounds: the quietest moment
            # A fresh worker (caches, caps, model) per round, so every round is the same work.
            ctx = build_context(settings, live=open_live_store(None))
            engine = max(engine, bench_engine(args.decisions, ctx))
            warm = max(warm, bench_service(min(args.decisions, 5000), ctx, repeats=8))
            cold = max(cold, bench_service(min(args.decisions, 5000), ctx, repeats=1,
                                           first=5000))
            hot = max(hot, bench_service(min(args.decisions, 5000), ctx, repeats=8,
                                         first=1000, prewarm=True))
            ctx.db.dispose()
        http = None if args.no_http else bench_http(settings, key, args.seconds, args.rate,
                                                     args.clients)
    print(f"reference loop sum(range(1000)): {reference:.1f} us (machine speed in this run); "
          f"one engine decision = {1e6 / engine / reference:.1f} reference loops")
    print(f"engine (pure, Thompson sampling): {engine:,.0f} decisions/s "
          f"(goal >= 10,000: {'met' if engine >= 10_000 else 'NOT met'})")
    print(f"service in-process (SQLite), new visitor each time (read cache misses): "
          f"{cold:,.0f} decisions/s ({cold / engine:.2f}x the pure engine)")
    print(f"service in-process (SQLite), 8 decisions per visitor (7 of 8 hit the cache): "
          f"{warm:,.0f} decisions/s ({warm / engine:.2f}x the pure engine; goal >= 10,000: "
          f"{'met' if warm >= 10_000 else 'NOT met'})")
    print(f"service in-process (SQLite), every read a cache hit (prewarmed): "
          f"{hot:,.0f} decisions/s ({hot / engine:.2f}x the pure engine; goal >= 10,000: "
          f"{'met' if hot >= 10_000 else 'NOT met'})")
    if http is not None:
        print_http(http, args.clients)


def print_http(http: dict[str, Any], clients: int) -> None:
    """The HTTP figures against the healthz baseline of the same run."""
    d50, d99 = percentile(http["decide"], 0.50), percentile(http["decide"], 0.99)
    h50, h99 = percentile(http["healthz"], 0.50), percentile(http["healthz"], 0.99)
    print(f"HTTP at {http['achieved']:.0f} req/s from {clients} clients, "
          f"{len(http['decide'])} decisions, {http['errors']} non-200")
    print(f"  POST /v1/decisions p50 {d50:.2f} ms, p99 {d99:.2f} ms "
          f"(goal p99 <= 15 ms: {'met' if d99 <= 15 else 'NOT met'})")
    print(f"  GET /healthz       p50 {h50:.2f} ms, p99 {h99:.2f} ms, mean "
          f"{statistics.mean(http['healthz']) * 1000:.2f} ms")
    print(f"  decisions p50 / healthz p50 = {d50 / h50:.2f}x "
          f"(goal <= 3x: {'met' if d50 <= 3 * h50 else 'NOT met'})")


if __name__ == "__main__":
    main()
