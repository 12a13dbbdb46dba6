"""Channel profitability from the timeline: orders, margins, contact costs, new customers.

Orders are the `Order Completed` events the orders feature writes (revenue = `revenue`
property, the subtotal without shipping; products with sku and quantity). Margin is revenue
minus quantity × cost price from the catalog (`kanaal.catalog.service.variant_in`); a line
whose sku is unknown or whose cost is in another currency has no known cost and is left out
of the margin (and counted). Contact costs come from `Call Completed`, `Chat Completed` and
`Store Visit Completed` events: handle minutes × the fully loaded cost per minute of
`decisions.economics.cost_per_minute` (chat divided by `chat_concurrency`), the same
parameters the decision engine prices contacts with. A cancelled order ("Order Cancelled"
up to the end of the period) is not an order; an "Order Refunded" in the period takes its
refund off the revenue and the refund minus the returned units' cost off the margin.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.orm import Session

from kanaal.analytics.profitability import (
    ChannelFigures,
    ContactFact,
    OrderFact,
    RefundFact,
    channel_profitability,
)
from kanaal.analytics.service_reports import PAGE, check_window
from kanaal.core.context import AppContext
from kanaal.core.errors import DomainError, InvalidInput
from kanaal.customers import feed

CONTACT_EVENTS = {"Call Completed", "Chat Completed", "Store Visit Completed"}
DEFAULT_COST_PER_MINUTE = {"phone": 0.75, "callback": 0.75, "chat": 0.75, "store": 0.50}


@dataclass(frozen=True, slots=True)
class ProfitabilityReport:
    """Figures per channel and what could not be counted."""

    currency: str
    channels: list[ChannelFigures]
    orders_in_other_currencies: int
    lines_without_cost: int


def _decimal(value: Any) -> Decimal | None:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


class _Costs:
    """Cost prices by sku, looked up once through the catalog service."""

    def __init__(self, session: Session, currency: str) -> None:
        from kanaal.catalog import service as catalog

        self.catalog = catalog
        self.session = session
        self.currency = currency
        self.known: dict[str, Decimal | None] = {}

    def of(self, sku: str) -> Decimal | None:
        """Cost price of one unit in the report currency, or None when unknown."""
        if sku not in self.known:
            try:
                variant = self.catalog.variant_in(self.session, sku)
            except DomainError:
                self.known[sku] = None
            else:
                same = variant.currency == self.currency
                self.known[sku] = variant.cost_price if same else None
        return self.known[sku]


def _margin(properties: dict[str, Any], revenue: Decimal, costs: _Costs) -> tuple[Decimal, int]:
    """Revenue minus known line costs, and the number of lines without a known cost."""
    margin, unknown = revenue, 0
    for product in properties.get("products") or []:
        if not isinstance(product, dict):
            continue
        quantity = _decimal(product.get("quantity")) or Decimal(0)
        price = _decimal(product.get("price")) or Decimal(0)
        cost = costs.of(str(product.get("sku") or product.get("product_id") or ""))
        if cost is None:
            margin -= quantity * price  # no cost known: the line adds no margin
            unknown += 1
        else:
            margin -= quantity * cost
    return margin, unknown


def _contact_cost(ctx: AppContext, channel: str, properties: dict[str, Any]) -> Decimal:
    rates = {**DEFAULT_COST_PER_MINUTE,
             **ctx.param("decisions.economics.cost_per_minute", {})}
    minutes = (_decimal(properties.get("handle_seconds")) or Decimal(0)) / 60
    cost = minutes * Decimal(str(rates.get(channel, 0.0)))
    if channel == "chat":
        cost /= Decimal(str(ctx.param("decisions.economics.chat_concurrency", 3.0)))
    return cost


def profitability_report(
    ctx: AppContext, *, since: datetime | None = None, until: datetime | None = None,
    currency: str = "EUR",
) -> ProfitabilityReport:
    """Per channel: orders, revenue, margin, contact cost, cost per order, new customers."""
    check_window(since, until)
    if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        raise InvalidInput("currency must be an ISO 4217 code", code="invalid_currency",
                           details=[{"loc": ["query", "currency"]}])
    orders: list[OrderFact] = []
    contacts: list[ContactFact] = []
    refunds: list[RefundFact] = []
    cancelled: set[str] = set()
    other_currency = 0
    without_cost: dict[str, int] = {}
    cursor: tuple[datetime, str] | None = None
    while True:
        with ctx.db.reader() as session:
            page = feed.events_after(session, after=cursor, limit=PAGE)
            owners = feed.survivors_of(session, sorted({e.customer_id for e in page}))
            costs = _Costs(session, currency)
            for item in page:
                owner = owners.get(item.customer_id)
                if owner is None or item.type != "track" or (until and item.timestamp >= until):
                    continue
                props = item.properties
                if item.event == "Order Completed":
                    revenue = _decimal(props.get("revenue"))
                    if revenue is None:
                        continue
                    if str(props.get("currency") or currency) != currency:
                        other_currency += 1
                        continue
                    margin, unknown = _margin(props, revenue, costs)
                    order_id = str(props.get("order_id") or item.id)
                    if since is None or item.timestamp >= since:
                        without_cost[order_id] = unknown
                    orders.append(OrderFact(order_id, owner, item.channel, item.timestamp,
                                            revenue, margin))
                elif item.event == "Order Cancelled" and props.get("order_id"):
                    cancelled.add(str(props["order_id"]))
                elif since is not None and item.timestamp < since:
                    continue
                elif item.event in CONTACT_EVENTS:
                    contacts.append(ContactFact(item.channel,
                                                _contact_cost(ctx, item.channel, props)))
                elif item.event == "Order Refunded":
                    refund = _decimal(props.get("total"))
                    if refund is None or str(props.get("currency") or currency) != currency:
                        continue
                    refunds.append(RefundFact(item.channel, refund,
                                              _margin(props, refund, costs)[0]))
        if len(page) < PAGE:
            break
        cursor = (page[-1].received_at, page[-1].id)
    kept = [order for order in orders if order.order_id not in cancelled]
    return ProfitabilityReport(
        currency, channel_profitability(kept, contacts, since=since, refunds=refunds),
        other_currency, sum(n for o, n in without_cost.items() if o not in cancelled))
