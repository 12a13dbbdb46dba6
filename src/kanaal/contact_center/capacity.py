"""Queues and the live capacity snapshot: recomputed on every change, read from ctx.live."""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kanaal.contact_center import store
from kanaal.contact_center.domain import (
    Queue,
    QueueCapacity,
    QueueChannel,
    QueueStats,
    check_queue_name,
    handle_time_after,
    normalise_skills,
    queue_capacity,
    rate_after_arrival,
)
from kanaal.core.context import AppContext
from kanaal.core.errors import Conflict, InvalidInput, NotFound

log = logging.getLogger(__name__)

# One hash tag: the snapshot, its version and its order are written together (one slot).
SNAPSHOT_KEY = "contact_center:{capacity}"
VERSION_KEY = "contact_center:{capacity}:version"
_CACHE = "contact_center.capacity_cache"
LIVE_CHANNEL = "contact_center"


def arrival_window_seconds(ctx: AppContext) -> float:
    """Time constant of the exponentially weighted arrival rate (kanaal.toml, default 15 min)."""
    return float(ctx.param("contact_center.arrival_window_seconds", 900.0))


def handle_time_weight(ctx: AppContext) -> float:
    """Weight of the newest interaction in the weighted handle time (default 0.2)."""
    return float(ctx.param("contact_center.handle_time_weight", 0.2))


def create_queue(
    ctx: AppContext,
    *,
    name: str,
    skill: str,
    channel: str,
    target_service_level: float = 0.8,
    target_answer_seconds: float = 20.0,
    patience_seconds: float | None = None,
    sla_seconds: int = 900,
    handle_time_seconds: float = 180.0,
    arrival_rate_per_minute: float = 0.0,
    external_id: str | None = None,
) -> Queue:
    """Add a queue for one skill and channel with its service-level target."""
    try:
        kind = QueueChannel(channel)
    except ValueError as exc:
        raise InvalidInput(f"unknown queue channel {channel!r}", code="invalid_channel") from exc
    if not 0 < target_service_level <= 1 or target_answer_seconds < 0:
        raise InvalidInput("target must be a level in (0, 1] within >= 0 seconds",
                           code="invalid_target")
    if patience_seconds is not None and patience_seconds <= 0:
        raise InvalidInput("patience must be above 0 seconds", code="invalid_patience")
    if handle_time_seconds <= 0 or arrival_rate_per_minute < 0 or sla_seconds <= 0:
        raise InvalidInput("handle time and SLA must be > 0, arrival rate >= 0",
                           code="invalid_queue_figures")
    queue = Queue(
        id=ctx.ids.new("que"), name=check_queue_name(name), skill=normalise_skills([skill])[0],
        channel=kind, target_service_level=target_service_level,
        target_answer_seconds=target_answer_seconds, patience_seconds=patience_seconds,
        sla_seconds=sla_seconds, external_id=external_id,
    )
    now = ctx.clock.now()
    stats = QueueStats(arrival_rate_per_minute / 60.0, now, handle_time_seconds, 0)
    try:
        with ctx.db.transaction() as session:
            store.insert_queue(session, queue, stats, created_at=now)
    except IntegrityError as exc:
        raise Conflict(f"a queue named {name!r} (or with that external id) exists",
                       code="queue_exists") from exc
    refresh_capacity(ctx)
    return queue


def list_queues(ctx: AppContext) -> list[Queue]:
    """Every queue, by name."""
    with ctx.db.reader() as session:
        return [store.queue_from_row(r) for r in store.all_queue_rows(session)]


def get_queue_in(session: Session, name: str, *, lock: bool = False) -> Queue:
    """A queue by name or external id, or NotFound `unknown_queue`."""
    row = store.find_queue_row(session, name, lock=lock)
    if row is None:
        raise NotFound(f"no queue {name!r}", code="unknown_queue")
    return store.queue_from_row(row)


def record_arrival_in(session: Session, ctx: AppContext, queue_name: str, *,
                      waiting_delta: int = 0) -> None:
    """One more arrival on a queue: update its weighted arrival rate (and waiting count)."""
    row = store.find_queue_row(session, queue_name, lock=True)
    if row is None:
        raise NotFound(f"no queue {queue_name!r}", code="unknown_queue")
    now = ctx.clock.now()
    rate = rate_after_arrival(row.arrival_rate, row.arrivals_at, now, arrival_window_seconds(ctx))
    store.update_queue_stats(session, row.id, arrival_rate=rate, arrivals_at=now,
                             waiting=max(0, row.waiting + waiting_delta))


def change_waiting_in(session: Session, queue_name: str, delta: int) -> None:
    """Callers joined (+) or left (-) a queue's waiting room (never below zero)."""
    row = store.find_queue_row(session, queue_name, lock=True)
    if row is None:
        raise NotFound(f"no queue {queue_name!r}", code="unknown_queue")
    store.update_queue_stats(session, row.id, waiting=max(0, row.waiting + delta))


