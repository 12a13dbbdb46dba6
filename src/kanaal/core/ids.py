"""Injectable id generators: time-ordered random ids in production, counters in tests."""

from __future__ import annotations

import itertools
import os
import threading
import time
from typing import Protocol

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


_PAIRS = [high + low for high in _ALPHABET for low in _ALPHABET]  # 36**2 two-digit strings


def _base36(number: int, width: int) -> str:
    """The low `width` base-36 digits of `number`, zero-padded (two digits per step)."""
    digits = []
    for _ in range(width // 2):
        number, rest = divmod(number, 1296)
        digits.append(_PAIRS[rest])
    if width % 2:
        digits.append(_ALPHABET[number % 36])
    return "".join(reversed(digits))


class IdGenerator(Protocol):
    """Makes new ids of the form `<prefix>_<body>`."""

    def new(self, prefix: str) -> str: ...


_RANDOM_BITS = 80
_RANDOM_LIMIT = 1 << _RANDOM_BITS
# A later id of the same millisecond adds 1 to 2**32 to the previous one's random part: still
# unguessable, and strictly after it, so ids made in one process sort in the order they were
# made (events with equal timestamps then keep the order they arrived in).
_STEP_BITS = 32


class RandomIds:
    """Ids that sort by creation time: a millisecond prefix, then 80 bits that start random in
    each millisecond and grow by a random step within it."""

    def __init__(self) -> None:
        self._last: tuple[int, int] = (-1, 0)  # (millisecond, random part) of the newest id
        self._digits: tuple[int, str] = (-1, "")
        self._lock = threading.Lock()

    def new(self, prefix: str) -> str:
        """Return a new id such as `cus_0l9x3k2a1b7q4m8z0c2d`."""
        noise = int.from_bytes(os.urandom(10), "big")
        millis = time.time_ns() // 1_000_000
        with self._lock:
            last_millis, last_rand = self._last
            if millis <= last_millis:  # same millisecond (or the clock stepped back)
                millis, rand = last_millis, last_rand + 1 + (noise >> (_RANDOM_BITS - _STEP_BITS))
                if rand >= _RANDOM_LIMIT:  # used up: borrow the next millisecond
                    millis, rand = millis + 1, noise >> 1
            else:
                rand = noise >> 1  # half the range left for the steps of this millisecond
            self._last = (millis, rand)
            digits = self._digits
            if digits[0] != millis:  # ids made in the same millisecond share the time digits
                digits = self._digits = (millis, _base36(millis, 9))
        return f"{prefix}_{digits[1]}{_base36(rand, 16)}"


class SequentialIds:
    """Predictable ids for tests: `cus_000001`, `cus_000002`, ..."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def new(self, prefix: str) -> str:
        """Return the next id for `prefix`."""
        with self._lock:
            return f"{prefix}_{next(self._counter):06d}"
