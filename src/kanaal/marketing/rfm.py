"""Recency, frequency, monetary value and RFM scores from orders. Pure rules.

The summary follows the definitions of the `lifetimes` package (the usual input of BG/NBD and
Gamma-Gamma models): purchases are grouped per customer per day; `frequency` counts repeat
purchase days, `recency` is days from the first to the last purchase day, `T` days from the first
purchase to the end of the observation period, and `monetary_value` the mean of the repeat days'
totals (0 when there is none).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Purchase:
    """One order: who, on which day, for how much."""

    customer_id: str
    day: date
    amount: Decimal


@dataclass(frozen=True, slots=True)
class CustomerValue:
    """RFM summary and value of one customer at the end of an observation period."""

    customer_id: str
    frequency: int
    recency_days: int
    age_days: int  # lifetimes' T
    monetary_value: Decimal
    orders: int
    total_revenue: Decimal
    days_since_last: int


@dataclass(frozen=True, slots=True)
class RfmScore:
    """Quintile scores 1 (worst) to 5 (best) and their concatenation, e.g. "545"."""

    recency: int
    frequency: int
    monetary: int

    @property
    def code(self) -> str:
        """The classic three-digit RFM code."""
        return f"{self.recency}{self.frequency}{self.monetary}"


def summarise(purchases: Iterable[Purchase], observation_end: date) -> dict[str, CustomerValue]:
    """Per-customer summary of purchases made on or before `observation_end`."""
    per_day: dict[str, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    orders: dict[str, int] = defaultdict(int)
    for purchase in purchases:
        if purchase.day > observation_end:
            continue
        per_day[purchase.customer_id][purchase.day] += purchase.amount
        orders[purchase.customer_id] += 1
    result: dict[str, CustomerValue] = {}
    for customer_id, days in per_day.items():
        ordered = sorted(days)
        first, last = ordered[0], ordered[-1]
        repeats = [days[d] for d in ordered[1:]]
        monetary = sum(repeats, Decimal(0)) / len(repeats) if repeats else Decimal(0)
        result[customer_id] = CustomerValue(
            customer_id=customer_id,
            frequency=len(ordered) - 1,
            recency_days=(last - first).days,
            age_days=(observation_end - first).days,
            monetary_value=monetary,
            orders=orders[customer_id],
            total_revenue=sum(days.values(), Decimal(0)),
            days_since_last=(observation_end - last).days,
        )
    return result


def _quintile_edges(values: list[float]) -> list[float]:
    ordered = sorted(values)
    n = len(ordered)
    return [ordered[min(n - 1, (n * k) // 5)] for k in range(1, 5)]


def _score(value: float, edges: list[float]) -> int:
    return 1 + bisect.bisect_right(edges, value)


def rfm_scores(summary: dict[str, CustomerValue]) -> dict[str, RfmScore]:
    """Quintile scores across the customers in `summary` (recent, frequent, big spenders = 5)."""
    if not summary:
        return {}
    values = list(summary.values())
    # Fewer days since the last purchase is better, so score its negation.
    recency_edges = _quintile_edges([-v.days_since_last for v in values])
    frequency_edges = _quintile_edges([float(v.orders) for v in values])
    monetary_edges = _quintile_edges([float(v.total_revenue) for v in values])
    return {
        v.customer_id: RfmScore(
            recency=_score(-v.days_since_last, recency_edges),
            frequency=_score(float(v.orders), frequency_edges),
            monetary=_score(float(v.total_revenue), monetary_edges),
        )
        for v in values
    }
