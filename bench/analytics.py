"""Journeys and Markov attribution over synthetic events: DuckDB beside pandas, same run.

    .venv/bin/python -m bench.analytics [--events 10000000] [--seed 7]

Both engines compute the same things from the same frame: sessions (30-minute gap), the path
to purchase or drop-out per customer (repeats collapsed), the top paths, touches and hours to
purchase, and the Markov transition counts; the script checks that they agree, then prints
seconds per engine and the pandas/DuckDB ratio. Removal effects are solved once (numpy).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from kanaal.analytics.attribution import CONVERSION, NULL, START, markov_from_counts
from kanaal.analytics.journeys import SESSION_GAP_MINUTES, STAGE_EVENTS, JourneyEngine

T = TypeVar("T")
CHANNELS = ["web", "mobile", "phone", "store", "chat"]
CHANNEL_P = [0.55, 0.18, 0.12, 0.09, 0.06]
EVENTS = ["Page Viewed", "Products Searched", "Product Viewed", "Product Added",
          "Checkout Started", "Call Completed", "Order Completed", "Order Refunded"]
EVENT_P = [0.40, 0.10, 0.25, 0.10, 0.05, 0.06, 0.03, 0.01]


def synthetic_events(n_events: int, seed: int) -> pd.DataFrame:
    """About ten events per customer over 30 days, sessions of minutes, days between them."""
    rng = np.random.default_rng(seed)
    n_customers = max(1, n_events // 10)
    customer = np.sort(rng.integers(0, n_customers, size=n_events))
    start = rng.uniform(0, 30 * 86400, size=n_customers)
    gap = np.where(rng.random(n_events) < 0.7, rng.exponential(300, n_events),
                   rng.exponential(86400, n_events))
    first = np.r_[True, customer[1:] != customer[:-1]]
    offset = np.cumsum(gap)
    offset -= np.maximum.accumulate(np.where(first, offset, 0))
    seconds = start[customer] + offset
    ts = pd.to_datetime(np.datetime64("2026-01-01T00:00:00", "us")
                        + (seconds * 1e6).astype("timedelta64[us]"), utc=True)
    event = pd.Categorical.from_codes(rng.choice(len(EVENTS), n_events, p=EVENT_P), EVENTS)
    channel = pd.Categorical.from_codes(
        rng.choice(len(CHANNELS), n_events, p=CHANNEL_P), CHANNELS)
    revenue = np.where(np.asarray(event) == "Order Completed",
                       np.round(rng.lognormal(4.0, 0.8, n_events), 2), np.nan)
    return pd.DataFrame({"customer_id": customer, "event": event, "channel": channel,
                         "ts": ts, "revenue": revenue})


def with_pandas(events: pd.DataFrame) -> dict[str, Any]:
    """The same journey and transition computation in pandas."""
    data = events.sort_values(["customer_id", "ts", "event", "channel"], kind="stable")
    stage = data["event"].astype(str).map(
        {e: s for s, names in STAGE_EVENTS.items() for e in names}).fillna("orientation")
    purchase_ts = data["ts"].where(stage == "purchase")
    first_purchase = purchase_ts.groupby(data["customer_id"]).transform("min")
    same_customer = data["customer_id"].eq(data["customer_id"].shift())
    close = data["ts"].diff() <= pd.Timedelta(minutes=SESSION_GAP_MINUTES)
    session = (~(same_customer & close)).cumsum()
    sessions = pd.DataFrame({
        "customer_id": data["customer_id"].to_numpy(), "session": session.to_numpy(),
        "channel": data["channel"].astype(str).to_numpy(), "ts": data["ts"].to_numpy(),
        "first_purchase": first_purchase.to_numpy()})
    sessions = sessions.groupby("session", sort=True).agg(
        customer_id=("customer_id", "first"), channel=("channel", "first"),
        started_at=("ts", "min"), first_purchase=("first_purchase", "first"))
    touches = sessions[sessions["first_purchase"].isna()
                       | (sessions["started_at"] <= sessions["first_purchase"])]
    converted = touches.groupby("customer_id")["first_purchase"].first().notna()
    previous = touches["channel"].shift().where(
        touches["customer_id"].eq(touches["customer_id"].shift()))
    steps = touches[touches["channel"] != previous]
    paths = steps.groupby("customer_id")["channel"].agg(" > ".join)
    frame = pd.DataFrame({"path": paths, "converted": converted,
                          "touches": touches.groupby("customer_id").size()})
    bought = touches[touches["first_purchase"].notna()].groupby("customer_id").agg(
        first=("started_at", "min"), purchase=("first_purchase", "first"))
    hours = (bought["purchase"] - bought["first"]).dt.total_seconds() / 3600
    here = previous.fillna(START)
    chained = pd.concat([
        pd.DataFrame({"here": here.to_numpy(), "there": touches["channel"].to_numpy()}),
        pd.DataFrame({"here": touches.groupby("customer_id")["channel"].last().to_numpy(),
                      "there": np.where(converted.to_numpy(), CONVERSION, NULL)}),
    ])
    counts = chained.groupby(["here", "there"]).size()
    return {
        "top_purchase": _top(frame[frame["converted"]]["path"]),
        "top_dropout": _top(frame[~frame["converted"]]["path"]),
        "mean_touches": float(frame[frame["converted"]]["touches"].mean()),
        "mean_hours": float(hours.mean()),
        "transitions": {k: float(v) for k, v in counts.items()},
    }


def _top(paths: pd.Series) -> list[tuple[str, int]]:
    counts = paths.value_counts()
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    return [(str(p), int(n)) for p, n in ordered]


def with_duckdb(events: pd.DataFrame) -> dict[str, Any]:
    """Journeys and transitions through the product's DuckDB engine."""
    engine = JourneyEngine(events)
    try:
        summary = engine.summary()
        return {
            "top_purchase": [(p.path, p.customers) for p in summary.top_purchase_paths],
            "top_dropout": [(p.path, p.customers) for p in summary.top_dropout_paths],
            "mean_touches": summary.mean_touches_to_purchase,
            "mean_hours": summary.mean_hours_to_purchase,
            "transitions": engine.transition_counts(),
        }
    finally:
        engine.close()


