"""Fulfilment routing: which location ships which part of an order. Pure functions.

Strategies (a channel's `allocation_strategy`, or click & collect chosen by the customer):

- click & collect: every line comes from the chosen store, or the order is refused.
- priority: fill each line from the channel's locations in their configured order.
- nearest: fill each line from the locations nearest to the shipping address first
  (haversine distance; locations without coordinates come last, by priority).
- fewest_splits: the smallest set of locations that covers the whole order (fewest
  shipments); among equally small sets the one ranked best by priority, then distance.

Lines that share a sku draw on the same stock: the plan never takes more of a sku from a
location than it has, summed over all lines.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import combinations
from typing import Any

from kanaal.core.errors import Conflict, InvalidInput

EARTH_RADIUS_KM = 6371.0088
# Past this many candidate sets the exact fewest-splits search gives way to greedy set cover.
MAX_EXACT_SUBSETS = 50_000


class Strategy(StrEnum):
    """How an order is spread over a channel's locations."""

    PRIORITY = "priority"
    NEAREST = "nearest"
    FEWEST_SPLITS = "fewest_splits"


@dataclass(frozen=True, slots=True)
class Point:
    """A place on earth in decimal degrees."""

    latitude: float
    longitude: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.latitude) and -90.0 <= self.latitude <= 90.0):
            raise InvalidInput("latitude must be between -90 and 90", code="invalid_coordinates")
        if not (math.isfinite(self.longitude) and -180.0 <= self.longitude <= 180.0):
            raise InvalidInput(
                "longitude must be between -180 and 180", code="invalid_coordinates"
            )


@dataclass(frozen=True, slots=True)
class Candidate:
    """A location that may ship: its priority (0 = first), position and stock per sku."""

    location_id: str
    priority: int
    point: Point | None = None
    stock: Mapping[str, int] = field(default_factory=dict)
    kind: str = "warehouse"

    def has(self, sku: str) -> int:
        """Units of `sku` this location can give (never negative)."""
        return max(0, self.stock.get(sku, 0))


@dataclass(frozen=True, slots=True)
class RouteLine:
    """One order line to route."""

    line_id: str
    sku: str
    quantity: int


@dataclass(frozen=True, slots=True)
class Allocation:
    """`quantity` units of a line's sku taken from one location."""

    line_id: str
    sku: str
    location_id: str
    quantity: int


@dataclass(frozen=True, slots=True)
class RoutePlan:
    """The allocations of one order; one shipment per distinct location."""

    allocations: tuple[Allocation, ...]

    @property
    def location_ids(self) -> tuple[str, ...]:
        """Locations used, in first-use order."""
        return tuple(dict.fromkeys(a.location_id for a in self.allocations))

    @property
    def shipments(self) -> int:
        """How many parcels the order becomes."""
        return len(self.location_ids)


