"""Agent desk rules: how the customer timeline reads to an agent and what an outcome form means.

Pure code (stdlib and kanaal.core only), so it is tested without a database or a browser.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from kanaal.contact_center.domain import Outcome
from kanaal.core.errors import InvalidInput


class TimelineCategory(StrEnum):
    """The groups an agent scans the cross-channel timeline by."""

    PAGE = "page"
    CART = "cart"
    CONVERSATION = "conversation"
    EMAIL = "email"
    ORDER = "order"
    DECISION = "decision"
    PROFILE = "profile"
    OTHER = "other"


CATEGORY_LABELS: dict[TimelineCategory, str] = {
    TimelineCategory.PAGE: "Pages viewed",
    TimelineCategory.CART: "Cart",
    TimelineCategory.CONVERSATION: "Calls and chats",
    TimelineCategory.EMAIL: "Emails and SMS",
    TimelineCategory.ORDER: "Orders",
    TimelineCategory.DECISION: "Decisions and offers",
    TimelineCategory.PROFILE: "Profile",
    TimelineCategory.OTHER: "Other",
}

_BROWSING = {"Product Viewed", "Product List Viewed", "Products Searched", "Product Clicked"}
_CART = {
    "Product Added", "Product Removed", "Cart Viewed", "Checkout Started", "Checkout Step Viewed",
    "Checkout Step Completed", "Payment Info Entered", "Coupon Applied", "Coupon Entered",
}
_CONVERSATION_CHANNELS = {"phone", "chat", "store"}
_MESSAGE_CHANNELS = {"email", "sms"}
_CONVERSATION_PREFIXES = ("Call ", "Chat ", "Callback ", "Store Visit", "Interaction ",
                          "Appointment ")


@dataclass(frozen=True, slots=True)
class TimelineItem:
    """One timeline event as the agent reads it."""

    id: str
    category: TimelineCategory
    event: str
    title: str
    detail: str
    channel: str
    timestamp: Any

    @property
    def label(self) -> str:
        """The category's human name."""
        return CATEGORY_LABELS[self.category]


def categorise(event: Mapping[str, Any]) -> TimelineCategory:
    """The category of one timeline event (a dict from customers.recent_events)."""
    kind = str(event.get("type") or "")
    name = str(event.get("event") or "")
    channel = str(event.get("channel") or "")
    if kind in {"page", "screen"} or name in _BROWSING:
        return TimelineCategory.PAGE
    if name in _CART:
        return TimelineCategory.CART
    if name.startswith("Order ") or name in {"Refund Issued", "Return Received"}:
        return TimelineCategory.ORDER
    if name.startswith(("Decision", "Offer ")) or kind == "decision":
        return TimelineCategory.DECISION
    if name.startswith(("Email ", "SMS ")) or name == "Unsubscribed" \
            or channel in _MESSAGE_CHANNELS:
        return TimelineCategory.EMAIL
    if name.startswith(_CONVERSATION_PREFIXES) or channel in _CONVERSATION_CHANNELS:
        return TimelineCategory.CONVERSATION
    if kind in {"identify", "alias", "group"}:
        return TimelineCategory.PROFILE
    return TimelineCategory.OTHER


def _text(value: Any, limit: int = 160) -> str:
    if value is None:
        return ""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _amount(props: Mapping[str, Any], *names: str) -> str:
    currency = _text(props.get("currency"), 3).upper()
    for name in names:
        value = props.get(name)
        if value is None or value == "":
            continue
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            continue
        return f"{currency} {amount:,.2f}".strip()
    return ""


def _join(*parts: str) -> str:
    return " · ".join(part for part in parts if part)


def _page_title(props: Mapping[str, Any], event: Mapping[str, Any]) -> str:
    return _text(
        props.get("title") or props.get("name") or event.get("event") or props.get("path")
        or props.get("url") or "Page"
    )


def describe(event: Mapping[str, Any]) -> TimelineItem:
    """Turn a raw timeline event into a title and a one-line detail for the customer panel."""
    props: Mapping[str, Any] = event.get("properties") or {}
    if not isinstance(props, Mapping):
        props = {}
    category = categorise(event)
    name = _text(event.get("event")) or _text(event.get("type")).capitalize()
    title, detail = name, ""
    if category is TimelineCategory.PAGE:
        if event.get("type") in {"page", "screen"}:
            title = _page_title(props, event)
            detail = _text(props.get("url") or props.get("path"))
        else:
            detail = _join(_text(props.get("name")), _amount(props, "price"))
    elif category is TimelineCategory.CART:
        quantity = props.get("quantity")
        detail = _join(
            _text(props.get("name") or props.get("sku")),
            f"× {quantity}" if quantity not in (None, "") else "",
            _amount(props, "price", "value", "total"),
        )
    elif category is TimelineCategory.ORDER:
        detail = _join(
            _text(props.get("order_id")), _amount(props, "total", "revenue", "value"),
            _text(props.get("status")),
        )
    elif category is TimelineCategory.CONVERSATION:
        outcome = _text(props.get("outcome")).replace("_", " ")
        context = props.get("context")
        reason = context.get("reason") if isinstance(context, Mapping) else None
        detail = _join(
            _text(reason), outcome, _amount(props, "sale_value"),
            f"upsell {_amount(props, 'upsell_value')}" if props.get("upsell_value") else "",
            f"quote {_amount(props, 'quote')}" if props.get("quote") else "",
            _text(props.get("notes")),
        )
    elif category is TimelineCategory.EMAIL:
        detail = _text(props.get("subject") or props.get("campaign") or props.get("template"))
    elif category is TimelineCategory.PROFILE:
        title = {"identify": "Profile updated", "alias": "Identities linked",
                 "group": "Joined a group"}.get(str(event.get("type")), title)
    elif category is TimelineCategory.DECISION:
        detail = _join(
            _text(props.get("action")).replace("_", " "), _text(props.get("reason"))
        )
    return TimelineItem(
        id=str(event.get("id") or ""),
        category=category,
        event=_text(event.get("event") or event.get("type")),
        title=title,
        detail=detail,
        channel=_text(event.get("channel"), 40),
        timestamp=event.get("timestamp"),
    )


