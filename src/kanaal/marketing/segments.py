"""Segment use cases: define, evaluate incrementally per affected customer, refresh in bulk."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kanaal.collect.service import record_event
from kanaal.core.context import AppContext
from kanaal.core.errors import Conflict, InvalidInput, NotFound
from kanaal.customers import feed
from kanaal.marketing import store
from kanaal.marketing.channel_mix import MemberEvent, channel_mix
from kanaal.marketing.rfm import Purchase, rfm_scores, summarise
from kanaal.marketing.segment_rules import EventRecord, Profile, Rule, evaluate, next_change
from kanaal.marketing.segment_rules import parse_rule as parse_segment_rule

BULK_CHUNK = 500
SOURCE = "kanaal-segments"


@dataclass(frozen=True, slots=True)
class Segment:
    """A named rule with its member count."""

    id: str
    name: str
    description: str
    rule: dict[str, Any]
    created_at: datetime
    members: int


@dataclass(frozen=True, slots=True)
class Changes:
    """Memberships that started and ended in one evaluation."""

    entered: list[tuple[str, str]]
    exited: list[tuple[str, str]]


def _parsed(session: Session) -> list[tuple[Any, Rule]]:
    return [(row, parse_segment_rule(row.rule)) for row in store.all_segments(session)]


def create_segment(ctx: AppContext, *, name: str, description: str, rule: Any) -> Segment:
    """Validate and save a segment, then compute its members (nothing saved if invalid)."""
    if not name.strip():
        raise InvalidInput("a segment needs a name", code="invalid_segment",
                           details=[{"loc": "name", "message": "is required"}])
    parse_segment_rule(rule)
    segment_id = ctx.ids.new("seg")
    try:
        with ctx.db.transaction() as session:
            session.execute(store.segments.insert().values(
                id=segment_id, name=name.strip(), description=description, rule=rule,
                created_at=ctx.clock.now()))
    except IntegrityError as exc:
        raise Conflict(f"a segment called {name!r} exists", code="duplicate_segment") from exc
    refresh_all(ctx)
    return get_segment(ctx, segment_id)


def get_segment(ctx: AppContext, segment_id: str) -> Segment:
    """One segment with its current member count."""
    with ctx.db.reader() as session:
        row = session.execute(
            select(store.segments).where(store.segments.c.id == segment_id)).first()
        if row is None:
            raise NotFound(f"no segment {segment_id!r}", code="segment_not_found")
        count = session.execute(
            select(func.count()).select_from(store.segment_members)
            .where(store.segment_members.c.segment_id == segment_id)).scalar_one()
    return Segment(row.id, row.name, row.description, row.rule, row.created_at, int(count))


def list_segments(ctx: AppContext) -> list[Segment]:
    """Every segment with member counts."""
    with ctx.db.reader() as session:
        ids = [row.id for row in store.all_segments(session)]
    return [get_segment(ctx, segment_id) for segment_id in ids]


def segment_member_ids(ctx: AppContext, segment_id: str, *, limit: int = 1000,
                       after: str | None = None) -> list[str]:
    """Customer ids in a segment, in id order (page with `after`)."""
    get_segment(ctx, segment_id)
    with ctx.db.reader() as session:
        return [row.customer_id for row in store.members_of(session, segment_id, limit=limit,
                                                           after=after)]


def _lookback(
    rules: Sequence[Rule], now: datetime
) -> tuple[datetime | None, frozenset[str] | None]:
    longest = max((rule.lookback_days() for rule in rules), default=0.0)
    since = None if longest == float("inf") else now - timedelta(days=longest)
    if any(rule.reads_channels() for rule in rules):
        return since, None
    names: frozenset[str] = frozenset()
    for rule in rules:
        names |= rule.event_names()
    return since, names


def evaluate_customers_in(
    session: Session, ctx: AppContext, customer_ids: Sequence[str]
) -> Changes:
    """Re-evaluate every segment for these customers only and record entries and exits."""
    now = ctx.clock.now()
    segments = _parsed(session)
    survivors = feed.survivors_of(session, sorted(set(customer_ids)))
    gone = [cid for cid, survivor in survivors.items() if survivor != cid]
    live = sorted({s for s in survivors.values() if s is not None})
    before = store.memberships(session, [*live, *gone])
    exited = sorted(pair for pair in before if pair[1] in gone)
    entered: list[tuple[str, str]] = []
    rechecks: dict[str, datetime | None] = dict.fromkeys(gone)
    if segments and live:
        rules = [rule for _, rule in segments]
        since, names = _lookback(rules, now)
        snaps = feed.snapshots(session, live, since=since, event_names=names)
        rfm = store.rfm_of(session, live)
        for cid in live:
            snap = snaps[cid]
            profile = Profile(
                traits=snap.traits, identity_types=frozenset(snap.identity_types),
                events=[EventRecord(e.event, e.channel, e.timestamp, e.properties)
                        for e in snap.events],
                rfm=rfm.get(cid),
            )
            for row, rule in segments:
                inside = evaluate(rule, profile, now)
                if inside and (row.id, cid) not in before:
                    entered.append((row.id, cid))
                elif not inside and (row.id, cid) in before:
                    exited.append((row.id, cid))
            rechecks[cid] = next_change(rules, profile, now)
    store.add_members(session, [{"segment_id": s, "customer_id": c, "entered_at": now}
                                for s, c in entered])
    store.remove_members(session, exited)
    store.set_rechecks(session, rechecks)
    names_by_id = {row.id: row.name for row, _ in segments}
    for label, pairs in (("Segment Entered", entered), ("Segment Exited", exited)):
        for segment_id, cid in pairs:
            if cid in gone:
                continue  # merged away or erased: no timeline to write on
            record_event(
                session, ctx, event=label, identities={}, customer_id=cid,
                properties={"segment_id": segment_id,
                            "segment_name": names_by_id.get(segment_id, segment_id)},
                channel="system", source=SOURCE,
            )
    return Changes(entered, exited)


def _refresh_rfm(ctx: AppContext) -> None:
    now = ctx.clock.now()
    purchases: list[Purchase] = []
    with ctx.db.reader() as session:
        position = None
        while True:
            batch = feed.events_after(session, after=position, limit=5000)
            if not batch:
                break
            position = (batch[-1].received_at, batch[-1].id)
            for e in batch:
                if e.event == "Order Completed" and e.timestamp <= now:
                    amount = e.properties.get("revenue", e.properties.get("total", 0))
                    try:
                        value = Decimal(str(amount))
                    except ArithmeticError:
                        continue
                    purchases.append(Purchase(e.customer_id, e.timestamp.date(), value))
        survivors = feed.survivors_of(session, sorted({p.customer_id for p in purchases}))
    purchases = [Purchase(survivors[p.customer_id] or "", p.day, p.amount) for p in purchases
                 if survivors.get(p.customer_id)]
    summary = summarise(purchases, now.date())
    scores = rfm_scores(summary)
    rows = [
        {"customer_id": cid, "recency": s.recency, "frequency": s.frequency,
         "monetary": s.monetary, "orders": summary[cid].orders,
         "revenue": summary[cid].total_revenue, "computed_at": now}
        for cid, s in scores.items()
    ]
    with ctx.db.transaction() as session:
        store.replace_rfm(session, rows)


def refresh_all(ctx: AppContext, progress: Callable[[int, int], None] | None = None) -> Changes:
    """Recompute RFM scores and every membership of every customer, in chunks."""
    _refresh_rfm(ctx)
    with ctx.db.reader() as session:
        total = feed.count_surviving_customers(session)
    entered: list[tuple[str, str]] = []
    exited: list[tuple[str, str]] = []
    after: str | None = None
    done = 0
    while True:
        with ctx.db.reader() as session:
            ids = feed.surviving_customer_ids(session, after=after, limit=BULK_CHUNK)
        if not ids:
            break
        def work(session: Session, chunk: list[str] = ids) -> Changes:
            return evaluate_customers_in(session, ctx, chunk)

        changes = ctx.db.run(work)
        entered += changes.entered
        exited += changes.exited
        after = ids[-1]
        done += len(ids)
        if progress is not None:
            progress(done, total)
    return Changes(entered, exited)


def segment_channels(ctx: AppContext, segment_id: str) -> list[dict[str, Any]]:
    """The channel mix of a segment's current members."""
    members = segment_member_ids(ctx, segment_id, limit=1_000_000)
    events: list[MemberEvent] = []
    with ctx.db.reader() as session:
        for start in range(0, len(members), BULK_CHUNK):
            chunk = members[start:start + BULK_CHUNK]
            for snap in feed.snapshots(session, chunk, since=None, event_names=None).values():
                events += [MemberEvent(snap.customer_id, e.event, e.channel, e.properties,
                                       (e.timestamp, e.id)) for e in snap.events]
    return channel_mix(events)
