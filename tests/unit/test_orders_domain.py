"""Order rules: lifecycle, totals in Decimal, shipments, returns, Segment properties."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kanaal.core.errors import Conflict, InvalidInput
from kanaal.orders.domain import (
    CANCELLABLE,
    SHIPMENT_TRANSITIONS,
    TERMINAL,
    TRANSITIONS,
    AllocationState,
    Fulfilment,
    Order,
    OrderLine,
    OrderStatus,
    ShipmentStatus,
    attributed_brand,
    can_transition,
    check_channel_fields,
    check_unit_price,
    ensure_shipment_transition,
    ensure_transition,
    fully_returned,
    order_completed_properties,
    order_totals,
    plan_return,
    plan_shipment,
    status_after_shipping,
)
from kanaal.orders.routing import Point
from kanaal.orders.service_routing import destination_of

S = OrderStatus
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _order(status: OrderStatus, lines: tuple[OrderLine, ...]) -> Order:
    return Order(id="ord_1", channel_id="chn_1", channel_kind="web", status=status,
                 currency="EUR", lines=lines, totals=order_totals(lines), created_at=NOW)


def test_the_happy_path_of_the_lifecycle_is_allowed() -> None:
    path = [S.PLACED, S.ALLOCATED, S.PARTIALLY_FULFILLED, S.FULFILLED, S.DELIVERED, S.RETURNED]
    for current, target in zip(path, path[1:], strict=False):
        ensure_transition(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [(S.FULFILLED, S.CANCELLED), (S.DELIVERED, S.ALLOCATED), (S.CANCELLED, S.ALLOCATED),
     (S.PLACED, S.DELIVERED), (S.RETURNED, S.DELIVERED), (S.PARTIALLY_FULFILLED, S.CANCELLED)],
)
def test_forbidden_transitions_conflict(current: OrderStatus, target: OrderStatus) -> None:
    with pytest.raises(Conflict) as err:
        ensure_transition(current, target)
    assert err.value.code == "invalid_status_transition"


def test_only_cancelled_and_returned_are_terminal_and_only_unshipped_orders_cancel() -> None:
    assert frozenset({S.CANCELLED, S.RETURNED}) == TERMINAL
    assert frozenset({S.PLACED, S.ALLOCATED}) == CANCELLABLE
    assert all(can_transition(s, S.CANCELLED) == (s in CANCELLABLE) for s in S)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list(S)), max_size=12))
def test_any_walk_through_allowed_transitions_reaches_delivered_only_via_fulfilled(
    targets: list[OrderStatus],
) -> None:
    status, seen = S.PLACED, [S.PLACED]
    for target in targets:
        if can_transition(status, target):
            status = target
            seen.append(status)
    if S.DELIVERED in seen:
        assert seen.index(S.FULFILLED) < seen.index(S.DELIVERED)
    if S.CANCELLED in seen:
        assert seen[-1] == S.CANCELLED and S.PARTIALLY_FULFILLED not in seen
    assert not any(s in TERMINAL for s in seen[:-1])
    assert all(b in TRANSITIONS[a] for a, b in zip(seen, seen[1:], strict=False))


def test_shipment_updates_follow_the_carrier_lifecycle() -> None:
    ensure_shipment_transition(ShipmentStatus.SHIPPED, ShipmentStatus.IN_TRANSIT)
    ensure_shipment_transition(ShipmentStatus.FAILED, ShipmentStatus.DELIVERED)
    with pytest.raises(Conflict) as err:
        ensure_shipment_transition(ShipmentStatus.DELIVERED, ShipmentStatus.IN_TRANSIT)
    assert err.value.code == "invalid_shipment_transition"
    assert SHIPMENT_TRANSITIONS[ShipmentStatus.DELIVERED] == frozenset()


def test_totals_round_each_line_to_cents_and_add_shipping() -> None:
    lines = (OrderLine("a", "TEE", 3, Decimal("3.335")), OrderLine("b", "CAP", 1, Decimal("12.5")))
    totals = order_totals(lines, Decimal("4.95"))
    assert (totals.subtotal, totals.shipping, totals.total) == (
        Decimal("22.51"), Decimal("4.95"), Decimal("27.46"))
    with pytest.raises(InvalidInput):
        order_totals(lines, Decimal("-1"))


prices = st.decimals(min_value=Decimal("0"), max_value=Decimal("10000"), places=2)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 50), prices), min_size=1, max_size=10), prices)
def test_total_is_subtotal_plus_shipping_and_subtotal_is_the_sum_of_lines(
    raw: list[tuple[int, Decimal]], shipping: Decimal
) -> None:
    lines = [OrderLine(f"l{i}", "SKU", q, p) for i, (q, p) in enumerate(raw)]
    totals = order_totals(lines, shipping)
    assert totals.subtotal == sum(q * p for q, p in raw)
    assert totals.total == totals.subtotal + totals.shipping
    assert totals.total.as_tuple().exponent == -2


def test_status_after_shipping_counts_units() -> None:
    line = OrderLine("a", "TEE", 2, Decimal("1"))
    assert status_after_shipping([line]) == S.ALLOCATED
    assert status_after_shipping([OrderLine("a", "TEE", 2, Decimal("1"), shipped=1)]) == (
        S.PARTIALLY_FULFILLED)
    assert status_after_shipping([OrderLine("a", "TEE", 2, Decimal("1"), shipped=2)]) == (
        S.FULFILLED)


ALLOCS = [
    AllocationState("a", "TEE", "wh-1", 2),
    AllocationState("a", "TEE", "wh-2", 1),
    AllocationState("b", "CAP", "wh-2", 1, shipped=1),
]


def test_a_shipment_without_lines_takes_everything_open_at_its_location() -> None:
    location, taken = plan_shipment(ALLOCS, None, "wh-2")
    assert location == "wh-2"
    assert [(a.line_id, n) for a, n in taken] == [("a", 1)]


def test_a_shipment_must_name_its_location_when_lines_wait_at_several() -> None:
    with pytest.raises(InvalidInput) as err:
        plan_shipment(ALLOCS, {"a": 1}, None)
    assert err.value.code == "location_required"
    assert plan_shipment(ALLOCS, {"a": 2}, "wh-1")[1] == [(ALLOCS[0], 2)]


def test_a_shipment_cannot_take_more_than_is_open() -> None:
    with pytest.raises(Conflict) as err:
        plan_shipment(ALLOCS, {"a": 3}, "wh-1")
    assert (err.value.code, err.value.details) == (
        "exceeds_open_quantity", [{"line_id": "a", "requested": 3, "open": 2}])
    with pytest.raises(InvalidInput) as bad:
        plan_shipment(ALLOCS, {"a": -1}, "wh-1")
    assert bad.value.code == "invalid_quantity"
    done = [AllocationState("a", "TEE", "wh-1", 2, shipped=2)]
    with pytest.raises(Conflict) as nothing:
        plan_shipment(done, None, None)
    assert nothing.value.code == "nothing_to_ship"


def test_returns_refund_shipped_units_only() -> None:
    lines = (OrderLine("a", "TEE", 2, Decimal("19.99"), shipped=2, returned=1),
             OrderLine("b", "CAP", 1, Decimal("5.00"), shipped=1))
    order = _order(S.DELIVERED, lines)
    assert plan_return(order, {"a": 1, "b": 1}) == Decimal("24.99")
    with pytest.raises(Conflict) as err:
        plan_return(order, {"a": 2})
    assert err.value.code == "exceeds_returnable_quantity"
    with pytest.raises(Conflict) as early:
        plan_return(_order(S.ALLOCATED, lines), {"a": 1})
    assert early.value.code == "order_not_returnable"
    with pytest.raises(InvalidInput) as unknown:
        plan_return(order, {"zz": 1})
    assert unknown.value.code == "unknown_line"
    assert not fully_returned(lines)
    assert fully_returned([OrderLine("a", "TEE", 2, Decimal("1"), shipped=2, returned=2)])


def test_brand_is_attributed_only_when_every_line_shares_it() -> None:
    assert attributed_brand(["Acme", "Acme"]) == "Acme"
    assert attributed_brand(["Acme", "Other"]) is None
    assert attributed_brand(["Acme", None]) is None


def test_order_completed_follows_the_segment_ecommerce_spec() -> None:
    lines = (OrderLine("a", "TEE", 2, Decimal("12.50"), title="Tee", brand="Acme"),)
    props = order_completed_properties(_order(S.ALLOCATED, lines))
    assert props == {
        "order_id": "ord_1", "total": 25.0, "revenue": 25.0, "shipping": 0.0, "currency": "EUR",
        "channel_id": "chn_1",
        "products": [{"product_id": "TEE", "sku": "TEE", "name": "Tee", "quantity": 2,
                      "price": 12.5, "brand": "Acme"}],
    }


@pytest.mark.parametrize(
    ("kind", "fields", "code"),
    [
        ("marketplace", {}, "missing_external_id"),
        ("phone", {}, "missing_agent"),
        ("shop_in_shop", {}, "missing_retailer"),
        ("b2b", {}, "missing_customer_group"),
        ("web", {"method": Fulfilment.IN_STORE}, "invalid_fulfilment"),
    ],
)
def test_each_channel_kind_demands_its_fields(kind: str, fields: dict[str, Any],
                                              code: str) -> None:
    given: dict[str, Any] = {"method": Fulfilment.SHIP, "external_id": None, "agent_id": None,
                             "credited_to": None, "customer_group": None, **fields}
    with pytest.raises(InvalidInput) as err:
        check_channel_fields(kind, **given)
    assert err.value.code == code


def test_complete_orders_of_every_kind_pass_the_channel_checks() -> None:
    check_channel_fields("marketplace", method=Fulfilment.SHIP, external_id="X-1", agent_id=None,
                         credited_to=None, customer_group=None)
    check_channel_fields("store", method=Fulfilment.IN_STORE, external_id=None, agent_id=None,
                         credited_to=None, customer_group=None)
    check_channel_fields("phone", method=Fulfilment.CLICK_AND_COLLECT, external_id=None,
                         agent_id="agt_1", credited_to=None, customer_group=None)


def test_an_address_needs_both_coordinates_or_neither() -> None:
    assert destination_of(None) is None
    assert destination_of({"city": "Utrecht"}) is None
    assert destination_of({"latitude": 52.1, "longitude": 5.1}) == Point(52.1, 5.1)
    with pytest.raises(InvalidInput) as err:
        destination_of({"latitude": 52.1})
    assert err.value.code == "invalid_coordinates"


def test_unit_prices_and_totals_fit_the_money_columns() -> None:
    check_unit_price(Decimal("0.1234"), where="lines[0]")
    for bad in (Decimal("-0.01"), Decimal("0.12345"), Decimal("1000000000000")):
        with pytest.raises(InvalidInput) as err:
            check_unit_price(bad, where="lines[0]")
        assert err.value.code == "invalid_amount"
    huge = [OrderLine("a", "TEE", 10_000, Decimal("100000000"))]
    with pytest.raises(InvalidInput) as too_large:
        order_totals(huge)
    assert too_large.value.code == "amount_too_large"


@st.composite
def _allocations(draw: st.DrawFn) -> list[AllocationState]:
    out = []
    for _ in range(draw(st.integers(1, 6))):
        quantity = draw(st.integers(1, 5))
        out.append(AllocationState(f"l{draw(st.integers(0, 2))}", "SKU",
                                   draw(st.sampled_from(["wh-1", "wh-2"])), quantity,
                                   shipped=draw(st.integers(0, quantity))))
    return out


@settings(max_examples=300, deadline=None)
@given(_allocations(), st.dictionaries(st.sampled_from(["l0", "l1", "l2"]), st.integers(1, 8),
                                       max_size=3) | st.none(),
       st.sampled_from(["wh-1", "wh-2", None]))
def test_a_planned_shipment_takes_exactly_what_was_asked_from_open_units_at_one_place(
    allocations: list[AllocationState], requested: dict[str, int] | None, location: str | None
) -> None:
    open_at = {(a.line_id, a.location_id): 0 for a in allocations}
    for a in allocations:
        open_at[(a.line_id, a.location_id)] += a.open
    feasible = location is not None and any(
        a.open for a in allocations if a.location_id == location) and all(
        n <= open_at.get((line, location), 0) for line, n in (requested or {}).items())
    try:
        where, taken = plan_shipment(allocations, requested, location)
    except (Conflict, InvalidInput):
        assert not feasible
        return
    assert location in (None, where)
    assert all(a.location_id == where and 0 < n <= a.open for a, n in taken)
    per_line: dict[str, int] = {}
    for a, n in taken:
        per_line[a.line_id] = per_line.get(a.line_id, 0) + n
    if requested is None:
        assert sum(per_line.values()) == sum(a.open for a in allocations if a.location_id == where)
    else:
        assert per_line == {k: v for k, v in requested.items() if v}
