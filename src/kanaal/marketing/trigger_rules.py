"""Behavioural triggers: event, condition, delay, action, with caps, quiet hours and holdout.
Pure rules: parsing with path-precise errors, quiet-hour shifting, caps and holdout."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kanaal.core.errors import InvalidInput
from kanaal.marketing.segment_rules import Rule, parse_rule

ACTION_KINDS = ("email", "sms", "webhook", "offer")


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Local hours in which nothing is sent; sends are moved to the end of them."""

    start: time
    end: time
    timezone: str


@dataclass(frozen=True, slots=True)
class Caps:
    """At most `per_day` sends per customer per rolling day, `min_interval` apart."""

    per_day: int = 1
    min_interval: timedelta = timedelta(0)


@dataclass(frozen=True, slots=True)
class TriggerSpec:
    """A validated trigger definition."""

    name: str
    event: str
    delay: timedelta
    action: dict[str, Any]
    condition: Rule | None
    cancel_on: tuple[str, ...]
    caps: Caps
    quiet_hours: QuietHours | None
    holdout_share: float
    # "Back in stock": hold the run until the event's sku is available on its channel.
    wait_for_stock: bool = False
    give_up_after: timedelta = timedelta(days=30)


def _clock_time(value: Any, loc: str, errors: list[dict[str, Any]]) -> time:
    try:
        hours, minutes = str(value).split(":")
        return time(int(hours), int(minutes))
    except (ValueError, TypeError):
        errors.append({"loc": loc, "message": "must be a time like 22:00"})
        return time(0)


def parse_trigger(body: dict[str, Any]) -> TriggerSpec:
    """Validate a trigger definition; InvalidInput lists every problem with its location."""
    errors: list[dict[str, Any]] = []
    known = {"name", "event", "delay_seconds", "action", "condition", "cancel_on", "caps",
             "quiet_hours", "holdout_share", "wait_for_stock", "give_up_after_days"}
    errors += [{"loc": k, "message": f"unknown field {k!r}"} for k in body if k not in known]
    name, event = body.get("name"), body.get("event")
    if not isinstance(name, str) or not name.strip():
        errors.append({"loc": "name", "message": "is required"})
    if not isinstance(event, str) or not event.strip():
        errors.append({"loc": "event", "message": "is required (the event that starts it)"})
    delay = body.get("delay_seconds", 0)
    if isinstance(delay, bool) or not isinstance(delay, int) or delay < 0:
        errors.append({"loc": "delay_seconds", "message": "must be a non-negative integer"})
        delay = 0
    action = body.get("action")
    if not isinstance(action, dict) or action.get("kind") not in ACTION_KINDS:
        kinds = ", ".join(ACTION_KINDS)
        errors.append({"loc": "action.kind", "message": f"must be one of {kinds}"})
        action = {"kind": "invalid"}
    elif action["kind"] in {"email", "sms"} and not isinstance(action.get("body"), str):
        errors.append({"loc": "action.body", "message": "is required for email and sms"})
    elif action["kind"] == "email" and not isinstance(action.get("subject"), str):
        errors.append({"loc": "action.subject", "message": "is required for email"})
    condition = None
    if body.get("condition") is not None:
        try:
            condition = parse_rule(body["condition"])
        except InvalidInput as exc:
            errors += [{"loc": f"condition.{d['loc']}", "message": d["message"]}
                       for d in exc.details]
    cancel_on = body.get("cancel_on", [])
    if not isinstance(cancel_on, list) or not all(isinstance(e, str) for e in cancel_on):
        errors.append({"loc": "cancel_on", "message": "must be a list of event names"})
        cancel_on = []
    caps_body = body.get("caps", {}) or {}
    per_day = caps_body.get("per_day", 1)
    interval = caps_body.get("min_interval_hours", 0)
    if isinstance(per_day, bool) or not isinstance(per_day, int) or per_day < 1:
        errors.append({"loc": "caps.per_day", "message": "must be a positive integer"})
        per_day = 1
    if isinstance(interval, bool) or not isinstance(interval, int | float) or interval < 0:
        errors.append({"loc": "caps.min_interval_hours", "message": "must be >= 0"})
        interval = 0
    quiet = None
    if body.get("quiet_hours") is not None:
        q = body["quiet_hours"]
        zone = q.get("timezone", "UTC") if isinstance(q, dict) else "UTC"
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            errors.append({"loc": "quiet_hours.timezone", "message": f"unknown time zone {zone!r}"})
            zone = "UTC"
        if isinstance(q, dict):
            quiet = QuietHours(_clock_time(q.get("start"), "quiet_hours.start", errors),
                               _clock_time(q.get("end"), "quiet_hours.end", errors), zone)
        else:
            errors.append({"loc": "quiet_hours", "message": "must be {start, end, timezone}"})
    share = body.get("holdout_share", 0.0)
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share < 1:
        errors.append({"loc": "holdout_share", "message": "must be at least 0 and below 1"})
        share = 0.0
    wait = body.get("wait_for_stock", False)
    if not isinstance(wait, bool):
        errors.append({"loc": "wait_for_stock", "message": "must be true or false"})
        wait = False
    give_up = body.get("give_up_after_days", 30)
    if isinstance(give_up, bool) or not isinstance(give_up, int | float) or give_up <= 0:
        errors.append({"loc": "give_up_after_days", "message": "must be a positive number"})
        give_up = 30
    if errors:
        first = errors[0]
        raise InvalidInput(f"invalid trigger at {first['loc']}: {first['message']}",
                           code="invalid_trigger", details=errors)
    assert isinstance(name, str) and isinstance(event, str)
    return TriggerSpec(
        name=name.strip(), event=event.strip(), delay=timedelta(seconds=delay), action=action,
        condition=condition, cancel_on=tuple(cancel_on),
        caps=Caps(per_day, timedelta(hours=interval)), quiet_hours=quiet,
        holdout_share=float(share), wait_for_stock=wait,
        give_up_after=timedelta(days=give_up),
    )


def after_quiet_hours(when: datetime, quiet: QuietHours | None) -> datetime:
    """`when`, or the end of the quiet period it falls in (quiet hours may span midnight)."""
    if quiet is None:
        return when
    zone = ZoneInfo(quiet.timezone)
    local = when.astimezone(zone)
    moment = local.time()
    if quiet.start <= quiet.end:
        inside = quiet.start <= moment < quiet.end
        end_day = local.date()
    else:
        inside = moment >= quiet.start or moment < quiet.end
        end_day = local.date() + timedelta(days=1) if moment >= quiet.start else local.date()
    if not inside:
        return when
    end = datetime.combine(end_day, quiet.end, tzinfo=zone)
    return end.astimezone(when.tzinfo)


def caps_allow(previous_sends: Sequence[datetime], now: datetime, caps: Caps) -> bool:
    """Whether one more send now stays within the caps, given earlier sends to this customer."""
    last_day = [sent for sent in previous_sends if now - sent < timedelta(days=1)]
    if len(last_day) >= caps.per_day:
        return False
    return all(now - sent >= caps.min_interval for sent in previous_sends)


def in_holdout(trigger_name: str, customer_id: str, share: float) -> bool:
    """Deterministic holdout: the same customer is always in or out for a trigger."""
    if share <= 0:
        return False
    digest = hashlib.sha256(f"trigger:{trigger_name}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share
