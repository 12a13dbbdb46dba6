"""Landing a batch of events: dedupe, suppression, stitching and writes in few statements."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from kanaal.core.context import AppContext
from kanaal.core.errors import NotFound
from kanaal.customers import store
from kanaal.customers.domain import (
    IdentityGraph,
    IdentityRules,
    IncomingEvent,
    identity_hash,
    rules_from_config,
)


class StaleGraph(Exception):
    """Another transaction changed the customers this batch touches; run the batch again."""


@dataclass
class IngestReport:
    """What happened to each event of a batch, in order (customer id or why it was not stored)."""

    customer_ids: list[str | None] = field(default_factory=list)
    stored: int = 0
    duplicates: int = 0
    suppressed: int = 0
    merges: int = 0
    dropped_identities: int = 0


def identity_rules(ctx: AppContext) -> IdentityRules:
    """The stitching rules from kanaal.toml's `[identity]` table (cached per context)."""
    cached = ctx.state.get("customers.rules")
    if isinstance(cached, IdentityRules):
        return cached
    config = ctx.param("identity", {})
    rules = rules_from_config(config if isinstance(config, dict) else {})
    ctx.state["customers.rules"] = rules
    return rules


def ingest_in(session: Session, ctx: AppContext, events: list[IncomingEvent]) -> IngestReport:
    """Stitch and store events inside the caller's transaction; duplicates store nothing."""
    report = IngestReport()
    fresh = _without_duplicates(session, events, report)
    fresh = _apply_suppressions(session, fresh)
    graph = IdentityGraph(identity_rules(ctx), _customer_ids(ctx),
                          fetch_counts=lambda customer_id: _counts_on_demand(session, customer_id))
    identities = list({identity for event in fresh for identity in event.identities})
    store.lock_identities(session, identities)
    for identity, customer_id in store.owners_of(session, identities):
        graph.load(identity, customer_id)
    anchors = sorted({event.customer_id for event in fresh if event.customer_id})
    known = store.survivors(session, anchors)
    for wanted in anchors:
        if wanted not in known:
            raise NotFound(f"no customer {wanted!r}", code="unknown_customer")
    involved = sorted(set(graph.owners.values()) | set(known.values()))
    if not store.lock_customers(session, involved):
        raise StaleGraph("a customer of this batch was merged or erased meanwhile")
    counted = _may_need_counts(graph, fresh, known)
    found = store.identity_counts(session, counted)
    for customer_id in counted:  # a customer without identities holds none of any type
        graph.load_counts(customer_id, found.get(customer_id, {}))

    landed: dict[int, str] = {}
    for position, event in enumerate(fresh):
        anchor = known[event.customer_id] if event.customer_id else None
        stitched = graph.stitch(event.identities, message_id=event.message_id, anchor=anchor)
        landed[position] = stitched.customer_id
        report.dropped_identities += len(stitched.dropped)
    _write(session, ctx, graph, fresh, landed)
    report.merges = len(graph.merges)
    report.stored = len(fresh)
    final = {id(event): graph.find(landed[i]) for i, event in enumerate(fresh)}
    report.customer_ids = [final.get(id(event)) for event in events]
    report.suppressed = len(events) - report.stored - report.duplicates
    return report


def _counts_on_demand(session: Session, customer_id: str) -> dict[str, int]:
    """Identity counts of one customer the prefetch did not cover (a safety net)."""
    return store.identity_counts(session, [customer_id]).get(customer_id, {})


def _may_need_counts(
    graph: IdentityGraph, events: list[IncomingEvent], known: dict[str, str]
) -> list[str]:
    """The stored customers whose identity counts stitching may ask for: those an event
    reaches that does not already point wholly at one customer (or has an anchor). Events
    that do are stitched without the rules, and an event that goes through them in the batch
    does so before the batch too; so this prefetch is complete in practice, and the graph
    fetches any other customer's counts on demand."""
    wanted: set[str] = set()
    for event in events:
        owners = {graph.owners.get(identity) for identity in event.identities}
        if event.customer_id:
            wanted.add(known[event.customer_id])
        elif len(owners) == 1 and None not in owners:
            continue
        wanted.update(owner for owner in owners if owner is not None)
    return sorted(wanted)


