"""A token bucket per key, shared by every function container through one item in the connections table.

The bucket is kept as GCRA (the generic cell rate algorithm, the token
bucket's equivalent with one number): ``tat``, the *theoretical arrival
time*, is when the bucket will be full again. Each admitted request moves it
one interval (``1/rate``) on; a request is admitted while ``tat`` is at most
``(burst - 1)`` intervals ahead of now. A request at ``now`` is therefore
one of two conditional ``UpdateItem`` calls on ``rate#<key>``:

* the bucket is full (no item, or ``tat < now``): ``SET tat = now + interval``;
* it is not: ``ADD tat interval``, on condition that ``now <= tat <= now + (burst - 1) × interval``.

DynamoDB cannot take ``max(tat, now)`` in one expression, hence the two.
The container remembers each key's last ``tat`` (it never decreases, so what
it remembers is a floor of the stored one) and picks the right call first;
a wrong guess costs a second call, and the refused call's
``ReturnValuesOnConditionCheckFailure: ALL_OLD`` answer says which. A
request the remembered ``tat`` already refuses costs no call at all: a user
hammering one container pays a write per *admitted* request only.

A refused request waits at most one interval: refusals do not move ``tat``,
so it is at most one interval past the limit. ``Retry-After`` is that wait,
rounded up to whole seconds. When the table cannot be written (throttled or
failing after botocore's retries), the request is admitted and logged: a
busy table must not lock users out; API Gateway's stage throttle still holds.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import PynamoDBException
from pynamodb.expressions.operand import Path

from chalicelib import storage
from chalicelib.storage import Connection

logger = logging.getLogger(__name__)

KEY_PREFIX = "rate#"
MICROS = 1_000_000
KEPT_SECONDS = 60  # a key's item expires (TTL) this long after its bucket is full again
REMEMBERED_KEYS = 10_000  # keys a container remembers a tat for; beyond it, it starts over
ATTEMPTS = 3  # calls at most per request: a wrong guess, then a race with another container's call


@dataclass(frozen=True)
class RateLimit:
    """``rate`` a second with ``burst`` saved up; times in whole microseconds (DynamoDB numbers are exact)."""

    rate: int
    burst: int

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst <= 0:
            raise ValueError(f"rate and burst must be positive, got {self.rate} and {self.burst}")

    @property
    def interval(self) -> int:
        """Microseconds one request takes of the bucket (rounded up: never more than ``rate`` a second)."""
        return -(-MICROS // self.rate)

    @property
    def tolerance(self) -> int:
        """How far ``tat`` may run ahead of now and still admit a request."""
        return (self.burst - 1) * self.interval

    def wait(self, tat: int, now: int) -> int:
        """Whole seconds (at least 1) until a request is admitted, with the bucket at ``tat``."""
        return max(1, math.ceil((tat - now - self.tolerance) / MICROS))


class RateLimiter:
    """``admit(key)``: 0 when the request may go on, else the seconds to wait (``Retry-After``)."""

    def __init__(self, limit: RateLimit, *, clock: Callable[[], float] = time.time) -> None:
        self.limit = limit
        self.clock = clock  # wall-clock seconds, the same in every container (tests move it)
        self._known: dict[str, int] = {}  # key → a floor of its stored tat
        self._lock = threading.Lock()

    def admit(self, key: str) -> int:
        now = round(self.clock() * MICROS)
        known = self._known.get(key, 0)
        if known - now > self.limit.tolerance:
            return self.limit.wait(known, now)  # refused by what this container saw: no call
        full = known < now
        for _ in range(ATTEMPTS):
            try:
                admitted, item = self._take(key, now, full)
            except PynamoDBException as error:
                if not storage.is_busy(error):
                    raise
                logger.warning("request limit unreadable; admitted", extra={"code": error.cause_response_code})
                return 0
            tat = int(item["tat"]["N"]) if "tat" in item else None
            if tat is not None:
                self._remember(key, tat)
            if admitted:
                return 0
            if tat is not None and tat - now > self.limit.tolerance:
                return self.limit.wait(tat, now)
            full = tat is None or tat < now  # the guess was wrong: the item says which call fits
        return self.limit.wait(now + self.limit.tolerance + self.limit.interval, now)  # still racing: one interval

    def _take(self, key: str, now: int, full: bool) -> tuple[bool, dict[str, Any]]:
        """One conditional UpdateItem of the key's bucket: (admitted, its item after or as it stood)."""
        tat, interval = Path("tat"), self.limit.interval
        expires = Path("expiresAt").set((now + self.limit.tolerance + interval) // MICROS + KEPT_SECONDS)
        actions: list[Any] = [tat.set(now + interval) if full else tat.add(interval), expires]
        condition = (tat.does_not_exist() | (tat < now)) if full else tat.between(now, now + self.limit.tolerance)
        return storage.update_or_read(Connection, f"{KEY_PREFIX}{key}", actions, condition)

    def _remember(self, key: str, tat: int) -> None:
        with self._lock:
            if len(self._known) >= REMEMBERED_KEYS and key not in self._known:
                self._known.clear()
            self._known[key] = max(tat, self._known.get(key, 0))
