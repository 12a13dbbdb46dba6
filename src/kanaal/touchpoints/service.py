"""Widget use cases: a callback asked for on the website, an offer code checked at checkout."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from kanaal.collect.service import record_event
from kanaal.contact_center import service as contact_center
from kanaal.contact_center.capacity import after_change
from kanaal.contact_center.work import callback_message
from kanaal.core.context import AppContext
from kanaal.core.errors import Conflict
from kanaal.core.idempotency import run_idempotent
from kanaal.customers.service import find_customer_id
from kanaal.decisions.service import validate_offer_code
from kanaal.touchpoints.domain import callback_context, pick_callback_queue

SOURCE = "touchpoints"


def visitor_identities(anonymous_id: str | None, user_id: str | None) -> dict[str, str]:
    """The identities a browser visitor brings: its anonymous id cookie and a known user id."""
    found = {"anonymous_id": anonymous_id, "user_id": user_id}
    return {kind: value for kind, value in found.items() if value}


def find_visitor_in(session: Session, identities: dict[str, str]) -> str | None:
    """The customer a visitor's identities already point at, if any."""
    for kind in ("user_id", "anonymous_id"):
        if kind in identities:
            found = find_customer_id(session, kind, identities[kind])
            if found is not None:
                return found
    return None


def callback_queue(ctx: AppContext, requested: str | None) -> str:
    """The callback queue a widget request goes to (Conflict `no_callback_queue` if none)."""
    rows = [(q.name, q.skill, q.channel.value) for q in contact_center.list_queues(ctx)]
    configured = ctx.param("touchpoints.callback_queue", None)
    chosen = pick_callback_queue(rows, requested, configured)
    if chosen is None:
        raise Conflict("no queue takes callbacks", code="no_callback_queue")
    return chosen


def request_callback(ctx: AppContext, body: dict[str, Any],
                     idempotency_key: str | None) -> tuple[dict[str, Any], bool]:
    """Stitch the visitor to the phone number and queue a callback with the cart and pages.

    Returns (callback fields, replayed). Nothing is stored when the phone number is invalid.
    """
    phone = contact_center.normalise_phone(ctx, body["phone"])
    queue = callback_queue(ctx, body.get("queue"))
    identities = visitor_identities(body.get("anonymousId"), body.get("userId"))
    context = callback_context(decision_id=body.get("decision_id"), cart=body.get("cart"),
                               pages=body.get("pages") or [], lang=body.get("lang") or "en")

    def work(session: Session) -> dict[str, Any]:
        customer_id = record_event(
            session, ctx, type="identify", event=None, identities={**identities, "phone": phone},
            traits={"phone": phone}, channel="web", source=SOURCE)
        callback = contact_center.create_callback_in(
            session, ctx, customer_id=customer_id, phone=phone, queue=queue, slot_start=None,
            context=context)
        return {"id": callback.id, "queue": callback.queue, "phone": callback.phone,
                "due_at": callback.due_at.isoformat(), "customer_id": callback.customer_id}

    result, replayed = run_idempotent(ctx.db, ctx.clock, scope="touchpoints.callbacks",
                                      key=idempotency_key, request=body, work=work)
    if not replayed:
        callback = contact_center.get_callback(ctx, result["id"])
        after_change(ctx, {"type": "callback.created", **callback_message(callback)})
    return result, replayed


def check_offer_code(ctx: AppContext, body: dict[str, Any]) -> dict[str, Any]:
    """Validate an offer code for this visitor through the decision engine's offer codes."""
    identities = visitor_identities(body.get("anonymousId"), body.get("userId"))
    with ctx.db.reader() as session:
        customer_id = find_visitor_in(session, identities)
        offer = validate_offer_code(session, ctx, body["code"], customer_id=customer_id)
    return {"code": offer.code, "discount_percent": offer.discount_percent,
            "currency": offer.currency, "expires_at": offer.expires_at}
