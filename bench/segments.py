"""Incremental segment updates per second beside a bulk recomputation, in the same run.

Part 1 (rules, in memory): 20 segments over 1,000,000 events of 50,000 customers. Incremental:
after each event, re-evaluate the 20 segments for that one customer. Bulk: evaluate every
customer against every segment once, as `kanaal segments refresh` does.
Part 2 (the real service on SQLite): events written through the collect service, memberships
kept current by the marketing consumer, beside `refresh_all` over the same database.

    .venv/bin/python -m bench.segments [--events 1000000] [--db-events 20000]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kanaal.marketing.segment_rules import EventRecord, Profile, evaluate, parse_rule

NOW = datetime(2026, 3, 1, tzinfo=UTC)
EVENTS = ["Product Viewed", "Product Added", "Checkout Started", "Order Completed",
          "Store Entered", "Call Completed"]
CATEGORIES = ["tv", "laptop", "phone", "audio", "kitchen"]


def segment_rules() -> list[dict[str, object]]:
    """Twenty segments of the kinds retailers define."""
    rules: list[dict[str, object]] = []
    for category in CATEGORIES:
        rules.append({"all": [
            {"event": "Product Viewed", "where": {"category": category}, "count": {"gte": 3},
             "within_days": 14},
            {"not": {"event": "Order Completed", "within_days": 14}}]})
        rules.append({"event": "Product Added", "where": {"category": category},
                      "within_days": 2})
    rules += [
        {"channel_used": "store", "within_days": 30},
        {"event": "Order Completed", "count": {"gte": 2}, "within_days": 90},
        {"trait": "country", "value": "NL"},
        {"generation": "millennial"},
        {"consent": "email"},
        {"all": [{"channel_used": "phone"}, {"event": "Order Completed", "count": {"eq": 0}}]},
        {"any": [{"trait": "vip", "value": True}, {"event": "Order Completed",
                                                   "count": {"gte": 5}}]},
        {"event": "Checkout Started", "within_days": 1},
        {"trait": "birth_year", "op": "gte", "value": 1990},
        {"not": {"channel_used": "web", "within_days": 60}},
    ]
    return rules


def synthetic(n_events: int, n_customers: int, seed: int = 7) -> list[tuple[int, EventRecord]]:
    """Events spread over 120 days, in time order."""
    rng = random.Random(seed)
    start = NOW - timedelta(days=120)
    out = []
    for i in range(n_events):
        name = rng.choices(EVENTS, weights=[60, 15, 8, 5, 7, 5])[0]
        channel = {"Store Entered": "store", "Call Completed": "phone"}.get(name, "web")
        at = start + timedelta(seconds=i * (120 * 86400 / n_events))
        out.append((rng.randrange(n_customers),
                    EventRecord(name, channel, at, {"category": rng.choice(CATEGORIES)})))
    return out


def in_memory(n_events: int, n_customers: int) -> None:
    """Part 1: the rule engine alone."""
    rules = [parse_rule(rule) for rule in segment_rules()]
    events = synthetic(n_events, n_customers)
    rng = random.Random(3)
    traits = {c: {"country": rng.choice(["NL", "BE", "DE"]), "birth_year": rng.randint(1950, 2005),
                  "consent": {"email": rng.random() < 0.6}} for c in range(n_customers)}
    history: dict[int, list[EventRecord]] = defaultdict(list)
    members: set[tuple[int, int]] = set()
    started = time.perf_counter()
    for customer, event in events:
        history[customer].append(event)
        window = history[customer][-64:]
        profile = Profile(traits[customer], frozenset({"email"}), window)
        for index, rule in enumerate(rules):
            if evaluate(rule, profile, event.timestamp):
                members.add((index, customer))
            else:
                members.discard((index, customer))
    incremental = time.perf_counter() - started
    started = time.perf_counter()
    bulk_members = 0
    for customer, evs in history.items():
        profile = Profile(traits[customer], frozenset({"email"}), evs[-64:])
        bulk_members += sum(evaluate(rule, profile, NOW) for rule in rules)
    bulk = time.perf_counter() - started
    updates = n_events * len(rules)
    print(f"in memory: {n_events:,} events, {n_customers:,} customers, {len(rules)} segments")
    print(f"  incremental: {n_events / incremental:,.0f} events/s "
          f"({updates / incremental:,.0f} segment evaluations/s)")
    print(f"  bulk recompute of all customers: {bulk:.2f} s "
          f"({len(history) * len(rules) / bulk:,.0f} evaluations/s)")
    print(f"  one incremental update costs {incremental / n_events * 1e6:.1f} us; "
          f"the bulk pass equals {bulk / (incremental / n_events):,.0f} such updates")


def on_sqlite(n_events: int, n_customers: int) -> None:
    """Part 2: through the collect service and the marketing consumer on SQLite."""
    from kanaal.collect.service import record_event
    from kanaal.config import Settings
    from kanaal.core.clock import ManualClock
    from kanaal.core.context import build_context
    from kanaal.core.live import open_live_store
    from kanaal.marketing.consumer import process_new_events
    from kanaal.marketing.segments import create_segment, refresh_all
    from kanaal.migrations.runner import upgrade

    with tempfile.TemporaryDirectory() as tmp:
        clock = ManualClock(NOW - timedelta(days=1))
        ctx = build_context(Settings(data_dir=Path(tmp)), clock=clock,
                            live=open_live_store(None))
        upgrade(ctx.db)
        for index, rule in enumerate(segment_rules()):
            create_segment(ctx, name=f"s{index}", description="", rule=rule)
        rng = random.Random(11)
        with ctx.db.transaction() as session:
            for i in range(n_events):
                name = rng.choices(EVENTS, weights=[60, 15, 8, 5, 7, 5])[0]
                record_event(session, ctx, event=name,
                             identities={"email": f"c{rng.randrange(n_customers)}@example.com"},
                             properties={"category": rng.choice(CATEGORIES)},
                             channel={"Store Entered": "store"}.get(name, "web"), source="bench")
                if i % 1000 == 999:
                    clock.advance(seconds=30)
        clock.advance(minutes=5)
        started = time.perf_counter()
        handled = 0
        while (read := process_new_events(ctx, limit=1000, settle=timedelta(0))) > 0:
            handled += read
        incremental = time.perf_counter() - started
        started = time.perf_counter()
        refresh_all(ctx)
        bulk = time.perf_counter() - started
        print(f"SQLite service path: {handled:,} events of {n_customers:,} customers, 20 segments")
        print(f"  incremental consumer: {handled / incremental:,.0f} events/s")
        print(f"  bulk refresh_all: {bulk:.2f} s for every customer "
              f"({n_customers / bulk:,.0f} customers/s)")
        ctx.db.dispose()


def main() -> None:
    """Run both parts and print their figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--db-events", type=int, default=20_000)
    args = parser.parse_args()
    in_memory(args.events, args.customers)
    on_sqlite(args.db_events, max(100, args.db_events // 20))


if __name__ == "__main__":
    main()
