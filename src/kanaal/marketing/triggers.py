"""Trigger use cases: define, schedule runs from events, and carry out due runs.

Runs live in the database, so a delayed action survives a restart; each run sends at most one
message (the outbox dedupes on the run id), and a newer qualifying event supersedes a run that
has not fired yet, so an abandoned cart produces exactly one email.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kanaal.collect.service import record_event
from kanaal.core import outbox
from kanaal.core.context import AppContext
from kanaal.core.errors import Conflict, InvalidInput, NotFound
from kanaal.customers import feed
from kanaal.customers.feed import StreamEvent
from kanaal.marketing import store
from kanaal.marketing.messaging import render, unsubscribe_token, validate_template
from kanaal.marketing.segment_rules import EventRecord, Profile, evaluate
from kanaal.marketing.trigger_rules import (
    TriggerSpec,
    after_quiet_hours,
    caps_allow,
    in_holdout,
    parse_trigger,
)
from kanaal.web.secrets import secret_key

SOURCE = "kanaal-triggers"
# How often a run that waits for stock looks again.
STOCK_RECHECK = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Trigger:
    """A saved trigger."""

    id: str
    name: str
    event: str
    definition: dict[str, Any]
    active: bool
    created_at: datetime


def _row_to_trigger(row: Any) -> Trigger:
    return Trigger(row.id, row.name, row.event, row.definition, row.active, row.created_at)


def create_trigger(ctx: AppContext, body: dict[str, Any]) -> Trigger:
    """Validate (rule, templates) and save a trigger; nothing is saved when anything is off."""
    spec = parse_trigger(body)
    action = spec.action
    for field in ("subject", "body"):
        if isinstance(action.get(field), str):
            validate_template(action[field], field=f"action.{field}")
    trigger_id = ctx.ids.new("trg")
    try:
        with ctx.db.transaction() as session:
            session.execute(store.triggers.insert().values(
                id=trigger_id, name=spec.name, event=spec.event, definition=body, active=True,
                created_at=ctx.clock.now()))
    except IntegrityError as exc:
        raise Conflict(f"a trigger called {spec.name!r} exists", code="duplicate_trigger") from exc
    return Trigger(trigger_id, spec.name, spec.event, body, True, ctx.clock.now())


def list_triggers(ctx: AppContext) -> list[Trigger]:
    """Every trigger, oldest first."""
    with ctx.db.reader() as session:
        rows = session.execute(select(store.triggers).order_by(store.triggers.c.created_at))
        return [_row_to_trigger(row) for row in rows]


def schedule_in(session: Session, ctx: AppContext, events: list[StreamEvent]) -> int:
    """Create a run for every (active trigger, matching event); returns how many were made."""
    names = sorted({e.event for e in events if e.event})
    if not names:
        return 0
    rows = session.execute(select(store.triggers).where(
        store.triggers.c.event.in_(names), store.triggers.c.active.is_(True))).all()
    by_event: dict[str, list[tuple[Any, TriggerSpec]]] = {}
    for row in rows:
        by_event.setdefault(row.event, []).append((row, parse_trigger(row.definition)))
    made = 0
    now = ctx.clock.now()
    for event in events:
        for row, spec in by_event.get(event.event or "", []):
            exists = session.execute(select(store.trigger_runs.c.id).where(
                store.trigger_runs.c.trigger_id == row.id,
                store.trigger_runs.c.source_event_id == event.id)).first()
            if exists is not None:
                continue  # the stream was re-read: this event was scheduled already
            session.execute(update(store.trigger_runs).where(
                store.trigger_runs.c.trigger_id == row.id,
                store.trigger_runs.c.customer_id == event.customer_id,
                store.trigger_runs.c.status == "scheduled",
            ).values(status="superseded", processed_at=now))
            due = after_quiet_hours(max(event.timestamp, now - spec.delay) + spec.delay,
                                    spec.quiet_hours)
            session.execute(store.trigger_runs.insert().values(
                id=ctx.ids.new("run"), trigger_id=row.id, customer_id=event.customer_id,
                source_event_id=event.id, status="scheduled", due_at=due, created_at=now))
            made += 1
    return made


def _in_stock(session: Session, properties: dict[str, Any]) -> bool | None:
    """Whether the event's sku (`properties.sku`) can be sold on its channel
    (`properties.channel`, a handle or id); None when the event does not name both."""
    from kanaal.channels.service import get_channel_in
    from kanaal.inventory.service import available_in

    sku, channel = properties.get("sku"), properties.get("channel")
    if not isinstance(sku, str) or not isinstance(channel, str):
        return None
    try:
        return available_in(session, sku=sku, channel=get_channel_in(session, channel)) > 0
    except NotFound:
        return None


def _finish(session: Session, run_id: str, status: str, now: datetime,
            message_id: str | None = None) -> str:
    session.execute(update(store.trigger_runs).where(store.trigger_runs.c.id == run_id)
                    .values(status=status, processed_at=now, message_id=message_id))
    return status


def _unsubscribed(session: Session, customer_id: str, channel: str) -> bool:
    return session.execute(select(store.unsubscribes.c.customer_id).where(
        store.unsubscribes.c.customer_id == customer_id,
        store.unsubscribes.c.channel == channel)).first() is not None


def _fire(session: Session, ctx: AppContext, run: Any, trigger: Any) -> str:
    now = ctx.clock.now()
    spec = parse_trigger(trigger.definition)
    survivor = feed.survivors_of(session, [run.customer_id])[run.customer_id]
    if survivor is None:
        return _finish(session, run.id, "cancelled", now)
    source = feed.event_by_id(session, run.source_event_id)
    started = source.timestamp if source is not None else run.created_at
    if feed.events_of_after(session, survivor, after=started, names=spec.cancel_on,
                            exclude_id=run.source_event_id):
        return _finish(session, run.id, "cancelled", now)
    if in_holdout(spec.name, survivor, spec.holdout_share):
        return _finish(session, run.id, "held_out", now)
    stocked = _in_stock(session, source.properties) if spec.wait_for_stock and source else True
    if stocked is None:
        return _finish(session, run.id, "invalid_context", now)
    if not stocked:
        if now - started >= spec.give_up_after:
            return _finish(session, run.id, "expired", now)
        session.execute(update(store.trigger_runs).where(store.trigger_runs.c.id == run.id)
                        .values(due_at=now + STOCK_RECHECK))
        return "waiting"
    snap = feed.snapshots(session, [survivor], since=None, event_names=None)[survivor]
    if spec.condition is not None:
        profile = Profile(snap.traits, frozenset(snap.identity_types),
                          [EventRecord(e.event, e.channel, e.timestamp, e.properties)
                           for e in snap.events])
        if not evaluate(spec.condition, profile, now):
            return _finish(session, run.id, "condition_failed", now)
    kind = spec.action["kind"]
    if kind in {"email", "sms"}:
        consent = (snap.traits.get("consent") or {}).get(kind)
        if consent is not True:
            return _finish(session, run.id, "no_consent", now)
        if _unsubscribed(session, survivor, kind):
            return _finish(session, run.id, "unsubscribed", now)
    earlier = [r.processed_at for r in session.execute(
        select(store.trigger_runs.c.processed_at).where(
            store.trigger_runs.c.trigger_id == trigger.id,
            store.trigger_runs.c.customer_id == survivor,
            store.trigger_runs.c.status == "sent"))]
    if not caps_allow(earlier, now, spec.caps):
        return _finish(session, run.id, "capped", now)
    return _deliver(session, ctx, run, spec, survivor, snap.traits,
                    dict(source.properties or {}) if source is not None else {})


def _deliver(session: Session, ctx: AppContext, run: Any, spec: TriggerSpec, customer_id: str,
             traits: dict[str, Any], event_properties: dict[str, Any]) -> str:
    now = ctx.clock.now()
    kind = spec.action["kind"]
    if kind == "webhook":
        outbox.publish_event(session, ids=ctx.ids, clock=ctx.clock, topic="trigger.fired",
                             data={"trigger": spec.name, "customer_id": customer_id,
                                   "event_properties": event_properties})
        return _finish(session, run.id, "sent", now)
    if kind == "offer":
        code = spec.action.get("offer_code") or f"K-{run.id[-8:].upper()}"
        record_event(session, ctx, event="Offer Issued", identities={}, customer_id=customer_id,
                     properties={"offer_code": code, "trigger": spec.name}, channel="web",
                     source=SOURCE, message_id=f"offer-{run.id}")
        return _finish(session, run.id, "sent", now)
    points = feed.contact_points(session, customer_id)
    address = (points["email"] if kind == "email" else points["phone"])[:1]
    if not address:
        return _finish(session, run.id, "no_address", now)
    token = unsubscribe_token(secret_key(ctx.settings), customer_id, kind)
    base = ctx.settings.public_base_url.rstrip("/")
    context = {
        "customer": {"id": customer_id, **traits}, "traits": traits,
        "event": {"properties": event_properties}, "cart": event_properties,
        "unsubscribe_url": f"{base}/v1/unsubscribe/{token}", "shop_url": base,
        "offer_code": spec.action.get("offer_code", ""),
    }
    message = render(spec.action.get("subject", ""), spec.action["body"], context)
    payload = {"to": address[0], "subject": message.subject, "body": message.body,
               "unsubscribe_url": context["unsubscribe_url"], "trigger": spec.name,
               "customer_id": customer_id}
    message_id = outbox.enqueue(session, ids=ctx.ids, clock=ctx.clock, kind=kind,
                                topic=f"trigger.{kind}", destination=address[0], payload=payload,
                                dedupe_key=f"trigger-run:{run.id}")
    record_event(session, ctx, event="Email Sent" if kind == "email" else "SMS Sent",
                 identities={}, customer_id=customer_id,
                 properties={"trigger": spec.name, "subject": message.subject},
                 channel=kind, source=SOURCE, message_id=f"sent-{run.id}")
    return _finish(session, run.id, "sent", now, message_id)


def run_due(ctx: AppContext, *, limit: int = 200) -> dict[str, int]:
    """Carry out every run whose time has come; returns counts by outcome."""
    outcomes: dict[str, int] = {}
    with ctx.db.reader() as session:
        due = session.execute(select(store.trigger_runs.c.id).where(
            store.trigger_runs.c.status == "scheduled",
            store.trigger_runs.c.due_at <= ctx.clock.now()).order_by(
            store.trigger_runs.c.due_at).limit(limit)).scalars().all()
    for run_id in due:
        def work(session: Session, run_id: str = run_id) -> str | None:
            query = select(store.trigger_runs).where(store.trigger_runs.c.id == run_id,
                                                     store.trigger_runs.c.status == "scheduled")
            if not ctx.db.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            run = session.execute(query).first()
            if run is None:
                return None  # another worker took it
            trigger = session.execute(select(store.triggers).where(
                store.triggers.c.id == run.trigger_id)).first()
            return _fire(session, ctx, run, trigger)

        status = ctx.db.run(work)
        if status is not None:
            outcomes[status] = outcomes.get(status, 0) + 1
    return outcomes


def unsubscribe(ctx: AppContext, customer_id: str, channel: str) -> bool:
    """Record an unsubscribe (idempotent); True when it is new."""
    if channel not in {"email", "sms"}:
        raise InvalidInput("unknown channel", code="invalid_token")
    with ctx.db.transaction() as session:
        if _unsubscribed(session, customer_id, channel):
            return False
        session.execute(store.unsubscribes.insert().values(
            customer_id=customer_id, channel=channel, created_at=ctx.clock.now()))
        if feed.survivors_of(session, [customer_id])[customer_id] is not None:
            record_event(session, ctx, event="Unsubscribed", identities={},
                         customer_id=customer_id, properties={"channel": channel},
                         channel=channel, source=SOURCE)
    return True