def haversine_km(a: Point, b: Point) -> float:
    """Great-circle distance in kilometres."""
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlat = lat2 - lat1
    dlon = math.radians(b.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def demand_by_sku(lines: Iterable[RouteLine]) -> dict[str, int]:
    """Total units wanted per sku over all lines."""
    demand: dict[str, int] = {}
    for line in lines:
        demand[line.sku] = demand.get(line.sku, 0) + line.quantity
    return demand


def _validate(lines: Sequence[RouteLine], candidates: Sequence[Candidate]) -> None:
    if not lines:
        raise InvalidInput("an order needs at least one line", code="empty_order")
    for line in lines:
        if line.quantity <= 0:
            raise InvalidInput(
                f"line {line.line_id}: quantity must be positive", code="invalid_quantity"
            )
    ids = [c.location_id for c in candidates]
    if len(set(ids)) != len(ids):
        raise InvalidInput("a location appears twice among the candidates",
                           code="duplicate_location")


def _shortage(demand: Mapping[str, int], pool: Sequence[Candidate]) -> list[dict[str, Any]]:
    details = []
    for sku, wanted in sorted(demand.items()):
        have = sum(c.has(sku) for c in pool)
        if have < wanted:
            details.append({"sku": sku, "requested": wanted, "available": have})
    return details


def _insufficient(demand: Mapping[str, int], pool: Sequence[Candidate], where: str) -> Conflict:
    return Conflict(
        f"not enough stock {where}",
        code="insufficient_stock",
        details=_shortage(demand, pool) or [
            {"sku": sku, "requested": q} for sku, q in sorted(demand.items())
        ],
    )


def _fill(lines: Sequence[RouteLine], ordered: Sequence[Candidate]) -> RoutePlan:
    """Greedy: each line, in order, takes what it can from each location in `ordered`."""
    left = {c.location_id: dict(c.stock) for c in ordered}
    allocations: list[Allocation] = []
    for line in lines:
        remaining = line.quantity
        for candidate in ordered:
            if remaining == 0:
                break
            take = min(remaining, max(0, left[candidate.location_id].get(line.sku, 0)))
            if take:
                left[candidate.location_id][line.sku] -= take
                remaining -= take
                allocations.append(Allocation(line.line_id, line.sku, candidate.location_id, take))
        if remaining:
            raise AssertionError("fill called on an infeasible pool")  # callers check first
    return RoutePlan(tuple(allocations))


def _covers(demand: Mapping[str, int], pool: Iterable[Candidate]) -> bool:
    pool = tuple(pool)
    return all(sum(c.has(sku) for c in pool) >= wanted for sku, wanted in demand.items())


def rank(
    candidates: Sequence[Candidate], strategy: Strategy, destination: Point | None
) -> list[Candidate]:
    """Candidates in the order `strategy` prefers them."""

    def distance(c: Candidate) -> float:
        if destination is None or c.point is None:
            return math.inf
        return haversine_km(destination, c.point)

    if strategy is Strategy.NEAREST:
        return sorted(candidates, key=lambda c: (distance(c), c.priority, c.location_id))
    return sorted(candidates, key=lambda c: (c.priority, distance(c), c.location_id))


def _fewest_splits(
    lines: Sequence[RouteLine], ranked: list[Candidate], demand: Mapping[str, int]
) -> RoutePlan:
    useful = [c for c in ranked if any(c.has(sku) for sku in demand)]
    examined = 0
    for size in range(1, len(useful) + 1):
        for subset in combinations(useful, size):  # lexicographic in rank order
            examined += 1
            if examined > MAX_EXACT_SUBSETS:
                return _fill(lines, _greedy_cover(useful, demand))
            if _covers(demand, subset):
                return _fill(lines, list(subset))
    raise AssertionError("unreachable: callers check that all candidates cover the demand")


def _greedy_cover(useful: list[Candidate], demand: Mapping[str, int]) -> list[Candidate]:
    """Set cover by largest contribution first (ties by rank) for very large location sets."""
    left = dict(demand)
    chosen: list[Candidate] = []
    pool = list(useful)
    while any(v > 0 for v in left.values()):
        best = max(
            pool,
            key=lambda c: (sum(min(c.has(s), w) for s, w in left.items()), -useful.index(c)),
        )
        chosen.append(best)
        pool.remove(best)
        for sku in left:
            left[sku] = max(0, left[sku] - best.has(sku))
    return sorted(chosen, key=useful.index)


def route_order(
    lines: Sequence[RouteLine],
    candidates: Sequence[Candidate],
    *,
    strategy: Strategy,
    destination: Point | None = None,
    pickup_location_id: str | None = None,
    allow_split: bool = True,
) -> RoutePlan:
    """Decide which locations ship which lines; raises Conflict `insufficient_stock`.

    With `pickup_location_id` (click & collect) only that store is used. With
    `allow_split=False` the whole order must come from one location (code
    `cannot_ship_unsplit` when stock exists only spread over several).
    """
    _validate(lines, candidates)
    demand = demand_by_sku(lines)
    if pickup_location_id is not None:
        store = [c for c in candidates if c.location_id == pickup_location_id]
        if not store:
            raise InvalidInput(
                f"location {pickup_location_id!r} is not a pickup candidate",
                code="invalid_pickup_location",
            )
        if not _covers(demand, store):
            raise _insufficient(demand, store, f"at pickup store {pickup_location_id}")
        return _fill(lines, store)
    if not _covers(demand, candidates):
        raise _insufficient(demand, candidates, "over the channel's locations")
    ranked = rank(candidates, strategy, destination)
    if not allow_split:
        for candidate in ranked:
            if _covers(demand, [candidate]):
                return _fill(lines, [candidate])
        raise Conflict(
            "no single location holds the whole order",
            code="cannot_ship_unsplit",
            details=[{"sku": s, "requested": q} for s, q in sorted(demand.items())],
        )
    if strategy is Strategy.FEWEST_SPLITS:
        return _fewest_splits(lines, ranked, demand)
    return _fill(lines, ranked)
