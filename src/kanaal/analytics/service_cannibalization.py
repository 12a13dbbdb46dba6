"""Cannibalization from the decision engine's log: does contact-center assistance pay?

The units are the customers the engine would send to an agent: those with a decision whose
best-scored paying action (the `kanaal` policy's first choice on the decision's own scores) is
a contact-center action. The rule reads only what the engine knew before it acted, and the
scores are computed the same way in every arm, so it picks comparable customers in the
treated arms and in the holdout (where the `never` policy proposed nothing). A customer
enters at their first such decision; from then on their net value is the margin attributed
to their decisions (each order once) minus the contact cost their accepted contacts caused.
The estimate is the treated-minus-holdout difference of mean net value (Welch interval).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from kanaal.analytics.profitability import LogEntry, cannibalization
from kanaal.analytics.service_reports import check_window
from kanaal.core.context import AppContext
from kanaal.core.errors import InvalidInput
from kanaal.core.money import quantize
from kanaal.decisions.reports import (
    CONTACT_CENTER_ACTIONS,
    DecisionOutcomeRow,
    current_experiment,
    decision_outcomes,
)

ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class CustomerOutcome:
    """One eligible customer: arm, margin and contact cost from their first eligible decision."""

    subject: str
    arm: str
    holdout: bool
    decisions: int
    contacts: int
    converted: bool
    margin: Decimal
    contact_cost: Decimal


def customer_outcomes(rows: Sequence[DecisionOutcomeRow]) -> tuple[list[CustomerOutcome], int]:
    """Pure: eligible customers' outcomes (by subject) and the number of customers left out."""
    by_subject: dict[str, list[DecisionOutcomeRow]] = defaultdict(list)
    for row in rows:
        by_subject[row.subject].append(row)
    found: list[CustomerOutcome] = []
    for subject in sorted(by_subject):
        mine = sorted(by_subject[subject], key=lambda r: (r.decided_at, r.decision_id))
        start = next((i for i, r in enumerate(mine) if r.best_action in CONTACT_CENTER_ACTIONS),
                     None)
        if start is None:
            continue
        after = mine[start:]
        orders: dict[str, Decimal] = {}
        for row in after:
            if row.margin is not None:
                orders.setdefault(row.order_id or f"decision:{row.decision_id}", row.margin)
        found.append(CustomerOutcome(
            subject=subject, arm=after[0].arm, holdout=after[0].holdout, decisions=len(after),
            contacts=sum(1 for r in after if r.accepted), converted=bool(orders),
            margin=sum(orders.values(), ZERO),
            contact_cost=sum((r.contact_cost for r in after), ZERO)))
    return found, len(by_subject) - len(found)


def _arm_figures(arm: str, customers: list[CustomerOutcome]) -> dict[str, Any]:
    n = len(customers)
    margin = sum((c.margin for c in customers), ZERO)
    cost = sum((c.contact_cost for c in customers), ZERO)
    return {"arm": arm, "customers": n, "decisions": sum(c.decisions for c in customers),
            "contacts": sum(c.contacts for c in customers),
            "converted": sum(1 for c in customers if c.converted),
            "margin": quantize(margin), "contact_cost": quantize(cost),
            "margin_per_customer": quantize(margin / n),
            "contact_cost_per_customer": quantize(cost / n),
            "net_margin_per_customer": quantize((margin - cost) / n)}


def _money(value: float | None) -> Decimal | None:
    return None if value is None else quantize(Decimal(repr(value)))


def _answer(verdict: str, estimate: dict[str, Any] | None, currency: str) -> str:
    if estimate is None:
        return ("Not enough data yet: the comparison needs at least 2 customers in each arm "
                "whose net value differs.")
    net, low, high = (estimate["incremental_net_margin"], estimate["ci_low"],
                      estimate["ci_high"])
    figures = (f"assisted customers bring {net} {currency} net margin each against the "
               f"holdout (95% interval {low} to {high} {currency})")
    if verdict == "pays":
        return f"The phone upsell exceeds the extra contact cost: {figures}."
    if verdict == "does_not_pay":
        return f"The phone upsell does not exceed the extra contact cost: {figures}."
    return (f"Not measured yet whether the phone upsell exceeds the extra contact cost: "
            f"{figures}, and the interval includes zero.")


def cannibalization_report(
    ctx: AppContext, *, since: datetime | None = None, until: datetime | None = None,
    experiment: str | None = None, arm: str | None = None, currency: str = "EUR",
) -> dict[str, Any]:
    """Incremental margin, extra contact cost and net effect of assistance, with intervals."""
    check_window(since, until)
    if arm == "holdout":
        raise InvalidInput("arm is the treated arm to compare with the holdout",
                           code="invalid_arm", details=[{"loc": ["query", "arm"]}])
    if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        raise InvalidInput("currency must be an ISO 4217 code", code="invalid_currency",
                           details=[{"loc": ["query", "currency"]}])
    name = experiment or current_experiment(ctx)
    rows = decision_outcomes(ctx, since=since, until=until, experiment=name)
    limit = int(ctx.param("analytics.max_report_events", 5_000_000))
    if len(rows) > limit:
        raise InvalidInput(f"more than {limit} decisions: choose a shorter window",
                           code="window_too_large")
    other = sum(1 for r in rows if r.currency != currency)
    kept = [r for r in rows if r.currency == currency and (r.holdout or arm in (None, r.arm))]
    customers, left_out = customer_outcomes(kept)
    arms: dict[str, list[CustomerOutcome]] = defaultdict(list)
    for customer in customers:
        arms[customer.arm].append(customer)
    log = [LogEntry(c.subject, c.holdout, c.margin, c.contact_cost) for c in customers]
    estimate: dict[str, Any] | None = None
    verdict = "not_enough_data"
    try:
        result = cannibalization(log)
    except InvalidInput:
        result = None
    if result is not None:
        verdict = result.verdict
        estimate = {
            "treated": result.treated, "holdout": result.holdout, "confidence": 0.95,
            "incremental_margin": _money(result.incremental_margin),
            "margin_ci_low": _money(result.margin_ci_low),
            "margin_ci_high": _money(result.margin_ci_high),
            "extra_contact_cost": _money(result.extra_contact_cost),
            "incremental_net_margin": _money(result.incremental_net_margin),
            "ci_low": _money(result.ci_low), "ci_high": _money(result.ci_high),
            "p_value": round(result.p_value, 6)}
    return {
        "experiment": name, "treated_arm": arm, "currency": currency,
        "decisions": len(kept), "decisions_in_other_currencies": other,
        "customers": len(customers), "customers_not_eligible": left_out,
        "arms": [_arm_figures(a, arms[a]) for a in sorted(arms)],
        "estimate": estimate, "verdict": verdict,
        "answer": _answer(verdict, estimate, currency),
    }
