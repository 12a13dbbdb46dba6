"""Event intake throughput on SQLite: HTTP /v1/batch and in-process, beside a raw insert.

    .venv/bin/python -m bench.collect [--batches 400] [--clients 8] [--seed 7]

Three fresh SQLite databases, the same synthetic Segment batches (100 events each: 80% track,
10% page, 10% identify with email and user id) from a pool of anonymous visitors, one visitor
per 8 events by default, so events both create customers and land on known ones:

1. raw: sqlite3 `executemany` of the very rows Kanaal stores for each batch (values prepared
   before timing), one transaction per batch: the new customers, their new identities, the
   100 `customer_events` rows and the trait upserts, with Kanaal's own SQL. This is the goal's
   baseline ("a raw insert of the same rows"); the script checks both databases end with the
   same rows in every table.
   raw (events only): the same, writing only the `customer_events` rows: a stricter floor,
   reported beside it.
2. in-process: `kanaal.collect.service.collect` per batch (JSON parse, validation, dedupe,
   identity stitching, traits, events; one transaction per batch).
3. HTTP: a real uvicorn (`kanaal.app:create_app`) on 127.0.0.1 started by this script, 8
   concurrent clients posting pre-encoded batches with HTTP Basic write keys.

Prints events/s for each and the ratios. Goals: HTTP >= 5,000 events/s; in-process >= 0.3x raw
(the same rows).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from kanaal.collect.service import collect
from kanaal.config import Settings
from kanaal.core.auth import KeyKind, SourceKind
from kanaal.core.context import build_context
from kanaal.core.keys import issue_key
from kanaal.core.live import open_live_store
from kanaal.migrations.runner import upgrade

BATCH = 100
EVENTS = ["Product Viewed", "Product Added", "Products Searched", "Checkout Started",
          "Order Completed"]


def basic(key: str) -> dict[str, str]:
    """HTTP Basic header with the write key as username, as Segment clients send it."""
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_batches(count: int, seed: int, prefix: str, visitors: int
                 ) -> list[list[dict[str, Any]]]:
    """Synthetic Segment batches from `visitors` anonymous visitors; unique message ids."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    batches = []
    for b in range(count):
        batch = []
        for n in range(BATCH):
            visitor = rng.randrange(visitors)
            stamp = (start + timedelta(seconds=b * BATCH + n)).isoformat()
            common = {"anonymousId": f"anon-{visitor}", "messageId": f"{prefix}-{b}-{n}",
                      "timestamp": stamp,
                      "context": {"library": {"name": "bench", "version": "1"},
                                  "ip": "203.0.113.7", "page": {"path": f"/p/{visitor % 500}"}}}
            roll = rng.random()
            if roll < 0.8:
                batch.append({**common, "type": "track", "event": rng.choice(EVENTS),
                              "properties": {"sku": f"SKU-{rng.randrange(5000)}",
                                             "price": round(rng.uniform(5, 500), 2),
                                             "currency": "EUR"}})
            elif roll < 0.9:
                batch.append({**common, "type": "page", "name": "Product",
                              "properties": {"url": f"https://shop.example/p/{visitor}"}})
            else:
                batch.append({**common, "type": "identify", "userId": f"user-{visitor}",
                              "traits": {"email": f"person{visitor}@example.com",
                                         "first_name": "Sam"}})
        batches.append(batch)
    return batches


