"""Live shared state: in-process on one machine, Redis when workers are scaled out.

Holds what must be fast and shared but may be rebuilt: rate-limit and pacing token buckets,
live snapshots (contact-center capacity), counters and short-lived flags.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import redis
from redis.crc import key_slot

_TOKEN_BUCKET_LUA = """
local key = KEYS[1]
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local state = redis.call('HMGET', key, 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil then tokens = burst; at = now end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local allowed = 0
local wait = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  if rate > 0 then wait = (cost - tokens) / rate else wait = -1 end
end
redis.call('HSET', key, 'tokens', tostring(tokens), 'at', tostring(now))
local ttl = 3600
if rate > 0 then ttl = math.max(1, math.ceil(burst / rate) * 2) end
redis.call('EXPIRE', key, ttl)
return {allowed, tostring(wait), tostring(tokens)}
"""

# KEYS[1]: the order hash of the guarded key (fields `issued`, `stored`).
_NEXT_ORDER_LUA = """
local issued = redis.call('HINCRBY', KEYS[1], 'issued', 1)
local stored = tonumber(redis.call('HGET', KEYS[1], 'stored'))
if stored ~= nil and issued <= stored then
  issued = stored + 1
  redis.call('HSET', KEYS[1], 'issued', string.format('%d', issued))
end
return issued
"""

# KEYS[1]: the order hash; KEYS[2..n]: the guarded key, then the keys written with it.
# ARGV[1]: the write's order; ARGV[2..n]: the JSON values, in the order of KEYS[2..n].
_PUT_IF_NEWER_LUA = """
local stored = tonumber(redis.call('HGET', KEYS[1], 'stored'))
local order = tonumber(ARGV[1])
if stored ~= nil and order <= stored then return 0 end
redis.call('HSET', KEYS[1], 'stored', ARGV[1])
for i = 2, #KEYS do redis.call('SET', KEYS[i], ARGV[i]) end
return 1
"""


class LiveStore(Protocol):
    """The operations features may use on live state."""

    def take_tokens(
        self, key: str, *, rate: float, burst: float, cost: float = 1.0
    ) -> tuple[bool, float]:
        """Token bucket: take `cost` tokens; returns (allowed, seconds until enough tokens)."""
        ...

    def tokens_left(self, key: str, *, rate: float, burst: float) -> float:
        """Tokens currently in the bucket (refilled to now) without taking any."""
        ...

    def put_json(self, key: str, value: Any, *, ttl_seconds: float | None = None) -> None:
        """Store a JSON-serialisable value."""
        ...

    def get_json(self, key: str) -> Any | None:
        """Read a value stored by `put_json` or `put_json_if_newer`, or None."""
        ...

    def next_order(self, key: str) -> int:
        """The order of a coming `put_json_if_newer` of `key`: take it before reading what the
        value is computed from. Each call returns a number above every number returned for
        `key` before, and above the order of the value stored there, by any worker sharing
        this store: the write whose inputs were read later carries the larger order.

        A counter in the store itself, not a clock: it is shared by exactly the workers whose
        writes are compared (this process in memory, every process on every host with Redis)
        and strictly increasing, so two writes prepared at the same instant still get distinct
        orders in the order they were taken. A clock would not do: host clocks drift apart, two
        workers can read the same Redis TIME microsecond and it steps back when a replica with
        another clock takes over, SQLite has no server clock, and tests set a ManualClock at will
        (or not at all between two writes).
        """
        ...

    def put_json_if_newer(self, key: str, value: Any, *, order: int,
                          together: Mapping[str, Any] | None = None) -> bool:
        """Store `value` under `key` only when `order` is above the order of the value stored
        there by this method (anything, when none was); True when this call stored it.

        Check and write are one atomic step, with the values of `together` written under their
        own keys in the same step: a reader that sees one of them finds the others of the same
        write (or of a newer one). An equal order is the same write again and is refused. The
        values do not expire. `delete` and `put_json` leave the key's order as it was, so a
        slower writer with an older order is still refused after them.

        `key` and the keys of `together` must share one hash tag (`feature:{name}` and
        `feature:{name}:version`), also when `together` is empty (the key's order is kept
        beside it): on Redis they are written by one Lua script, which a Redis Cluster runs
        only on keys of one hash slot. Both stores refuse other keys with
        ValueError, so the mistake shows on the first write, not on the first cluster.
        """
        ...

    def incr(self, key: str, amount: int = 1, *, ttl_seconds: float | None = None) -> int:
        """Add to a counter and return its new value."""
        ...

    def set_if_absent(self, key: str, value: str, *, ttl_seconds: float) -> bool:
        """Set `key` only when it does not exist yet; True when this call set it."""
        ...

    def delete(self, key: str) -> None:
        """Remove a key."""
        ...

    def publish(self, channel: str, message: Any) -> None:
        """Send a JSON message to every subscriber of `channel` in every worker."""
        ...

    def subscribe(self, channel: str, handler: Callable[[Any], None]) -> Callable[[], None]:
        """Call `handler` for each message on `channel`; returns a function that unsubscribes."""
        ...


def order_key(key: str) -> str:
    """Where `put_json_if_newer` keeps `key`'s orders: beside it, with its hash tag."""
    return f"{key}#order"


def check_one_slot(keys: list[str]) -> None:
    """Refuse keys of one atomic write that a Redis Cluster would place in different slots.

    Slots are computed as the cluster does (CRC16 of the key's hash tag, `{...}`, when it has
    one); the store's prefix has no tag, so it does not change which keys share a slot.
    """
    slots = {key_slot(name.encode()) for name in keys}
    if len(slots) > 1:
        raise ValueError(
            f"keys {keys!r} of one atomic write fall in different Redis Cluster hash slots; "
            "give them one hash tag, e.g. 'feature:{name}' and 'feature:{name}:version'")


class MemoryLiveStore:
    """Live state held by this process: the embedded default (one worker)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._values: dict[str, tuple[Any, float | None]] = {}
        self._buckets: dict[str, tuple[float, float]] = {}
        # key -> (last order handed out by next_order, order of the stored value or None)
        self._orders: dict[str, tuple[int, int | None]] = {}
        self._subscribers: dict[str, list[Callable[[Any], None]]] = {}

    def _alive(self, key: str) -> Any | None:
        item = self._values.get(key)
        if item is None:
            return None
        value, expires = item
        if expires is not None and self._clock() >= expires:
            del self._values[key]
            return None
        return value

    def _expiry(self, ttl_seconds: float | None) -> float | None:
        return None if ttl_seconds is None else self._clock() + ttl_seconds

    def _refill(self, key: str, rate: float, burst: float) -> float:
        now = self._clock()
        tokens, at = self._buckets.get(key, (burst, now))
        tokens = min(burst, tokens + max(0.0, now - at) * rate)
        self._buckets[key] = (tokens, now)
        return tokens

    def take_tokens(
        self, key: str, *, rate: float, burst: float, cost: float = 1.0
    ) -> tuple[bool, float]:
        with self._lock:
            tokens = self._refill(key, rate, burst)
            if tokens >= cost:
                self._buckets[key] = (tokens - cost, self._clock())
                return True, 0.0
            wait = (cost - tokens) / rate if rate > 0 else float("inf")
            return False, wait

    def tokens_left(self, key: str, *, rate: float, burst: float) -> float:
        with self._lock:
            return self._refill(key, rate, burst)

    def put_json(self, key: str, value: Any, *, ttl_seconds: float | None = None) -> None:
        encoded = json.dumps(value)
        with self._lock:
            self._values[key] = (encoded, self._expiry(ttl_seconds))

    def get_json(self, key: str) -> Any | None:
        with self._lock:
            raw = self._alive(key)
        return None if raw is None else json.loads(raw)

    def next_order(self, key: str) -> int:
        with self._lock:
            issued, stored = self._orders.get(key, (0, None))
            issued = max(issued, stored or 0) + 1
            self._orders[key] = (issued, stored)
            return issued

    def put_json_if_newer(self, key: str, value: Any, *, order: int,
                          together: Mapping[str, Any] | None = None) -> bool:
        check_one_slot([order_key(key), key, *(together or {})])
        encoded = {key: json.dumps(value)}
        encoded.update((name, json.dumps(item)) for name, item in (together or {}).items())
        with self._lock:
            issued, stored = self._orders.get(key, (0, None))
            if stored is not None and order <= stored:
                return False
            self._orders[key] = (issued, order)
            for name, raw in encoded.items():
                self._values[name] = (raw, None)
            return True

    def incr(self, key: str, amount: int = 1, *, ttl_seconds: float | None = None) -> int:
        with self._lock:
            current = self._alive(key)
            value = int(current or 0) + amount
            expires = self._values[key][1] if current is not None else self._expiry(ttl_seconds)
            self._values[key] = (value, expires)
            return value

    def set_if_absent(self, key: str, value: str, *, ttl_seconds: float) -> bool:
        with self._lock:
            if self._alive(key) is not None:
                return False
            self._values[key] = (value, self._expiry(ttl_seconds))
            return True

    def delete(self, key: str) -> None:
        with self._lock:
            self._values.pop(key, None)
            self._buckets.pop(key, None)

    def publish(self, channel: str, message: Any) -> None:
        with self._lock:
            handlers = list(self._subscribers.get(channel, ()))
        for handler in handlers:
            handler(message)

    def subscribe(self, channel: str, handler: Callable[[Any], None]) -> Callable[[], None]:
        with self._lock:
            self._subscribers.setdefault(channel, []).append(handler)

        def unsubscribe() -> None:
            with self._lock:
                handlers = self._subscribers.get(channel, [])
                if handler in handlers:
                    handlers.remove(handler)

        return unsubscribe


class RedisLiveStore:
    """Live state in Redis, shared by every worker on every host."""

    def __init__(self, url: str, *, prefix: str = "kanaal") -> None:
        self.client = redis.Redis.from_url(url, decode_responses=True)
        self.prefix = prefix
        self._bucket = self.client.register_script(_TOKEN_BUCKET_LUA)
        self._next_order = self.client.register_script(_NEXT_ORDER_LUA)
        self._put_if_newer = self.client.register_script(_PUT_IF_NEWER_LUA)

    def _k(self, key: str) -> str:
        return f"{self.prefix}:{key}"

    def _now(self) -> float:
        seconds, micros = self.client.time()
        return float(seconds) + float(micros) / 1_000_000

    def take_tokens(
        self, key: str, *, rate: float, burst: float, cost: float = 1.0
    ) -> tuple[bool, float]:
        allowed, wait, _ = self._bucket(keys=[self._k(key)], args=[rate, burst, cost, self._now()])
        seconds = float(wait)
        return bool(int(allowed)), (float("inf") if seconds < 0 else seconds)

    def tokens_left(self, key: str, *, rate: float, burst: float) -> float:
        _, _, tokens = self._bucket(keys=[self._k(key)], args=[rate, burst, 0, self._now()])
        return float(tokens)

    def put_json(self, key: str, value: Any, *, ttl_seconds: float | None = None) -> None:
        px = None if ttl_seconds is None else max(1, int(ttl_seconds * 1000))
        self.client.set(self._k(key), json.dumps(value), px=px)

    def get_json(self, key: str) -> Any | None:
        raw = self.client.get(self._k(key))
        return None if raw is None else json.loads(str(raw))

    def _order_key(self, key: str) -> str:
        """The hash of `key`'s orders (`issued`, `stored`), beside the key.

        One write's keys go to one Lua script, so on a Redis Cluster they must share a slot:
        the order key keeps `key`'s hash tag (see `check_one_slot`).
        """
        return self._k(order_key(key))

    def next_order(self, key: str) -> int:
        return int(self._next_order(keys=[self._order_key(key)]))

    def put_json_if_newer(self, key: str, value: Any, *, order: int,
                          together: Mapping[str, Any] | None = None) -> bool:
        values = {key: value, **(together or {})}
        check_one_slot([order_key(key), *values])
        stored = self._put_if_newer(
            keys=[self._order_key(key), *(self._k(name) for name in values)],
            args=[str(int(order)), *(json.dumps(item) for item in values.values())],
        )
        return bool(int(stored))

    def incr(self, key: str, amount: int = 1, *, ttl_seconds: float | None = None) -> int:
        pipe = self.client.pipeline()
        pipe.incrby(self._k(key), amount)
        if ttl_seconds is not None:
            pipe.expire(self._k(key), max(1, int(ttl_seconds)), nx=True)
        return int(pipe.execute()[0])

    def set_if_absent(self, key: str, value: str, *, ttl_seconds: float) -> bool:
        return bool(
            self.client.set(self._k(key), value, nx=True, px=max(1, int(ttl_seconds * 1000)))
        )

    def delete(self, key: str) -> None:
        self.client.delete(self._k(key))

    def publish(self, channel: str, message: Any) -> None:
        self.client.publish(self._k(channel), json.dumps(message))

    def subscribe(self, channel: str, handler: Callable[[Any], None]) -> Callable[[], None]:
        pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(**{self._k(channel): lambda msg: handler(json.loads(msg["data"]))})
        thread = pubsub.run_in_thread(sleep_time=0.05, daemon=True)

        def unsubscribe() -> None:
            thread.stop()
            # Let the listener leave its read loop before the connection goes away.
            thread.join(timeout=2)
            pubsub.close()

        return unsubscribe

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()


def open_live_store(redis_url: str | None, *, prefix: str = "kanaal") -> LiveStore:
    """Redis when a URL is configured, otherwise this process's memory."""
    if redis_url:
        return RedisLiveStore(redis_url, prefix=prefix)
    return MemoryLiveStore()
