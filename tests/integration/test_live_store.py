"""Ordered writes in the live store (`next_order`, `put_json_if_newer`), in memory and on Redis.

Every test runs on a MemoryLiveStore and on a real Redis; on Redis the two handles are two
connections, as two worker processes hold them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from kanaal.core.live import LiveStore, MemoryLiveStore, RedisLiveStore

KEY = "feature:{snapshot}"
VERSION = "feature:{snapshot}:version"


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def workers(request: pytest.FixtureRequest) -> Iterator[tuple[LiveStore, LiveStore]]:
    """Two workers' handles on one live store (one object in memory, two clients on Redis)."""
    if request.param == "memory":
        shared = MemoryLiveStore()
        yield shared, shared
        return
    url: str = request.getfixturevalue("redis_url")
    prefix: str = request.getfixturevalue("redis_prefix")
    first, second = RedisLiveStore(url, prefix=prefix), RedisLiveStore(url, prefix=prefix)
    yield first, second
    first.close()
    second.close()


def test_orders_rise_across_workers_and_keys_count_apart(
    workers: tuple[LiveStore, LiveStore],
) -> None:
    first, second = workers
    orders = [(first, second)[n % 2].next_order(KEY) for n in range(6)]
    assert orders == sorted(set(orders))  # strictly rising, whichever worker took them
    assert first.next_order("other:key") < orders[-1]  # another key has its own counter


def test_a_write_read_later_replaces_one_read_earlier_and_never_the_reverse(
    workers: tuple[LiveStore, LiveStore],
) -> None:
    first, second = workers
    earlier = first.next_order(KEY)  # the slow worker starts reading first
    later = second.next_order(KEY)
    assert second.put_json_if_newer(KEY, {"v": "later"}, order=later, together={VERSION: "b"})
    assert not first.put_json_if_newer(KEY, {"v": "earlier"}, order=earlier,
                                       together={VERSION: "a"})
    # Refused whole: neither the value nor the value written with it changed.
    assert (first.get_json(KEY), first.get_json(VERSION)) == ({"v": "later"}, "b")
    # In the other order both writes land, the later last.
    again_earlier, again_later = first.next_order(KEY), second.next_order(KEY)
    assert first.put_json_if_newer(KEY, {"v": "earlier"}, order=again_earlier,
                                   together={VERSION: "c"})
    assert second.put_json_if_newer(KEY, {"v": "later"}, order=again_later,
                                    together={VERSION: "d"})
    assert (second.get_json(KEY), second.get_json(VERSION)) == ({"v": "later"}, "d")


def test_an_equal_order_is_the_same_write_again_and_is_refused(
    workers: tuple[LiveStore, LiveStore],
) -> None:
    first, second = workers
    order = first.next_order(KEY)
    assert first.put_json_if_newer(KEY, [1], order=order)
    assert not second.put_json_if_newer(KEY, [2], order=order)
    assert second.get_json(KEY) == [1]


def test_the_first_write_lands_and_later_orders_stay_above_the_stored_one(
    workers: tuple[LiveStore, LiveStore],
) -> None:
    first, second = workers
    assert first.put_json_if_newer(KEY, "given", order=100)  # nothing stored: any order
    assert second.next_order(KEY) == 101  # a new order is above what is stored
    # Deleting or overwriting the value keeps its order: a stale writer is still refused.
    second.delete(KEY)
    assert not first.put_json_if_newer(KEY, "stale", order=99)
    assert first.get_json(KEY) is None
    first.put_json(KEY, "plain")
    assert not second.put_json_if_newer(KEY, "stale", order=100)
    assert second.get_json(KEY) == "plain"


def test_concurrent_writers_leave_the_value_of_the_latest_order(
    workers: tuple[LiveStore, LiveStore],
) -> None:
    first, second = workers
    taken: list[int] = []
    guard = threading.Lock()
    start = threading.Barrier(8)

    def write(live: LiveStore) -> None:
        start.wait()
        for _ in range(20):
            order = live.next_order(KEY)
            with guard:
                taken.append(order)
            live.put_json_if_newer(KEY, order, order=order, together={VERSION: order})

    threads = [threading.Thread(target=write, args=((first, second)[n % 2],))
               for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(taken)) == len(taken) == 160  # no order handed out twice
    assert first.get_json(KEY) == first.get_json(VERSION) == max(taken)


def test_keys_written_together_must_share_one_cluster_hash_slot(
    workers: tuple[LiveStore, LiveStore],
) -> None:
    first, _ = workers
    order = first.next_order("feature:snapshot")
    with pytest.raises(ValueError, match="hash slot"):
        first.put_json_if_newer("feature:snapshot", [1], order=order,
                                together={"feature:snapshot:version": "a"})
    assert first.get_json("feature:snapshot") is None  # nothing half-written
    with pytest.raises(ValueError, match="hash slot"):  # its order is kept beside it
        first.put_json_if_newer("feature:snapshot", [1], order=order)
    # One hash tag: the same write is accepted.
    assert first.put_json_if_newer(KEY, [1], order=first.next_order(KEY),
                                   together={VERSION: "a"})