def record_handle_time_in(session: Session, ctx: AppContext, queue_name: str,
                          seconds: float) -> None:
    """Fold one finished interaction's handle time into the queue's weighted handle time."""
    row = store.find_queue_row(session, queue_name, lock=True)
    if row is None:
        return
    weighted = handle_time_after(row.handle_time_seconds, seconds, handle_time_weight(ctx))
    store.update_queue_stats(session, row.id, handle_time_seconds=weighted)


def compute_capacity(session: Session, ctx: AppContext, now: datetime
                     ) -> dict[str, QueueCapacity]:
    """Capacity of every queue from the database as of `now`."""
    agents = store.all_agents(session)
    callbacks = store.callback_load(session, now)
    window = arrival_window_seconds(ctx)
    result: dict[str, QueueCapacity] = {}
    for row in store.all_queue_rows(session):
        queue, stats = store.queue_from_row(row), store.stats_from_row(row)
        due, booked_15, booked_30 = callbacks.get(queue.name, (0, 0, 0))
        result[queue.name] = queue_capacity(
            queue, stats, agents, queue_length=stats.waiting + due, now=now,
            window_seconds=window, booked_15=booked_15, booked_30=booked_30)
    return result


def refresh_capacity(ctx: AppContext) -> dict[str, QueueCapacity]:
    """Recompute every queue's capacity and store it in the live store for all workers.

    Snapshots are ordered by when their database read began: the refresh takes the snapshot's
    next order from the live store (`next_order`, a counter shared by every worker on the
    store) before it opens its read, and stores with `put_json_if_newer`, which keeps a stored
    snapshot of a later order. So a refresh that read the database before a change (the
    periodic worker, here or in another process) cannot store its snapshot over the one
    `after_change` computed after the change, whichever finishes last. The order does not come
    from `ctx.clock`: two refreshes at one clock instant still store in the order they began.

    No lock: the order decides which snapshot stays, within this process as across
    processes, so a change's refresh does not wait for a periodic one in progress.

    Returns the live snapshot: the one this refresh computed, or, when a snapshot read later
    was stored first, that newer one (so a caller never acts on the refused, older figures).
    """
    order = ctx.live.next_order(SNAPSHOT_KEY)
    now = ctx.clock.now()
    with ctx.db.reader() as session:
        snapshot = compute_capacity(session, ctx, now)
    version = uuid.uuid4().hex
    # The snapshot and its version in one atomic write: a reader that sees the new version
    # finds its snapshot (or a newer one, whose own version it then caches).
    stored = ctx.live.put_json_if_newer(SNAPSHOT_KEY, {
        "version": version,
        "computed_at": now.isoformat(),
        "queues": {name: asdict(cap) for name, cap in snapshot.items()},
    }, order=order, together={VERSION_KEY: version})
    if not stored:
        # A snapshot read after this one's was stored meanwhile: that one is the live one.
        newer = _stored(ctx)
        if newer is not None:
            return newer[1]
    return snapshot


def _stored(ctx: AppContext) -> tuple[str, dict[str, QueueCapacity]] | None:
    """(computed_at, snapshot) from the live store, decoded once per version per process."""
    version = ctx.live.get_json(VERSION_KEY)
    cached = ctx.state.get(_CACHE)
    if cached is not None and version is not None and cached[0] == version:
        return cached[1], cached[2]
    stored = ctx.live.get_json(SNAPSHOT_KEY)
    if stored is None:
        return None
    queues = {name: QueueCapacity(**fields) for name, fields in stored["queues"].items()}
    ctx.state[_CACHE] = (stored.get("version"), stored["computed_at"], queues)
    return stored["computed_at"], queues


def capacity_snapshot(ctx: AppContext) -> dict[str, QueueCapacity]:
    """The live capacity per queue name: a small live-store read (recomputed if missing).

    The returned dict is shared by callers in this process until the next change: read it,
    do not modify it.
    """
    found = _stored(ctx)
    if found is None:
        return refresh_capacity(ctx)
    return found[1]


def snapshot_computed_at(ctx: AppContext) -> str | None:
    """When the stored snapshot was computed (ISO 8601), or None."""
    found = _stored(ctx)
    return None if found is None else found[0]


def after_change(ctx: AppContext, message: dict[str, Any]) -> None:
    """After a committed change: refresh the snapshot, then tell live listeners (the desk).

    The change is already committed, so a live-store outage is logged rather than raised; the
    background refresh brings the snapshot back once the store answers.
    """
    try:
        refresh_capacity(ctx)
    except Exception:  # noqa: BLE001 - see the docstring
        log.warning("could not refresh the capacity snapshot after %s", message.get("type"),
                    exc_info=True)
    try:
        ctx.live.publish(LIVE_CHANNEL, message)
    except Exception:  # noqa: BLE001 - a lost live update must not fail a committed change
        log.warning("could not publish %s on %s", message.get("type"), LIVE_CHANNEL,
                    exc_info=True)