def timeline(events: Iterable[Mapping[str, Any]]) -> list[TimelineItem]:
    """Describe every event, keeping the given (newest first) order."""
    return [describe(event) for event in events]


def category_counts(items: Iterable[TimelineItem]) -> list[tuple[str, int]]:
    """How many items each category has, in the fixed display order, empty ones left out."""
    counts: dict[TimelineCategory, int] = {}
    for item in items:
        counts[item.category] = counts.get(item.category, 0) + 1
    return [(CATEGORY_LABELS[c], counts[c]) for c in TimelineCategory if counts.get(c)]


def _trait(traits: Mapping[str, Any], name: str) -> str:
    entry = traits.get(name)
    value = entry.get("value") if isinstance(entry, Mapping) else entry
    return _text(value, 120) if value not in (None, "") else ""


def customer_facts(
    traits: Mapping[str, Any], identities: Iterable[Mapping[str, Any]], channels: Iterable[str]
) -> list[tuple[str, str]]:
    """Who the customer is, in the order an agent greets them: name, e-mail, phone, channels."""
    name = _trait(traits, "name") or " ".join(
        part for part in (_trait(traits, "first_name"), _trait(traits, "last_name")) if part
    )
    found: dict[str, list[str]] = {}
    for identity in identities:
        kind, value = str(identity.get("type") or ""), _text(identity.get("value"), 120)
        if kind in {"email", "phone", "loyalty_card"} and value:
            found.setdefault(kind, []).append(value)
    facts = [
        ("Name", name),
        ("E-mail", ", ".join(found.get("email", [])) or _trait(traits, "email")),
        ("Phone on file", ", ".join(found.get("phone", [])) or _trait(traits, "phone")),
        ("Loyalty card", ", ".join(found.get("loyalty_card", []))),
        ("Channels used", ", ".join(sorted({_text(c, 40) for c in channels if c}))),
    ]
    return [(label, value) for label, value in facts if value]


# ---------------------------------------------------------------- outcome form


OUTCOME_LABELS: dict[Outcome, str] = {
    Outcome.SALE: "Sale",
    Outcome.QUOTE: "Quote given",
    Outcome.NO_SALE: "No sale",
    Outcome.FOLLOW_UP_NEEDED: "Follow-up needed",
}

MAX_AMOUNT = Decimal("100000000")
MAX_NOTES = 2000


@dataclass(frozen=True, slots=True)
class OutcomeForm:
    """A validated outcome form."""

    outcome: Outcome
    sale_value: Decimal | None
    upsell_value: Decimal | None
    quote: Decimal | None
    notes: str


def _parse_amount(raw: str | None, field: str, errors: list[dict[str, str]]) -> Decimal | None:
    text = (raw or "").strip().replace(",", ".")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        errors.append({"field": field, "message": "enter an amount such as 149.95"})
        return None
    if not value.is_finite() or value < 0 or value >= MAX_AMOUNT:
        errors.append({"field": field, "message": "enter an amount from 0 to 99,999,999.99"})
        return None
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        errors.append({"field": field, "message": "use at most two decimals"})
        return None
    return value.quantize(Decimal("0.01"))


def parse_outcome_form(fields: Mapping[str, str | None]) -> OutcomeForm:
    """Validate the outcome form; InvalidInput (code `invalid_outcome`) lists every bad field."""
    errors: list[dict[str, str]] = []
    try:
        outcome = Outcome((fields.get("outcome") or "").strip())
    except ValueError:
        errors.append({"field": "outcome", "message": "choose an outcome"})
        outcome = None
    sale = _parse_amount(fields.get("sale_value"), "sale_value", errors)
    upsell = _parse_amount(fields.get("upsell_value"), "upsell_value", errors)
    quote = _parse_amount(fields.get("quote"), "quote", errors)
    notes = (fields.get("notes") or "").strip()
    if len(notes) > MAX_NOTES:
        errors.append({"field": "notes", "message": f"keep notes under {MAX_NOTES} characters"})
    if outcome is Outcome.SALE and not errors and (sale is None or sale <= 0):
        errors.append({"field": "sale_value", "message": "a sale needs its value"})
    if outcome is Outcome.QUOTE and not errors and (quote is None or quote <= 0):
        errors.append({"field": "quote", "message": "a quote needs its amount"})
    if outcome is not Outcome.SALE and upsell and not errors:
        errors.append({"field": "upsell_value", "message": "an upsell belongs to a sale"})
    if errors or outcome is None:
        raise InvalidInput("the outcome form has errors", code="invalid_outcome", details=errors)
    return OutcomeForm(
        outcome=outcome,
        sale_value=sale if outcome is Outcome.SALE else None,
        upsell_value=upsell if outcome is Outcome.SALE else None,
        quote=quote if outcome is Outcome.QUOTE else None,
        notes=notes,
    )
