"""Helpers for marketing tests: write events the way producers do and run the consumer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from kanaal.collect.service import record_event
from kanaal.core.context import AppContext
from kanaal.marketing.consumer import process_new_events


def track(ctx: AppContext, email: str, event: str, *, channel: str = "web",
          traits: dict[str, Any] | None = None, **properties: Any) -> str:
    """Record a track event for the customer with `email`; returns the customer id."""
    with ctx.db.transaction() as session:
        return record_event(session, ctx, event=event, identities={"email": email},
                            properties=properties, traits=traits, channel=channel,
                            source="test")


def consume(ctx: AppContext) -> int:
    """Run the marketing consumer until the stream is drained (no settle delay in tests)."""
    total = 0
    while True:
        read = process_new_events(ctx, settle=timedelta(0))
        total += read
        if read == 0:
            return total
