"""Fulfilment routing: click & collect, priority, nearest, fewest splits, split versus no-split."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kanaal.core.errors import Conflict, InvalidInput
from kanaal.orders.routing import (
    Candidate,
    Point,
    RouteLine,
    RoutePlan,
    Strategy,
    demand_by_sku,
    haversine_km,
    route_order,
)

AMSTERDAM = Point(52.3676, 4.9041)
UTRECHT = Point(52.0907, 5.1214)
ROTTERDAM = Point(51.9244, 4.4777)
GRONINGEN = Point(53.2194, 6.5665)


def _taken(plan: RoutePlan) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for a in plan.allocations:
        out[(a.location_id, a.sku)] = out.get((a.location_id, a.sku), 0) + a.quantity
    return out


def test_haversine_amsterdam_to_rotterdam_is_about_57_km() -> None:
    assert round(haversine_km(AMSTERDAM, ROTTERDAM), 1) == 57.2
    assert haversine_km(UTRECHT, UTRECHT) == 0.0


def test_coordinates_out_of_range_are_refused() -> None:
    with pytest.raises(InvalidInput) as err:
        Point(91.0, 0.0)
    assert err.value.code == "invalid_coordinates"


def test_click_and_collect_takes_everything_from_the_chosen_store() -> None:
    lines = [RouteLine("l1", "TEE-M", 2), RouteLine("l2", "CAP", 1)]
    candidates = [
        Candidate("wh", 0, AMSTERDAM, {"TEE-M": 50, "CAP": 50}),
        Candidate("store-utr", 1, UTRECHT, {"TEE-M": 2, "CAP": 1}, kind="store"),
    ]
    plan = route_order(lines, candidates, strategy=Strategy.PRIORITY,
                       pickup_location_id="store-utr")
    assert plan.location_ids == ("store-utr",)
    assert _taken(plan) == {("store-utr", "TEE-M"): 2, ("store-utr", "CAP"): 1}


def test_click_and_collect_refuses_when_the_store_lacks_stock_though_the_warehouse_has_it() -> None:
    lines = [RouteLine("l1", "TEE-M", 3)]
    candidates = [
        Candidate("wh", 0, AMSTERDAM, {"TEE-M": 50}),
        Candidate("store-utr", 1, UTRECHT, {"TEE-M": 2}, kind="store"),
    ]
    with pytest.raises(Conflict) as err:
        route_order(lines, candidates, strategy=Strategy.PRIORITY, pickup_location_id="store-utr")
    assert err.value.code == "insufficient_stock"
    assert err.value.details == [{"sku": "TEE-M", "requested": 3, "available": 2}]


def test_nearest_store_ships_from_the_closest_location_with_stock() -> None:
    lines = [RouteLine("l1", "TEE-M", 1)]
    candidates = [
        Candidate("wh-groningen", 0, GRONINGEN, {"TEE-M": 10}),
        Candidate("store-amsterdam", 1, AMSTERDAM, {"TEE-M": 0}, kind="store"),
        Candidate("store-utrecht", 2, UTRECHT, {"TEE-M": 3}, kind="store"),
    ]
    # The customer lives in Amsterdam: the Amsterdam store is nearest but empty.
    plan = route_order(lines, candidates, strategy=Strategy.NEAREST, destination=AMSTERDAM)
    assert plan.location_ids == ("store-utrecht",)
    by_priority = route_order(lines, candidates, strategy=Strategy.PRIORITY,
                              destination=AMSTERDAM)
    assert by_priority.location_ids == ("wh-groningen",)


def test_nearest_without_an_address_falls_back_to_priority() -> None:
    lines = [RouteLine("l1", "TEE-M", 1)]
    candidates = [Candidate("b", 1, AMSTERDAM, {"TEE-M": 1}), Candidate("a", 0, GRONINGEN,
                                                                       {"TEE-M": 1})]
    assert route_order(lines, candidates, strategy=Strategy.NEAREST).location_ids == ("a",)


def test_priority_splits_an_order_that_fewest_splits_ships_in_one_parcel() -> None:
    lines = [RouteLine("l1", "TEE-M", 2), RouteLine("l2", "CAP", 1)]
    candidates = [
        Candidate("wh-1", 0, None, {"TEE-M": 2}),
        Candidate("wh-2", 1, None, {"CAP": 5}),
        Candidate("wh-3", 2, None, {"TEE-M": 5, "CAP": 5}),
    ]
    split = route_order(lines, candidates, strategy=Strategy.PRIORITY)
    assert split.shipments == 2
    assert _taken(split) == {("wh-1", "TEE-M"): 2, ("wh-2", "CAP"): 1}
    whole = route_order(lines, candidates, strategy=Strategy.FEWEST_SPLITS)
    assert whole.shipments == 1
    assert _taken(whole) == {("wh-3", "TEE-M"): 2, ("wh-3", "CAP"): 1}


def test_no_split_requested_uses_the_best_single_location_or_refuses() -> None:
    lines = [RouteLine("l1", "TEE-M", 2), RouteLine("l2", "CAP", 1)]
    spread = [Candidate("wh-1", 0, None, {"TEE-M": 2}), Candidate("wh-2", 1, None, {"CAP": 5})]
    assert route_order(lines, spread, strategy=Strategy.PRIORITY).shipments == 2
    with pytest.raises(Conflict) as err:
        route_order(lines, spread, strategy=Strategy.PRIORITY, allow_split=False)
    assert err.value.code == "cannot_ship_unsplit"
    whole = [*spread, Candidate("wh-3", 2, None, {"TEE-M": 9, "CAP": 9})]
    plan = route_order(lines, whole, strategy=Strategy.PRIORITY, allow_split=False)
    assert plan.location_ids == ("wh-3",)


def test_two_lines_of_the_same_sku_share_the_stock_of_a_location() -> None:
    lines = [RouteLine("l1", "TEE-M", 2), RouteLine("l2", "TEE-M", 2)]
    candidates = [Candidate("wh-1", 0, None, {"TEE-M": 3}), Candidate("wh-2", 1, None,
                                                                      {"TEE-M": 3})]
    plan = route_order(lines, candidates, strategy=Strategy.PRIORITY)
    assert _taken(plan) == {("wh-1", "TEE-M"): 3, ("wh-2", "TEE-M"): 1}
    with pytest.raises(Conflict) as err:
        route_order(lines, candidates[:1], strategy=Strategy.PRIORITY)
    assert err.value.details == [{"sku": "TEE-M", "requested": 4, "available": 3}]


def test_fewest_splits_breaks_ties_by_priority() -> None:
    lines = [RouteLine("l1", "TEE-M", 1)]
    candidates = [Candidate("late", 5, None, {"TEE-M": 1}), Candidate("early", 1, None,
                                                                      {"TEE-M": 1})]
    assert route_order(lines, candidates, strategy=Strategy.FEWEST_SPLITS).location_ids == (
        "early",
    )


@pytest.mark.parametrize(
    ("lines", "code"),
    [([], "empty_order"), ([RouteLine("l1", "A", 0)], "invalid_quantity"),
     ([RouteLine("l1", "A", -2)], "invalid_quantity")],
)
def test_bad_lines_are_refused(lines: list[RouteLine], code: str) -> None:
    with pytest.raises(InvalidInput) as err:
        route_order(lines, [Candidate("wh", 0, None, {"A": 5})], strategy=Strategy.PRIORITY)
    assert err.value.code == code


# ---------------------------------------------------------------- properties

SKUS = ["A", "B", "C"]


@st.composite
def instances(draw: st.DrawFn) -> tuple[list[RouteLine], list[Candidate], Point]:
    n_lines = draw(st.integers(1, 5))
    lines = [RouteLine(f"l{i}", draw(st.sampled_from(SKUS)), draw(st.integers(1, 6)))
             for i in range(n_lines)]
    n_loc = draw(st.integers(1, 6))
    priorities = draw(st.permutations(list(range(n_loc))))
    candidates = []
    for i in range(n_loc):
        point = Point(draw(st.floats(50.0, 54.0)), draw(st.floats(3.0, 7.0)))
        stock = {sku: draw(st.integers(0, 8)) for sku in SKUS}
        candidates.append(Candidate(f"loc{i}", priorities[i], point, stock))
    destination = Point(draw(st.floats(50.0, 54.0)), draw(st.floats(3.0, 7.0)))
    return lines, candidates, destination


def _feasible(lines: Sequence[RouteLine], pool: Sequence[Candidate]) -> bool:
    return all(sum(c.has(s) for c in pool) >= q for s, q in demand_by_sku(lines).items())


def _check_plan(
    plan: RoutePlan, lines: Sequence[RouteLine], candidates: Sequence[Candidate]
) -> None:
    per_line: dict[str, int] = {}
    for a in plan.allocations:
        assert a.quantity > 0
        per_line[a.line_id] = per_line.get(a.line_id, 0) + a.quantity
    assert per_line == {line.line_id: line.quantity for line in lines}
    stock = {c.location_id: c for c in candidates}
    for (loc, sku), taken in _taken(plan).items():
        assert taken <= stock[loc].has(sku)
    line_sku = {line.line_id: line.sku for line in lines}
    assert all(a.sku == line_sku[a.line_id] for a in plan.allocations)


@settings(max_examples=300, deadline=None)
@given(instances(), st.sampled_from(list(Strategy)))
def test_every_plan_covers_each_line_exactly_and_never_oversells(
    instance: tuple[list[RouteLine], list[Candidate], Point], strategy: Strategy
) -> None:
    lines, candidates, destination = instance
    if not _feasible(lines, candidates):
        with pytest.raises(Conflict) as err:
            route_order(lines, candidates, strategy=strategy, destination=destination)
        assert err.value.code == "insufficient_stock"
        return
    plan = route_order(lines, candidates, strategy=strategy, destination=destination)
    _check_plan(plan, lines, candidates)


@settings(max_examples=300, deadline=None)
@given(instances())
def test_fewest_splits_is_minimal_and_never_worse_than_the_other_strategies(
    instance: tuple[list[RouteLine], list[Candidate], Point],
) -> None:
    lines, candidates, destination = instance
    if not _feasible(lines, candidates):
        return
    plan = route_order(lines, candidates, strategy=Strategy.FEWEST_SPLITS, destination=destination)
    brute = min(size for size in range(1, len(candidates) + 1)
                for subset in combinations(candidates, size) if _feasible(lines, subset))
    assert plan.shipments == brute
    for other in (Strategy.PRIORITY, Strategy.NEAREST):
        assert plan.shipments <= route_order(
            lines, candidates, strategy=other, destination=destination
        ).shipments


@settings(max_examples=300, deadline=None)
@given(instances())
def test_nearest_uses_a_location_only_when_every_nearer_one_ran_out_of_that_sku(
    instance: tuple[list[RouteLine], list[Candidate], Point],
) -> None:
    lines, candidates, destination = instance
    if not _feasible(lines, candidates):
        return
    plan = route_order(lines, candidates, strategy=Strategy.NEAREST, destination=destination)
    taken = _taken(plan)
    dist = {c.location_id: haversine_km(destination, c.point) for c in candidates if c.point}
    for (loc, sku) in taken:
        for c in candidates:
            if dist[c.location_id] < dist[loc]:
                assert taken.get((c.location_id, sku), 0) == c.has(sku)


@settings(max_examples=200, deadline=None)
@given(instances(), st.data())
def test_click_and_collect_uses_only_the_pickup_store_or_refuses(
    instance: tuple[list[RouteLine], list[Candidate], Point], data: st.DataObject
) -> None:
    lines, candidates, _ = instance
    store = data.draw(st.sampled_from(candidates))
    if _feasible(lines, [store]):
        plan = route_order(lines, candidates, strategy=Strategy.PRIORITY,
                           pickup_location_id=store.location_id)
        assert plan.location_ids == (store.location_id,)
        _check_plan(plan, lines, candidates)
    else:
        with pytest.raises(Conflict):
            route_order(lines, candidates, strategy=Strategy.PRIORITY,
                        pickup_location_id=store.location_id)


@settings(max_examples=200, deadline=None)
@given(instances(), st.sampled_from(list(Strategy)))
def test_no_split_plans_use_one_location_exactly_when_one_holds_everything(
    instance: tuple[list[RouteLine], list[Candidate], Point], strategy: Strategy
) -> None:
    lines, candidates, destination = instance
    singles = [c for c in candidates if _feasible(lines, [c])]
    if singles:
        plan = route_order(lines, candidates, strategy=strategy, destination=destination,
                           allow_split=False)
        assert plan.shipments == 1
        assert plan.location_ids[0] in {c.location_id for c in singles}
    elif _feasible(lines, candidates):
        with pytest.raises(Conflict) as err:
            route_order(lines, candidates, strategy=strategy, destination=destination,
                        allow_split=False)
        assert err.value.code == "cannot_ship_unsplit"