def _customer_ids(ctx: AppContext) -> Callable[[], str]:
    """New customer ids for one batch: one generated id, suffixed (unique, time-ordered)."""
    base: list[str] = []
    counter = itertools.count()

    def new() -> str:
        if not base:
            base.append(ctx.ids.new("cus"))
        return f"{base[0]}{next(counter):05d}"

    return new


def _without_duplicates(
    session: Session, events: list[IncomingEvent], report: IngestReport
) -> list[IncomingEvent]:
    keys = [(event.source, event.message_id) for event in events]
    stored = store.existing_message_ids(session, keys)
    fresh: list[IncomingEvent] = []
    for key, event in zip(keys, events, strict=True):
        if key in stored:
            report.duplicates += 1
            continue
        stored.add(key)
        fresh.append(event)
    return fresh


def _apply_suppressions(session: Session, events: list[IncomingEvent]) -> list[IncomingEvent]:
    """Drop (intake) or strip (internal) erased identities; a consent lifts the suppression."""
    if not store.any_suppressions(session):
        return events
    hashes = {identity_hash(i): i for event in events for i in event.identities}
    suppressed = store.suppressed_hashes(session, list(hashes))
    if not suppressed:
        return events
    kept: list[IncomingEvent] = []
    for event in events:
        mine = [identity_hash(i) for i in event.identities]
        blocked = [h for h in mine if h in suppressed]
        if not blocked:
            kept.append(event)
        elif event.consent:
            store.lift_suppressions(session, blocked)
            suppressed.difference_update(blocked)
            kept.append(event)
        elif not event.drop_if_suppressed:
            event.identities = [i for i, h in zip(event.identities, mine, strict=True)
                                if h not in suppressed]
            kept.append(event)
    return kept


def _write(
    session: Session, ctx: AppContext, graph: IdentityGraph, events: list[IncomingEvent],
    landed: dict[int, str],
) -> None:
    now = ctx.clock.now()
    created = set(graph.created)
    store.insert_customers(session, [
        {"id": customer, "created_at": now,
         "merged_into": None if graph.find(customer) == customer else graph.find(customer)}
        for customer in graph.created
    ])
    merge_rows = []
    for merge in graph.merges:
        if merge.merged not in created:
            store.apply_merge(session, survivor=graph.find(merge.survivor), merged=merge.merged)
        merge_rows.append({"id": ctx.ids.new("mrg"), "customer_id": merge.survivor,
                           "merged_id": merge.merged, "message_id": merge.message_id,
                           "created_at": now})
    store.insert_merges(session, merge_rows)
    sources = _identity_sources(graph, events)
    store.insert_identities(session, [
        {"type": identity.type, "value": identity.value, "customer_id": graph.find(owner),
         "source": sources.get((identity.type, identity.value), ""), "created_at": now}
        for identity, owner in graph.attached
    ])
    # One generated id per batch, suffixed per event: unique and still time-ordered.
    base = ctx.ids.new("evt")
    store.insert_events(session, events, [f"{base}{i:05d}" for i in range(len(events))],
                        [graph.find(landed[i]) for i in range(len(events))])
    _write_traits(session, graph, events, landed, now)


def _identity_sources(graph: IdentityGraph, events: list[IncomingEvent]) -> dict[Any, str]:
    wanted = {(identity.type, identity.value) for identity, _ in graph.attached}
    sources: dict[Any, str] = {}
    for event in events:
        for identity in event.identities:
            key = (identity.type, identity.value)
            if key in wanted and key not in sources:
                sources[key] = event.source
    return sources


def _write_traits(
    session: Session, graph: IdentityGraph, events: list[IncomingEvent],
    landed: dict[int, str], now: datetime,
) -> None:
    """Last received wins; an explicit null removes the trait."""
    latest: dict[tuple[str, str], tuple[Any, str]] = {}
    for position, event in enumerate(events):
        customer = graph.find(landed[position])
        for name, value in event.traits.items():
            latest[(customer, name)] = (value, event.source)
    upserts = [
        {"customer_id": customer, "name": name, "value": value, "source": source,
         "updated_at": now}
        for (customer, name), (value, source) in latest.items() if value is not None
    ]
    removals = [key for key, (value, _) in latest.items() if value is None]
    store.upsert_traits(session, upserts)
    store.delete_traits(session, removals)

