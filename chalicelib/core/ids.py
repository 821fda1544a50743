"""Message ids: 26-character, time-sortable, ULID-like.

48 bits of milliseconds then 80 random bits, in Crockford base32. Within one
process ids are strictly increasing even inside one millisecond (the random
part is incremented), so two sends in the same millisecond never tie and a
cursor on the id never skips one. Across Lambda containers ordering is as
good as their clocks; the random tail keeps ids unique.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ID_PATTERN = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
_RANDOM_BITS = 80
_RANDOM_MAX = (1 << _RANDOM_BITS) - 1


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


class IdGenerator:
    """Monotonic id source; thread-safe. `clock` returns milliseconds."""

    def __init__(self, clock: Callable[[], int] | None = None) -> None:
        self._clock: Callable[[], int] = clock or (lambda: time.time_ns() // 1_000_000)
        self._lock = threading.Lock()
        self._last_ms = -1
        self._last_random = 0

    def new_id(self) -> str:
        with self._lock:
            now = self._clock()
            if now > self._last_ms:
                self._last_ms = now
                self._last_random = secrets.randbits(_RANDOM_BITS - 1)  # room to increment
            elif self._last_random < _RANDOM_MAX:
                self._last_random += 1
            else:  # random part exhausted within one millisecond: borrow the next one
                self._last_ms += 1
                self._last_random = secrets.randbits(_RANDOM_BITS - 1)
            return _encode(self._last_ms, 10) + _encode(self._last_random, 16)


_generator = IdGenerator()


def new_id() -> str:
    """A fresh id from the process-wide generator."""
    return _generator.new_id()


def is_valid_id(value: str) -> bool:
    return bool(ID_PATTERN.fullmatch(value))


def id_time_ms(value: str) -> int:
    """Milliseconds encoded in the first ten characters of an id."""
    result = 0
    for char in value[:10]:
        result = result * 32 + ALPHABET.index(char)
    return result


def first_id_at_ms(ms: int) -> str:
    """The smallest id of millisecond ``ms``: a lower bound for ids minted since."""
    return _encode(max(ms, 0), 10) + "0" * 16


def first_id_at(iso_time: str) -> str:
    """The smallest id of the millisecond ``iso_time`` (``2026-11-25T14:00:00.000Z``): a lower bound for ids made since."""
    from datetime import datetime

    moment = datetime.strptime(iso_time, "%Y-%m-%dT%H:%M:%S.%f%z")
    return first_id_at_ms(int(moment.timestamp() * 1000))
