"""Customer journeys with DuckDB: sessions, stages, paths, funnels and Markov transitions.

Every query runs in DuckDB over an events frame (pandas or pyarrow, or a Parquet file) with
columns customer_id, event, channel, ts (aware UTC timestamp) and revenue (nullable).
Nothing loops over events in Python.

- A session ends after 30 minutes without an event; its channel is the channel of its first
  event. Each session is one touch.
- Stages come from Segment e-commerce event names; anything after the first purchase that is
  not itself a purchase is after-sales, and an unknown event is orientation.
- A customer's path is their session channels up to and including the session of their first
  purchase (converted) or all of them (drop-out), with consecutive repeats collapsed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path as FilePath
from typing import Any

import duckdb

from kanaal.analytics.attribution import (
    CONVERSION,
    NULL,
    START,
    MarkovResult,
    Path,
    Touch,
    markov_from_counts,
)

SESSION_GAP_MINUTES = 30
STAGES = ("orientation", "comparison", "decision", "purchase", "after_sales")
STAGE_EVENTS: dict[str, tuple[str, ...]] = {
    "purchase": ("Order Completed",),
    "after_sales": ("Order Refunded", "Order Cancelled", "Return Requested", "Product Reviewed",
                    "Order Delivered"),
    "decision": ("Product Added", "Cart Viewed", "Checkout Started", "Checkout Step Viewed",
                 "Checkout Step Completed", "Payment Info Entered", "Coupon Applied",
                 "Callback Requested", "Appointment Booked", "Quote Requested"),
    "comparison": ("Product Viewed", "Product Clicked", "Product Added to Wishlist",
                   "Product Compared", "Product Shared", "Call Completed", "Chat Completed"),
}
COLUMNS = ("customer_id", "event", "channel", "ts", "revenue")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _stage_case() -> str:
    branches = " ".join(
        f"WHEN event IN ({', '.join(_quote(e) for e in names)}) THEN {_quote(stage)}"
        for stage, names in STAGE_EVENTS.items())
    return f"CASE {branches} ELSE 'orientation' END"


def _rank_case(column: str) -> str:
    return "CASE " + " ".join(
        f"WHEN {column} = {_quote(s)} THEN {i + 1}" for i, s in enumerate(STAGES)) + " END"


SESSIONS_SQL = f"""
CREATE OR REPLACE TEMP TABLE sessions AS
WITH staged AS (
    SELECT customer_id, event, channel, ts, revenue, {_stage_case()} AS base_stage
    FROM events
), marked AS (
    SELECT *,
        min(ts) FILTER (WHERE base_stage = 'purchase')
            OVER (PARTITION BY customer_id) AS first_purchase_at,
        CASE WHEN lag(ts) OVER w IS NULL
              OR ts - lag(ts) OVER w > INTERVAL {SESSION_GAP_MINUTES} MINUTE
             THEN 1 ELSE 0 END AS new_session
    FROM staged
    WINDOW w AS (PARTITION BY customer_id ORDER BY ts, event, channel)
), numbered AS (
    SELECT *,
        sum(new_session) OVER (PARTITION BY customer_id ORDER BY ts, event, channel
                               ROWS UNBOUNDED PRECEDING) AS session_no,
        CASE WHEN first_purchase_at IS NOT NULL AND ts > first_purchase_at
                  AND base_stage <> 'purchase' THEN 'after_sales'
             ELSE base_stage END AS stage
    FROM marked
)
SELECT customer_id, session_no,
    first(channel ORDER BY ts, event, channel) AS channel,
    min(ts) AS started_at, max(ts) AS ended_at, count(*) AS events,
    max({_rank_case('stage')}) AS max_stage,
    any_value(first_purchase_at) AS first_purchase_at,
    sum(revenue) FILTER (WHERE base_stage = 'purchase' AND ts = first_purchase_at)
        AS purchase_revenue
