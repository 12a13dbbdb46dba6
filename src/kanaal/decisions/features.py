"""Features of the prospect from the request and the customer's timeline. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from kanaal.decisions.domain import ActionType, DecisionContext, FollowUp

CONTACT_EVENTS = {"Call Completed": "call", "Chat Completed": "chat"}
ORDER_EVENT = "Order Completed"
ERROR_EVENTS = frozenset({"Checkout Error", "Payment Failed", "Checkout Step Failed"})


@dataclass(frozen=True)
class Windows:
    """How far back the timeline counts, per feature."""

    follow_up: timedelta = timedelta(days=7)
    browse: timedelta = timedelta(days=30)
    checkout_errors: timedelta = timedelta(hours=1)


def _number(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return None


def _sku_of(properties: dict[str, Any]) -> str | None:
    value = properties.get("sku") or properties.get("product_id")
    return None if value is None else str(value)


def history_features(events: list[dict[str, Any]], *, now: datetime, product_sku: str | None,
                     windows: Windows = Windows()) -> dict[str, Any]:  # noqa: B008
    """Contacts, follow-up, online browsing and checkout errors from a timeline (newest first)."""
    follow_up: FollowUp | None = None
    contacts = 0
    converted_contact = False
    browsed = False
    errors = 0
    for event in sorted(events, key=lambda e: e["timestamp"]):
        name, at = event.get("event"), event["timestamp"]
        props = event.get("properties") or {}
        if name == ORDER_EVENT:
            if contacts:
                converted_contact = True
            follow_up = None
        elif name in CONTACT_EVENTS:
            contacts += 1
            if props.get("outcome") != "sale" and now - at <= windows.follow_up:
                follow_up = FollowUp(
                    interaction=CONTACT_EVENTS[str(name)], at=at,
                    queue=props.get("queue"), agent_id=props.get("agent_id"),
                    agent_name=props.get("agent_name"), quote=_number(props.get("quote")),
                    discount_percent=_number(props.get("discount_percent")))
            else:
                follow_up = None
        elif (name == "Product Viewed" and product_sku is not None
              and event.get("channel") in {"web", "mobile", "shop_in_shop"}
              and _sku_of(props) == product_sku and now - at <= windows.browse):
            browsed = True
        elif name in ERROR_EVENTS and now - at <= windows.checkout_errors:
            errors += 1
    return {"prior_contacts": contacts, "prior_contact_converted": converted_contact,
            "follow_up": follow_up, "browsed_product_online": browsed, "checkout_errors": errors}


def build_context(request: dict[str, Any], *, history: dict[str, Any], margin: float,
                  default_allowed: frozenset[ActionType]) -> DecisionContext:
    """The engine's DecisionContext from a validated request and history features."""
    context = request.get("context") or {}
    page = context.get("page") or {}
    cart = context.get("cart") or {}
    session = context.get("session") or {}
    items = cart.get("items") or []
    allowed = request.get("allowed_actions")
    return DecisionContext(
        channel=request["channel"],
        page_type=str(page.get("type") or "other"),
        pageviews=int(session.get("pageviews") or 1),
        seconds_on_site=float(session.get("seconds_on_site") or 0.0),
        is_returning=bool(session.get("is_returning") or False),
        cart_value=float(cart.get("value") or 0.0),
        cart_items=sum(int(item.get("quantity") or 1) for item in items),
        margin=margin,
        currency=str(cart.get("currency") or "EUR"),
        product_sku=(context.get("product") or {}).get("sku"),
        segment=context.get("segment"),
        store_id=context.get("store_id"),
        allowed=default_allowed if allowed is None else frozenset(
            ActionType(a) for a in allowed),
        **history,
    )
