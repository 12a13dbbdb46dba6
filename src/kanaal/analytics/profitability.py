"""Channel profitability and cannibalization (pure): money in Decimal, statistics in floats.

Cannibalization asks whether contact-center assistance pays: for customers the decision
engine would have sent to an agent, compare those it did (treated) with its holdout arm
(left alone). The incremental net margin per customer, margin minus contact cost, with a
Welch confidence interval, answers "does the phone upsell exceed the extra contact cost?".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from kanaal.analytics.experiments_stats import ArmStatistic, frequentist
from kanaal.core.errors import InvalidInput
from kanaal.core.money import quantize

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class OrderFact:
    """One order as profitability needs it."""

    order_id: str
    customer_id: str
    channel: str
    ordered_at: datetime
    revenue: Decimal
    margin: Decimal


@dataclass(frozen=True, slots=True)
class ContactFact:
    """One contact-center interaction and what it cost."""

    channel: str
    cost: Decimal


@dataclass(frozen=True, slots=True)
class RefundFact:
    """Money given back on returned units: revenue refunded and the margin it takes back
    (refund minus the cost of the units that came back on hand)."""

    channel: str
    revenue: Decimal
    margin: Decimal


@dataclass(frozen=True, slots=True)
class ChannelFigures:
    """Per channel: orders, revenue, margin, contact cost, cost per order, new customers.

    Revenue and margin are net of the refunds booked in the period (`refunded`)."""

    channel: str
    orders: int
    revenue: Decimal
    margin: Decimal
    contact_cost: Decimal
    net_margin: Decimal
    cost_per_order: Decimal | None
    new_customers: int
    refunded: Decimal = Decimal("0.00")


def channel_profitability(
    orders: Sequence[OrderFact], contacts: Sequence[ContactFact] = (), *,
    since: datetime | None = None, refunds: Sequence[RefundFact] = (),
) -> list[ChannelFigures]:
    """Figures per channel, most net margin first; a new customer is one's first order ever.

    Give every order up to the end of the period so first orders are known (leave cancelled
    orders out); only orders from `since` on are counted (contacts and refunds are expected
    to be from the period already).
    """
    first: dict[str, tuple[datetime, str]] = {}
    for order in orders:
        key = (order.ordered_at, order.order_id)
        if order.customer_id not in first or key < first[order.customer_id]:
            first[order.customer_id] = key
    count: dict[str, int] = defaultdict(int)
    new: dict[str, int] = defaultdict(int)
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    margin: dict[str, Decimal] = defaultdict(Decimal)
    cost: dict[str, Decimal] = defaultdict(Decimal)
    for order in orders:
        if since is not None and order.ordered_at < since:
            continue
        count[order.channel] += 1
        revenue[order.channel] += order.revenue
        margin[order.channel] += order.margin
        if first[order.customer_id] == (order.ordered_at, order.order_id):
            new[order.channel] += 1
    for contact in contacts:
        cost[contact.channel] += contact.cost
    refunded: dict[str, Decimal] = defaultdict(Decimal)
    for refund in refunds:
        refunded[refund.channel] += refund.revenue
        revenue[refund.channel] -= refund.revenue
        margin[refund.channel] -= refund.margin
    figures = [
        ChannelFigures(
            channel=c, orders=count[c], revenue=quantize(revenue[c]), margin=quantize(margin[c]),
            contact_cost=quantize(cost[c]), net_margin=quantize(margin[c] - cost[c]),
            cost_per_order=quantize(cost[c] / count[c]) if count[c] else None,
            new_customers=new[c], refunded=quantize(refunded[c]))
        for c in sorted(set(count) | set(cost) | set(refunded))
    ]
    return sorted(figures, key=lambda f: (-f.net_margin, f.channel))


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One customer in the decision log: holdout or treated, and what followed."""

    customer_id: str
    holdout: bool
    margin: Decimal
    contact_cost: Decimal


@dataclass(frozen=True, slots=True)
class Cannibalization:
    """Incremental margin, contact cost and net margin per customer, treated vs holdout."""

    treated: int
    holdout: int
    incremental_margin: float
    extra_contact_cost: float
    incremental_net_margin: float
    ci_low: float
    ci_high: float
    p_value: float
    verdict: str  # pays | does_not_pay | inconclusive
    # Interval of the incremental margin alone (before contact cost); None when both arms'
    # margins do not vary (e.g. nobody bought), so there is nothing to test.
    margin_ci_low: float | None = None
    margin_ci_high: float | None = None


def _statistic(values: Sequence[float]) -> ArmStatistic:
    return ArmStatistic(len(values), sum(values), sum(v * v for v in values))


def cannibalization(log: Sequence[LogEntry], *, alpha: float = 0.05) -> Cannibalization:
    """Welch estimate of the incremental net margin of assistance against the holdout.

    Raises InvalidInput `not_enough_units` below 2 customers per arm and `zero_variance`
    when no customer's net margin differs from another's.
    """
    treated = [e for e in log if not e.holdout]
    holdout = [e for e in log if e.holdout]
    if len(treated) < 2 or len(holdout) < 2:
        raise InvalidInput("need at least 2 treated and 2 holdout customers",
                           code="not_enough_units")
    net = frequentist(
        _statistic([float(e.margin - e.contact_cost) for e in holdout]),
        _statistic([float(e.margin - e.contact_cost) for e in treated]),
        relative=False, alpha=alpha)

    def mean(entries: Sequence[LogEntry], field: str) -> float:
        return float(sum((getattr(e, field) for e in entries), ZERO)) / len(entries)

    verdict = ("pays" if net.ci_low > 0 else "does_not_pay" if net.ci_high < 0
               else "inconclusive")
    try:
        gross = frequentist(_statistic([float(e.margin) for e in holdout]),
                            _statistic([float(e.margin) for e in treated]),
                            relative=False, alpha=alpha)
        margin_ci: tuple[float | None, float | None] = (gross.ci_low, gross.ci_high)
    except InvalidInput:
        margin_ci = (None, None)
    return Cannibalization(
        treated=len(treated), holdout=len(holdout),
        incremental_margin=mean(treated, "margin") - mean(holdout, "margin"),
        extra_contact_cost=mean(treated, "contact_cost") - mean(holdout, "contact_cost"),
        incremental_net_margin=net.effect, ci_low=net.ci_low, ci_high=net.ci_high,
        p_value=net.p_value, verdict=verdict, margin_ci_low=margin_ci[0],
        margin_ci_high=margin_ci[1])
