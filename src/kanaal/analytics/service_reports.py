"""Journey and attribution reports over the customer timeline (read-only use cases).

Events are read through the customers feature's feed (`kanaal.customers.feed.events_after`,
its read model for analytics consumers), page by page, with merged customers mapped to the
customer they now live on; DuckDB does the analysis (kanaal.analytics.journeys).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

import pandas as pd

from kanaal.analytics.attribution import HEURISTIC_MODELS, attribute
from kanaal.analytics.journeys import JourneyEngine
from kanaal.core.context import AppContext
from kanaal.core.errors import InvalidInput
from kanaal.core.money import quantize
from kanaal.customers import feed

PAGE = 5000
NAMED_TYPES = {"page": "Page Viewed", "screen": "Screen Viewed"}


def check_window(since: datetime | None, until: datetime | None) -> None:
    """Refuse naive datetimes and a window that ends before it starts."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise InvalidInput(f"{name} needs a timezone", code="naive_datetime",
                               details=[{"loc": ["query", name]}])
    if since is not None and until is not None and since >= until:
        raise InvalidInput("since must be before until", code="invalid_window",
                           details=[{"loc": ["query", "since"]}])


def _revenue(properties: dict[str, Any]) -> float | None:
    for key in ("revenue", "total"):
        value = properties.get(key)
        try:
            number = float(value) if value is not None else math.nan
        except (TypeError, ValueError):
            continue
        if math.isfinite(number):
            return number
    return None


def load_events(
    ctx: AppContext, *, since: datetime | None = None, until: datetime | None = None
) -> pd.DataFrame:
    """The timeline as a frame (customer_id, event, channel, ts, revenue) for DuckDB."""
    check_window(since, until)
    limit = int(ctx.param("analytics.max_report_events", 5_000_000))
    rows: list[tuple[str, str, str, datetime, float | None]] = []
    cursor: tuple[datetime, str] | None = None
    while True:
        with ctx.db.reader() as session:
            page = feed.events_after(session, after=cursor, limit=PAGE)
            owners = feed.survivors_of(session, sorted({e.customer_id for e in page}))
        for item in page:
            name = item.event if item.type == "track" else NAMED_TYPES.get(item.type)
            owner = owners.get(item.customer_id)
            if not name or owner is None:
                continue
            if (since and item.timestamp < since) or (until and item.timestamp >= until):
                continue
            rows.append((owner, name, item.channel, item.timestamp,
                         _revenue(item.properties) if name == "Order Completed" else None))
        if len(rows) > limit:
            raise InvalidInput(f"more than {limit} events: choose a shorter window",
                               code="window_too_large")
        if len(page) < PAGE:
            break
        cursor = (page[-1].received_at, page[-1].id)
    frame = pd.DataFrame(rows, columns=["customer_id", "event", "channel", "ts", "revenue"])
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    frame["revenue"] = frame["revenue"].astype("float64")
    return frame.astype({"customer_id": str, "event": str, "channel": str})


@contextmanager
def _engine(
    ctx: AppContext, since: datetime | None, until: datetime | None
) -> Iterator[JourneyEngine]:
    engine = JourneyEngine(load_events(ctx, since=since, until=until))
    try:
        yield engine
    finally:
        engine.close()


def journey_report(
    ctx: AppContext, *, since: datetime | None = None, until: datetime | None = None,
    limit: int = 10,
) -> dict[str, Any]:
    """Top paths to purchase and drop-out, time and touches to purchase, funnels, Sankey."""
    if not 1 <= limit <= 100:
        raise InvalidInput("limit must be 1..100", code="invalid_limit")
    with _engine(ctx, since, until) as engine:
        summary = engine.summary(limit=limit)
        return {
            "customers": summary.customers,
            "converted": summary.converted,
            "top_purchase_paths": [vars_of(p) for p in summary.top_purchase_paths],
            "top_dropout_paths": [vars_of(p) for p in summary.top_dropout_paths],
            "mean_hours_to_purchase": summary.mean_hours_to_purchase,
            "median_hours_to_purchase": summary.median_hours_to_purchase,
            "mean_touches_to_purchase": summary.mean_touches_to_purchase,
            "median_touches_to_purchase": summary.median_touches_to_purchase,
            "funnels": engine.funnel_by_channel_mix(),
            "sankey": [{"source": s, "target": t, "customers": n}
                       for s, t, n in engine.sankey_links()],
        }


def vars_of(path: Any) -> dict[str, Any]:
    """A PathCount as a dict."""
    return {"path": path.path, "customers": path.customers}


def _present(credit: dict[str, float], on: str) -> dict[str, Any]:
    if on == "revenue":
        return {c: quantize(Decimal(repr(v))) for c, v in sorted(credit.items())}
    return {c: round(v, 9) for c, v in sorted(credit.items())}


def attribution_report(
    ctx: AppContext, *, since: datetime | None = None, until: datetime | None = None,
    on: str = "conversions", half_life_hours: float = 168.0,
) -> dict[str, Any]:
    """Credit per channel under every model, on conversions or on revenue."""
    if on not in ("conversions", "revenue"):
        raise InvalidInput("on must be conversions or revenue", code="unknown_basis",
                           details=[{"loc": ["query", "on"]}])
    with _engine(ctx, since, until) as engine:
        paths = engine.attribution_paths()
        result = engine.markov(on=on)
    models = {m: _present(attribute(paths, m, on=on, half_life_hours=half_life_hours), on)
              for m in HEURISTIC_MODELS}
    models["markov"] = _present(result.credit, on)
    return {
        "on": on,
        "customers": len(paths),
        "conversions": sum(1 for p in paths if p.converted),
        "models": models,
        "markov": {"conversion_probability": result.conversion_probability,
                   "removal_effects": result.removal_effects, "shares": result.shares},
    }
