"""Shared by callbacks and interactions: phone numbers, currency and timeline events."""

from __future__ import annotations

import importlib
import json
import logging
from typing import Any

import phonenumbers
from sqlalchemy.orm import Session

from kanaal.core.context import AppContext
from kanaal.core.errors import InvalidInput, PayloadTooLarge

log = logging.getLogger(__name__)


def normalise_phone(ctx: AppContext, phone: str) -> str:
    """The phone number in E.164, read in settings.default_phone_region when it has no +."""
    try:
        parsed = phonenumbers.parse(phone, ctx.settings.default_phone_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(f"{phone!r} is not a phone number", code="invalid_phone") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidInput(f"{phone!r} is not a valid phone number", code="invalid_phone")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def record_on_timeline_in(session: Session, ctx: AppContext, *, event: str, customer_id: str | None,
              identities: dict[str, str], properties: dict[str, Any], message_id: str,
              channel: str) -> str | None:
    """Write an event on the customer's timeline through the collect feature; its customer id."""
    if customer_id is None and not identities:
        return None
    try:
        collect = importlib.import_module("kanaal.collect.service")
    except ModuleNotFoundError:
        # The collect feature is not installed in this build: the interaction still counts.
        log.warning("kanaal.collect is missing; %s not written to a timeline", event)
        return customer_id
    customer: str = collect.record_event(
        session, ctx, type="track", event=event, identities=identities,
        customer_id=customer_id, properties=properties, channel=channel,
        source="contact_center", message_id=message_id, timestamp=ctx.clock.now(),
    )
    return customer


def currency(ctx: AppContext) -> str:
    """The currency interactions are valued in (kanaal.toml contact_center.currency)."""
    return str(ctx.param("contact_center.currency", "EUR"))


MAX_CONTEXT_BYTES = 16 * 1024


def check_context(context: dict[str, Any]) -> dict[str, Any]:
    """Free-form context (JSON) of a callback or task, limited to 16 KB."""
    if len(json.dumps(context, default=str)) > MAX_CONTEXT_BYTES:
        raise PayloadTooLarge(f"context is limited to {MAX_CONTEXT_BYTES} bytes of JSON",
                              code="context_too_large")
    return context
