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


class RandomIds:
    """Ids that sort by creation time (millisecond prefix) with 80 random bits after it."""

    def __init__(self) -> None:
        self._stamp: tuple[int, str] = (-1, "")

    def new(self, prefix: str) -> str:
        """Return a new id such as `cus_0l9x3k2a1b7q4m8z0c2d`."""
        millis = time.time_ns() // 1_000_000
        stamp = self._stamp
        if stamp[0] != millis:  # ids made in the same millisecond share the time digits
            stamp = self._stamp = (millis, _base36(millis, 9))
        rand = int.from_bytes(os.urandom(10), "big")
        return f"{prefix}_{stamp[1]}{_base36(rand, 16)}"


class SequentialIds:
    """Predictable ids for tests: `cus_000001`, `cus_000002`, ..."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def new(self, prefix: str) -> str:
        """Return the next id for `prefix`."""
        with self._lock:
            return f"{prefix}_{next(self._counter):06d}"
