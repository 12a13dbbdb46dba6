"""Which channels a segment uses: contacts, orders, revenue, margin and new customers per
channel, with each channel's share. Pure aggregation over the members' events."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

CONTACT_EVENTS = frozenset({
    "Call Completed", "Chat Completed", "Store Visit Completed", "Callback Requested",
})


@dataclass(frozen=True, slots=True)
class MemberEvent:
    """The parts of an event the channel mix reads."""

    customer_id: str
    name: str | None
    channel: str
    properties: dict[str, Any]
    order: tuple[Any, ...]  # sort key: (timestamp, id)


def _money(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value is not None else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def channel_mix(events: Iterable[MemberEvent]) -> list[dict[str, Any]]:
    """Per channel: contacts, orders, revenue, margin, new customers, and shares of each."""
    totals: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"contacts": 0, "orders": 0, "revenue": Decimal(0), "margin": Decimal(0),
                 "new_customers": 0}
    )
    first: dict[str, MemberEvent] = {}
    for event in events:
        if event.channel == "system":
            continue
        row = totals[event.channel]
        if event.name in CONTACT_EVENTS:
            row["contacts"] += 1
        if event.name == "Order Completed":
            row["orders"] += 1
            row["revenue"] += _money(event.properties.get("revenue",
                                                          event.properties.get("total")))
            row["margin"] += _money(event.properties.get("margin"))
        known = first.get(event.customer_id)
        if known is None or event.order < known.order:
            first[event.customer_id] = event
    for event in first.values():
        totals[event.channel]["new_customers"] += 1
    return _with_shares(totals)


def _with_shares(totals: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    metrics: Sequence[str] = ("contacts", "orders", "revenue", "margin", "new_customers")
    sums = {m: sum((row[m] for row in totals.values()), Decimal(0)) for m in metrics}
    result = []
    for channel in sorted(totals):
        row = totals[channel]
        shares = {
            f"{m}_share": float(Decimal(row[m]) / sums[m]) if sums[m] else 0.0 for m in metrics
        }
        result.append({"channel": channel, **row, **shares})
    return result
