"""The marketing consumer of the event stream: keeps segment memberships current for the
customers an event touches (never a rescan of everyone) and schedules trigger runs."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy.orm import Session

from kanaal.core.context import AppContext
from kanaal.customers import feed
from kanaal.marketing import store
from kanaal.marketing.segments import evaluate_customers_in
from kanaal.marketing.triggers import run_due, schedule_in

log = logging.getLogger(__name__)
CURSOR = "marketing"
# Events are read only once they are this old, so transactions still in flight when the
# consumer passes (their received_at is earlier than their commit) are not skipped.
SETTLE = timedelta(seconds=5)


def process_new_events(ctx: AppContext, *, limit: int = 1000, settle: timedelta = SETTLE) -> int:
    """Handle the next events of the stream and due membership rechecks; returns events read."""

    def work(session: Session) -> int:
        now = ctx.clock.now()
        events = [
            e for e in feed.events_after(session, after=store.cursor(session, CURSOR),
                                         limit=limit)
            if e.received_at <= now - settle
        ]
        affected = {e.customer_id for e in events}
        affected.update(store.due_rechecks(session, now, limit))
        if affected:
            evaluate_customers_in(session, ctx, sorted(affected))
        if events:
            schedule_in(session, ctx, events)
            store.save_cursor(session, CURSOR, (events[-1].received_at, events[-1].id))
        return len(events)

    return ctx.db.run(work)


async def marketing_worker(ctx: AppContext, stop: asyncio.Event) -> None:
    """Consume events and fire due triggers until the app stops."""
    while not stop.is_set():
        busy = False
        try:
            busy = await asyncio.to_thread(process_new_events, ctx) > 0
            await asyncio.to_thread(run_due, ctx)
        except Exception:  # noqa: BLE001 - keep consuming; the next pass retries
            log.exception("marketing pass failed")
        if not busy:
            try:
                await asyncio.wait_for(stop.wait(), timeout=1.0)
            except TimeoutError:
                pass
