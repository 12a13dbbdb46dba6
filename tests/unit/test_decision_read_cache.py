"""The decision engine's per-worker read cache: served for `ttl` seconds, then read again."""

from __future__ import annotations

from kanaal.decisions.read_cache import TtlCache, is_missing


def test_an_entry_is_served_for_ttl_seconds_and_then_missing() -> None:
    cache: TtlCache[str, int | None] = TtlCache(ttl=5.0)
    cache.put("a", None, now=100.0)
    assert cache.get("a", now=100.0) is None
    assert cache.get("a", now=104.999) is None
    assert is_missing(cache.get("a", now=105.0))
    assert is_missing(cache.get("b", now=100.0))


def test_an_entry_from_the_future_is_not_served() -> None:
    cache: TtlCache[str, int] = TtlCache(ttl=5.0)
    cache.put("a", 1, now=100.0)
    assert is_missing(cache.get("a", now=99.0))


def test_a_zero_ttl_stores_nothing() -> None:
    cache: TtlCache[str, int] = TtlCache(ttl=0.0)
    cache.put("a", 1, now=100.0)
    assert len(cache) == 0
    assert is_missing(cache.get("a", now=100.0))


def test_the_cache_stays_bounded_and_keeps_the_newest_entries() -> None:
    cache: TtlCache[int, int] = TtlCache(ttl=60.0, max_entries=100)
    for n in range(1000):
        cache.put(n, n, now=float(n) / 100)
    assert len(cache) <= 100
    assert cache.get(999, now=10.0) == 999
    assert is_missing(cache.get(0, now=10.0))


def test_expired_entries_are_dropped_first_when_the_cache_is_full() -> None:
    cache: TtlCache[int, int] = TtlCache(ttl=5.0, max_entries=10)
    for n in range(10):
        cache.put(n, n, now=0.0)
    cache.put(10, 10, now=6.0)
    assert len(cache) == 1
    assert cache.get(10, now=6.0) == 10
