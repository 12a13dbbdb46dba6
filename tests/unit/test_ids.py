"""Ids: base-36 digits exact, unique, and sorted by creation time."""

from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st

from kanaal.core.ids import RandomIds, SequentialIds, _base36


@given(number=st.integers(min_value=0, max_value=36**20), width=st.integers(1, 20))
def test_base36_is_the_low_digits_zero_padded(number: int, width: int) -> None:
    text = _base36(number, width)
    assert len(text) == width
    assert int(text, 36) == number % 36**width


def test_random_ids_are_unique_well_formed_and_time_ordered() -> None:
    ids = RandomIds()
    first = [ids.new("dec") for _ in range(2000)]
    time.sleep(0.003)
    later = ids.new("dec")
    assert len(set(first)) == len(first)
    assert all(i.startswith("dec_") and len(i) == 4 + 25 and i[4:].isalnum() for i in first)
    assert all(later > i for i in first)
    stamp = int(later[4:13], 36)
    assert abs(stamp - time.time_ns() // 1_000_000) < 5_000


def test_random_ids_of_one_millisecond_keep_the_order_they_were_made_in() -> None:
    ids = RandomIds()
    made = [ids.new("evt") for _ in range(20_000)]  # many share a millisecond
    assert made == sorted(made) and len(set(made)) == len(made)
    assert len({i[4:13] for i in made}) < len(made)
    # The random part still differs by an unguessable step, not by one.
    steps = {int(b[13:], 36) - int(a[13:], 36) for a, b in zip(made, made[1:], strict=False)
             if a[4:13] == b[4:13]}
    assert len(steps) > 100 and min(steps) >= 1


def test_sequential_ids_count_up() -> None:
    ids = SequentialIds()
    assert [ids.new("cus"), ids.new("evt")] == ["cus_000001", "evt_000002"]
