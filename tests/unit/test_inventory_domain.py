"""Pure inventory rules: availability formula, reservation plans, ledger invariants, input."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kanaal.core.errors import Conflict, InvalidInput
from kanaal.inventory.domain import (
    LocationKind,
    StockLevel,
    channel_availability,
    check_count,
    check_location,
    check_quantity,
    check_sku,
    check_ttl,
    offered,
    plan_reservation,
)


@dataclass(frozen=True)
class FakeChannel:
    """The channel fields inventory reads."""

    id: str
    location_ids: tuple[str, ...]
    stock_buffer: int = 0
    quota: int | None = None


counts = st.integers(min_value=0, max_value=50)


@st.composite
def stock_levels(draw: st.DrawFn, location_id: str) -> StockLevel:
    on_hand = draw(counts)
    reserved = draw(st.integers(0, on_hand))
    allocated = draw(st.integers(0, on_hand - reserved))
    return StockLevel("SKU-1", location_id, on_hand, reserved, allocated, draw(counts),
                      draw(st.integers(0, 10)))


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list[StockLevel], FakeChannel]:
    n = draw(st.integers(1, 5))
    ids = [f"loc_{i}" for i in range(n)]
    levels = [draw(stock_levels(i)) for i in ids]
    order = tuple(draw(st.permutations(ids)))
    channel = FakeChannel("chn_1", order, draw(st.integers(0, 20)),
                          draw(st.none() | st.integers(0, 100)))
    return levels, channel


def test_available_is_on_hand_less_reserved_allocated_and_safety_floored() -> None:
    assert StockLevel("A", "l", 10, 2, 3, 0, 1).available == 4
    assert StockLevel("A", "l", 10, 2, 3, 0, 9).available == 0
    assert StockLevel("A", "l", 10, 2, 3, 0, 9).free == -4


def test_offered_subtracts_the_buffer_and_caps_at_the_quota() -> None:
    assert offered(10, stock_buffer=3, quota=None) == 7
    assert offered(2, stock_buffer=3, quota=None) == 0
    assert offered(10, stock_buffer=0, quota=4) == 4


@given(worlds())
def test_channel_availability_follows_the_formula(
    world: tuple[list[StockLevel], FakeChannel],
) -> None:
    levels, channel = world
    per_location = [max(0, lv.on_hand - lv.reserved - lv.allocated - lv.safety_stock)
                    for lv in levels]
    expected = max(0, sum(per_location) - channel.stock_buffer)
    if channel.quota is not None:
        expected = min(expected, channel.quota)
    assert channel_availability(levels, channel) == expected
    outsider = FakeChannel("chn_2", ("loc_elsewhere",))
    assert channel_availability(levels, outsider) == 0


@given(worlds(), st.integers(1, 120))
def test_a_plan_takes_exactly_the_quantity_in_priority_order_or_refuses(
    world: tuple[list[StockLevel], FakeChannel], quantity: int,
) -> None:
    levels, channel = world
    available = channel_availability(levels, channel)
    if quantity > available:
        with pytest.raises(Conflict) as refused:
            plan_reservation(levels, channel, quantity)
        assert refused.value.code == "insufficient_stock"
        return
    lines = plan_reservation(levels, channel, quantity)
    by_id = {lv.location_id: lv for lv in levels}
    assert sum(line.quantity for line in lines) == quantity
    assert all(0 < line.quantity <= by_id[line.location_id].available for line in lines)
    # Greedy in channel order: every location before the last one used is drained.
    used = [line.location_id for line in lines]
    assert used == [lid for lid in channel.location_ids if lid in used]
    for line in lines[:-1]:
        assert line.quantity == by_id[line.location_id].available
    for level in levels:
        taken = next((ln.quantity for ln in lines if ln.location_id == level.location_id), 0)
        assert level.changed(reserved=taken).problems() == []


@given(stock_levels("loc_1"), st.integers(-60, 60), st.integers(-60, 60),
       st.integers(-60, 60))
def test_a_change_is_refused_exactly_when_it_breaks_an_invariant(
    level: StockLevel, on_hand: int, reserved: int, allocated: int,
) -> None:
    after = StockLevel(level.sku, level.location_id, level.on_hand + on_hand,
                       level.reserved + reserved, level.allocated + allocated,
                       level.incoming, level.safety_stock)
    broken = (after.on_hand < 0 or after.reserved < 0 or after.allocated < 0
              or after.reserved + after.allocated > after.on_hand)
    if broken:
        with pytest.raises(Conflict):
            level.changed(on_hand=on_hand, reserved=reserved, allocated=allocated)
    else:
        assert level.changed(on_hand=on_hand, reserved=reserved, allocated=allocated) == after


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "2", 1_000_000_001])
def test_quantities_must_be_positive_whole_numbers(bad: object) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_quantity(bad)
    assert refused.value.code == "invalid_quantity"


def test_counts_ttls_and_skus_are_checked() -> None:
    assert check_count(0, "on_hand") == 0
    assert check_ttl(60) == 60
    assert check_sku("TEE-RED/M.1") == "TEE-RED/M.1"
    for call, code in [(lambda: check_count(-1, "on_hand"), "invalid_quantity"),
                       (lambda: check_ttl(0), "invalid_ttl"),
                       (lambda: check_ttl(8 * 24 * 3600), "invalid_ttl"),
                       (lambda: check_sku("-lead"), "invalid_sku"),
                       (lambda: check_sku("with space"), "invalid_sku")]:
        with pytest.raises(InvalidInput) as refused:
            call()
        assert refused.value.code == code


def test_locations_need_a_kind_and_sane_coordinates() -> None:
    assert check_location("Venlo", "3pl", 51.4, 6.2) is LocationKind.THREE_PL
    assert check_location("Depot", "warehouse", None, None) is LocationKind.WAREHOUSE
    with pytest.raises(InvalidInput) as refused:
        check_location("", "shed", 91.0, 181.0)
    assert [d["loc"] for d in refused.value.details] == [
        ["name"], ["kind"], ["latitude"], ["longitude"]]