def fresh_settings(directory: Path) -> Settings:
    """Settings for a new, migrated SQLite database in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    settings = Settings(database_url=f"sqlite:///{directory / 'kanaal.db'}", data_dir=directory,
                        auto_migrate=False)
    ctx = build_context(settings)
    upgrade(ctx.db)
    ctx.db.dispose()
    return settings


def write_key(settings: Settings) -> str:
    """Issue a web write key in the database of `settings`."""
    ctx = build_context(settings)
    raw = issue_key(ctx.db, source_name="web", source_kind=SourceKind.WEB, kind=KeyKind.WRITE,
                    scopes=frozenset(), ids=ctx.ids, clock=ctx.clock).raw
    ctx.db.dispose()
    return raw


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stored_events(path: Path) -> int:
    """Rows in customer_events."""
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM customer_events").fetchone()[0])


@dataclass
class Rates:
    """Events/s of the raw inserts and of collect(), by wall clock and by CPU time."""

    raw: float
    in_process: float
    ratios: list[float]
    raw_cpu: float
    in_process_cpu: float
    events_only: float
    events_only_cpu: float


def raw_rows(batches: list[list[dict[str, Any]]]) -> list[list[tuple[Any, ...]]]:
    """The rows Kanaal stores for these events, as ready-made sqlite3 parameters."""
    received = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    return [
        [(f"evt_{b}_{n}", f"cus_{e['anonymousId']}", "src_web", e["messageId"], e["type"],
          e.get("event"), e.get("name"), "web", e.get("userId"), e["anonymousId"],
          json.dumps(e.get("properties", {}), separators=(",", ":")),
          json.dumps(e.get("traits", {}), separators=(",", ":")),
          json.dumps(e["context"], separators=(",", ":")),
          e["timestamp"][:19].replace("T", " "), received)
         for n, e in enumerate(batch)]
        for b, batch in enumerate(batches)
    ]


CUSTOMERS_SQL = "INSERT INTO customers (id, created_at, merged_into) VALUES (?,?,?)"
IDENTITIES_SQL = ("INSERT INTO customer_identities (type, value, customer_id, source, created_at)"
                  " VALUES (?,?,?,?,?)")
EVENTS_SQL = ("INSERT INTO customer_events (id, customer_id, source, message_id, type, event,"
              " name, channel, user_id, anonymous_id, properties, traits, context, timestamp,"
              " received_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
TRAITS_SQL = ("INSERT INTO customer_traits (customer_id, name, value, source, updated_at)"
              " VALUES (?,?,?,?,?) ON CONFLICT (customer_id, name) DO UPDATE SET"
              " value = excluded.value, source = excluded.source,"
              " updated_at = excluded.updated_at")


def same_rows(batches: list[list[dict[str, Any]]]
              ) -> list[list[tuple[str, list[tuple[Any, ...]]]]]:
    """Per batch, the statements and rows Kanaal writes for it: new customers (one per
    visitor), new identities (anonymous id; user id and email once identified), the events,
    and the traits of identify calls (last one per customer wins)."""
    received = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    seen: set[tuple[str, str]] = set()
    known: set[str] = set()
    events = raw_rows(batches)
    out = []
    for b, batch in enumerate(batches):
        new_customers: list[tuple[Any, ...]] = []
        identities: list[tuple[Any, ...]] = []
        traits: dict[tuple[str, str], tuple[Any, ...]] = {}
        for e in batch:
            customer = f"cus_{e['anonymousId']}"
            if customer not in known:
                known.add(customer)
                new_customers.append((customer, received, None))
            pairs = [("anonymous_id", e["anonymousId"])]
            if e["type"] == "identify":
                pairs += [("user_id", e["userId"]), ("email", e["traits"]["email"])]
                for name, value in e["traits"].items():
                    traits[(customer, name)] = (customer, name, json.dumps(value), "src_web",
                                                received)
            for pair in pairs:
                if pair not in seen:
                    seen.add(pair)
                    identities.append((*pair, customer, "src_web", received))
        out.append([(CUSTOMERS_SQL, new_customers), (IDENTITIES_SQL, identities),
                    (EVENTS_SQL, events[b]), (TRAITS_SQL, list(traits.values()))])
    return out


def table_rows(path: Path) -> dict[str, int]:
    """Rows per table Kanaal writes on intake."""
    with sqlite3.connect(path) as conn:
        return {table: int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
                for table in ("customers", "customer_identities", "customer_events",
                              "customer_traits")}


def _raw_connection(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def bench_raw_and_in_process(
    root: Path, batches: list[list[dict[str, Any]]], rounds: int
) -> Rates:
    """Raw executemany and in-process collect(), alternating in rounds on their own databases
    (the machine is shared, so each round's ratio compares like with like).

    Wall-clock and CPU-time (this process) rates: CPU time is steadier on a busy machine."""
    fresh_settings(root / "raw")
    fresh_settings(root / "events")
    conn = _raw_connection(root / "raw" / "kanaal.db")
    events_conn = _raw_connection(root / "events" / "kanaal.db")
    work = same_rows(batches)
    rows = raw_rows(batches)
    settings = fresh_settings(root / "inproc")
    auth = basic(write_key(settings))["Authorization"]
    ctx = build_context(settings, live=open_live_store(None))
    ctx.settings.rate_limit_per_second = ctx.settings.rate_limit_burst = 1e9
    bodies = [json.dumps({"batch": batch}).encode() for batch in batches]
    raw_seconds = in_process_seconds = raw_cpu = in_process_cpu = 0.0
    events_seconds = events_cpu = 0.0
    ratios = []
    size = -(-len(batches) // rounds)
    for start in range(0, len(batches), size):
        began, cpu = time.perf_counter(), time.process_time()
        for statements in work[start:start + size]:
            conn.execute("BEGIN IMMEDIATE")
            for sql, values in statements:
                conn.executemany(sql, values)
            conn.execute("COMMIT")
        raw, raw_c = time.perf_counter() - began, time.process_time() - cpu
        began, cpu = time.perf_counter(), time.process_time()
        for batch_rows in rows[start:start + size]:
            events_conn.execute("BEGIN IMMEDIATE")
            events_conn.executemany(EVENTS_SQL, batch_rows)
            events_conn.execute("COMMIT")
        events_seconds += time.perf_counter() - began
        events_cpu += time.process_time() - cpu
        began, cpu = time.perf_counter(), time.process_time()
        for body in bodies[start:start + size]:
            collect(ctx, "batch", body, authorization=auth, content_encoding=None)
        in_process, in_process_c = time.perf_counter() - began, time.process_time() - cpu
        raw_seconds += raw
        in_process_seconds += in_process
        raw_cpu += raw_c
        in_process_cpu += in_process_c
        ratios.append(raw / in_process)
    conn.close()
    events_conn.close()
    ctx.db.dispose()
    assert stored_events(root / "events" / "kanaal.db") == len(batches) * BATCH
    stored, replayed = table_rows(root / "inproc" / "kanaal.db"), table_rows(
        root / "raw" / "kanaal.db")
    assert stored == replayed, f"the raw baseline wrote {replayed}, Kanaal {stored}"
    events = len(batches) * BATCH
    return Rates(events / raw_seconds, events / in_process_seconds, ratios,
                 events / raw_cpu, events / in_process_cpu, events / events_seconds,
                 events / events_cpu)


def bench_http(directory: Path, batches: list[list[dict[str, Any]]], clients: int
               ) -> tuple[float, int, float]:
    """Events/s through a real uvicorn with `clients` concurrent posters (wall clock), the
    429s seen, and events per CPU-second the server process used."""
    settings = fresh_settings(directory)
    headers = {**basic(write_key(settings)), "Content-Type": "application/json"}
    port = free_port()
    env = {**os.environ, "KANAAL_DATABASE_URL": settings.sqlalchemy_url(),
           "KANAAL_DATA_DIR": str(directory), "KANAAL_AUTO_MIGRATE": "false",
           "KANAAL_LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "kanaal.app:create_app", "--factory", "--host",
         "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"],
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # importing every feature is slow on a busy box
        while True:
            if server.poll() is not None:
                raise SystemExit(f"the server exited with code {server.returncode}")
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        bodies = [json.dumps({"batch": batch}).encode() for batch in batches]
        warmup, measured = bodies[:clients], bodies[clients:]
        limited = [0]
        lock = threading.Lock()

        def worker(share: list[bytes]) -> None:
            with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
                for body in share:
                    while True:
                        response = http.post("/v1/batch", content=body)
                        if response.status_code != 429:
                            break
                        with lock:
                            limited[0] += 1
                        time.sleep(float(response.headers.get("Retry-After", "1")))
                    response.raise_for_status()

        for body in warmup:
            httpx.post(f"{url}/v1/batch", content=body, headers=headers).raise_for_status()
        threads = [threading.Thread(target=worker, args=(measured[i::clients],))
                   for i in range(clients)]
        started, cpu = time.perf_counter(), server_cpu(server.pid)
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed, used = time.perf_counter() - started, server_cpu(server.pid) - cpu
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert stored_events(directory / "kanaal.db") == len(batches) * BATCH
    events = len(measured) * BATCH
    return events / elapsed, limited[0], events / used


def main() -> None:
    """Run the three measurements and print events/s and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=400)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--visitors", type=int, default=0,
                        help="anonymous visitors (default: one per 8 events)")
    args = parser.parse_args()
    visitors = args.visitors or max(1, args.batches * BATCH // 8)
    batches = make_batches(args.batches, args.seed, "b", visitors)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        rates = bench_raw_and_in_process(root, batches, args.rounds)
        http, limited, http_cpu = bench_http(root / "http", batches, args.clients)
    events = args.batches * BATCH
    raw, in_process = rates.raw, rates.in_process
    print(f"events: {events:,} in batches of {BATCH} from {visitors:,} visitors; HTTP with "
          f"{args.clients} clients; load average {load_before:.1f} -> {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs")
    print(f"raw executemany, same rows: {raw:>10,.0f} events/s wall, "
          f"{rates.raw_cpu:>10,.0f} per CPU-second")
    print(f"raw executemany, events:    {rates.events_only:>10,.0f} events/s wall, "
          f"{rates.events_only_cpu:>10,.0f} per CPU-second")
    print(f"in-process collect():       {in_process:>10,.0f} events/s wall, "
          f"{rates.in_process_cpu:>10,.0f} per CPU-second")
    print(f"  in-process / raw:         {in_process / raw:.2f}x wall (median of "
          f"{len(rates.ratios)} alternating rounds {statistics.median(rates.ratios):.2f}x), "
          f"{rates.in_process_cpu / rates.raw_cpu:.2f}x CPU time; goal >= 0.30x")
    print(f"  in-process / raw events:  {in_process / rates.events_only:.2f}x wall, "
          f"{rates.in_process_cpu / rates.events_only_cpu:.2f}x CPU time (events-only floor)")
    print(f"HTTP /v1/batch (uvicorn):   {http:>10,.0f} events/s wall, "
          f"{http_cpu:>10,.0f} per server CPU-second; goal >= 5,000 events/s")
    print(f"429 answers during HTTP run: {limited}")

if __name__ == "__main__":
    main()