FROM numbered
GROUP BY customer_id, session_no
"""

PATHS_SQL = """
CREATE OR REPLACE TEMP TABLE customer_paths AS
WITH touches AS (
    SELECT *, lag(channel) OVER (PARTITION BY customer_id ORDER BY session_no) AS previous
    FROM sessions
    WHERE first_purchase_at IS NULL OR started_at <= first_purchase_at
)
SELECT customer_id,
    any_value(first_purchase_at) IS NOT NULL AS converted,
    string_agg(channel, ' > ' ORDER BY session_no)
        FILTER (WHERE previous IS NULL OR previous <> channel) AS path,
    count(*) AS touches,
    min(started_at) AS first_seen_at,
    any_value(first_purchase_at) AS purchased_at,
    coalesce(sum(purchase_revenue), 0) AS revenue
FROM touches
GROUP BY customer_id
"""


@dataclass(frozen=True, slots=True)
class PathCount:
    """A path and how many customers followed it."""

    path: str
    customers: int


@dataclass(frozen=True, slots=True)
class JourneySummary:
    """What journeys look like: top paths, time and touches to purchase."""

    customers: int
    converted: int
    top_purchase_paths: list[PathCount]
    top_dropout_paths: list[PathCount]
    mean_hours_to_purchase: float | None
    median_hours_to_purchase: float | None
    mean_touches_to_purchase: float | None
    median_touches_to_purchase: float | None


class JourneyEngine:
    """A DuckDB connection holding one events frame and the derived sessions and paths."""

    def __init__(self, events: Any, *, threads: int | None = None) -> None:
        self.db = duckdb.connect(":memory:")
        if threads is not None:
            self.db.execute(f"SET threads = {int(threads)}")
        if isinstance(events, str | FilePath):
            source = _quote(str(events))
            self.db.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet({source})")
        else:
            self.db.register("events_frame", events)
            self.db.execute("CREATE VIEW events AS SELECT * FROM events_frame")
        self.db.execute(SESSIONS_SQL)
        self.db.execute(PATHS_SQL)

    def close(self) -> None:
        """Release the connection."""
        self.db.close()

    def rows(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a query on the engine's tables."""
        return self.db.execute(sql, params or []).fetchall()

    def top_paths(self, *, converted: bool, limit: int = 10) -> list[PathCount]:
        """The most common paths to purchase (or to drop-out), ties by path name."""
        found = self.rows(
            "SELECT path, count(*) AS n FROM customer_paths WHERE converted = ? "
            "GROUP BY path ORDER BY n DESC, path LIMIT ?", [converted, limit])
        return [PathCount(path, int(n)) for path, n in found]

    def summary(self, *, limit: int = 10) -> JourneySummary:
        """Top paths both ways plus time (hours) and touches to purchase."""
        total, converted, mean_h, median_h, mean_t, median_t = self.rows("""
            SELECT count(*), count(*) FILTER (WHERE converted),
                avg(epoch(purchased_at - first_seen_at) / 3600.0) FILTER (WHERE converted),
                median(epoch(purchased_at - first_seen_at) / 3600.0) FILTER (WHERE converted),
                avg(touches) FILTER (WHERE converted),
                median(touches) FILTER (WHERE converted)
            FROM customer_paths""")[0]
        return JourneySummary(
            int(total), int(converted), self.top_paths(converted=True, limit=limit),
            self.top_paths(converted=False, limit=limit),
            None if mean_h is None else float(mean_h),
            None if median_h is None else float(median_h),
            None if mean_t is None else float(mean_t),
            None if median_t is None else float(median_t))

    def funnel_by_channel_mix(self) -> list[dict[str, Any]]:
        """Per set of channels used: customers reaching each stage (a funnel per mix)."""
        reached = ", ".join(
            f"count(*) FILTER (WHERE max_stage >= {i + 1}) AS {s}" for i, s in enumerate(STAGES))
        found = self.db.execute(f"""
            WITH per_customer AS (
                SELECT customer_id, string_agg(DISTINCT channel, '+' ORDER BY channel) AS mix,
                       max(max_stage) AS max_stage
                FROM sessions GROUP BY customer_id)
            SELECT mix, count(*) AS customers, {reached}
            FROM per_customer GROUP BY mix ORDER BY customers DESC, mix""")
        names = [d[0] for d in found.description]
        return [dict(zip(names, row, strict=True)) for row in found.fetchall()]

    def sankey_links(self, *, max_steps: int = 5) -> list[tuple[str, str, int]]:
        """Links (source, target, customers) between path steps, ending in purchase/drop-out."""
        found = self.rows("""
            WITH steps AS (
                SELECT customer_id, converted, unnest(string_split(path, ' > ')) AS channel,
                       generate_subscripts(string_split(path, ' > '), 1) AS step
                FROM customer_paths),
            kept AS (SELECT * FROM steps WHERE step <= ?),
            links AS (
                SELECT step || '. ' || channel AS source,
                    coalesce(lead(step || '. ' || channel) OVER (
                                 PARTITION BY customer_id ORDER BY step),
                             CASE WHEN converted THEN 'purchase' ELSE 'drop-out' END) AS target
                FROM kept)
            SELECT source, target, count(*) AS n FROM links
            GROUP BY source, target ORDER BY n DESC, source, target""", [max_steps])
        return [(s, t, int(n)) for s, t, n in found]

    def transition_counts(self) -> dict[tuple[str, str], float]:
        """Markov transitions start > session channels > conversion|null, counted in SQL."""
        found = self.rows(f"""
            WITH touches AS (
                SELECT customer_id, session_no, channel, first_purchase_at IS NOT NULL AS conv
                FROM sessions
                WHERE first_purchase_at IS NULL OR started_at <= first_purchase_at),
            chained AS (
                SELECT coalesce(lag(channel) OVER w, {_quote(START)}) AS here, channel AS there
                FROM touches WINDOW w AS (PARTITION BY customer_id ORDER BY session_no)
                UNION ALL
                SELECT last(channel ORDER BY session_no),
                       CASE WHEN bool_or(conv) THEN {_quote(CONVERSION)} ELSE {_quote(NULL)} END
                FROM touches GROUP BY customer_id)
            SELECT here, there, count(*) FROM chained GROUP BY here, there""")
        return {(here, there): float(n) for here, there, n in found}

    def markov(self, *, on: str = "conversions") -> MarkovResult:
        """Markov attribution over every customer's touches, counted in DuckDB."""
        conversions, revenue = self.rows(
            "SELECT count(*) FILTER (WHERE converted), coalesce(sum(revenue), 0) "
            "FROM customer_paths")[0]
        total = float(conversions) if on == "conversions" else float(revenue)
        return markov_from_counts(self.transition_counts(), total)

    def attribution_paths(self) -> list[Path]:
        """Touches with timestamps per customer, for the heuristic attribution models."""
        found = self.rows("""
            SELECT s.customer_id, list(s.channel ORDER BY s.session_no),
                   list(epoch_us(s.started_at) ORDER BY s.session_no), any_value(p.converted),
                   any_value(p.revenue), any_value(epoch_us(p.purchased_at))
            FROM sessions s JOIN customer_paths p USING (customer_id)
            WHERE s.first_purchase_at IS NULL OR s.started_at <= s.first_purchase_at
            GROUP BY s.customer_id ORDER BY s.customer_id""")
        return [
            Path(tuple(Touch(c, _utc(t)) for c, t in zip(channels, stamps, strict=True)),
                 bool(converted), float(revenue or 0),
                 None if purchased_at is None else _utc(purchased_at))
            for _, channels, stamps, converted, revenue, purchased_at in found
        ]


def _utc(epoch_us: int) -> datetime:
    # DuckDB hands out aware timestamps only through pytz; microseconds since epoch are exact.
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=epoch_us)
