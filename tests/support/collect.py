"""Helpers for intake and customer tests: auth headers, gzip, and a snapshot of stored rows."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

from sqlalchemy import func, select

from kanaal.core.context import AppContext
from kanaal.customers.store import (
    customer_events,
    customer_identities,
    customer_merges,
    customer_traits,
    customers,
    identity_suppressions,
)

TABLES = (customers, customer_identities, customer_traits, customer_events, customer_merges,
          identity_suppressions)


def basic(write_key: str, *, colon: bool = True) -> dict[str, str]:
    """HTTP Basic header carrying the write key as username (with or without the colon)."""
    raw = f"{write_key}:" if colon else write_key
    return {"Authorization": "Basic " + base64.b64encode(raw.encode()).decode()}


def gzipped(body: Any) -> bytes:
    """A JSON body compressed like rudder-sdk-python does."""
    return gzip.compress(json.dumps(body).encode())


def row_counts(ctx: AppContext) -> dict[str, int]:
    """Rows in every customer table: used to prove that a refused request stored nothing."""
    with ctx.db.reader() as session:
        return {
            table.name: int(session.execute(select(func.count()).select_from(table)).scalar_one())
            for table in TABLES
        }


def empty_counts() -> dict[str, int]:
    """What `row_counts` answers for an untouched database."""
    return {table.name: 0 for table in TABLES}


def stored_events(ctx: AppContext) -> list[dict[str, Any]]:
    """Every stored event (message_id, type, event, channel, customer_id, timestamp), in order."""
    with ctx.db.reader() as session:
        rows = session.execute(
            select(customer_events).order_by(customer_events.c.timestamp, customer_events.c.id)
        )
        return [dict(row._mapping) for row in rows]