def timed(work: Callable[[], T]) -> tuple[T, float, float]:
    """Result, wall-clock seconds and CPU seconds (all threads of this process)."""
    started, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, time.perf_counter() - started, time.process_time() - cpu


def main() -> None:
    """Generate, run both engines, check agreement, print figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    events, generate_s, _ = timed(lambda: synthetic_events(args.events, args.seed))
    print(f"events: {len(events):,}  customers: {events['customer_id'].nunique():,}  "
          f"generated in {generate_s:.1f} s")
    duck, duck_s, duck_cpu = timed(lambda: with_duckdb(events))
    panda, panda_s, panda_cpu = timed(lambda: with_pandas(events))
    assert duck["top_purchase"] == panda["top_purchase"], "top purchase paths differ"
    assert duck["top_dropout"] == panda["top_dropout"], "top drop-out paths differ"
    assert duck["transitions"] == panda["transitions"], "transition counts differ"
    assert abs(duck["mean_touches"] - panda["mean_touches"]) < 1e-9
    assert abs(duck["mean_hours"] - panda["mean_hours"]) < 1e-6
    conversions = sum(n for (_, there), n in duck["transitions"].items() if there == CONVERSION)
    result, markov_s, _ = timed(lambda: markov_from_counts(duck["transitions"], conversions))
    print(f"journeys + transitions, DuckDB: {duck_s:.2f} s wall, {duck_cpu:.2f} s CPU")
    print(f"journeys + transitions, pandas: {panda_s:.2f} s wall, {panda_cpu:.2f} s CPU")
    print(f"pandas / DuckDB: {panda_s / duck_s:.1f}x wall, {panda_cpu / duck_cpu:.1f}x CPU"
          "  (results identical)")
    print(f"Markov removal effects ({len(result.removal_effects)} channels, numpy.linalg.solve):"
          f" {markov_s * 1000:.1f} ms")
    print("top path to purchase:", duck["top_purchase"][0])
    print("Markov shares:", {c: round(s, 4) for c, s in result.shares.items()})


if __name__ == "__main__":
    main()
