"""Backing off before a retry (AWS's "full jitter"), and pacing a run of writes below a rate."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

DEFAULT_CAP_SECONDS = 2.0


def full_jitter(attempt: int, base: float, cap: float = DEFAULT_CAP_SECONDS) -> float:
    """A uniform pick below the exponential ceiling ``min(cap, base * 2**attempt)``.

    Spreading retries uniformly (instead of sleeping the ceiling itself) keeps
    many clients that failed together from retrying together.
    """
    return random.uniform(0, min(cap, base * 2**attempt))


def pause(attempt: int, base: float) -> None:
    time.sleep(full_jitter(attempt, base))


class Pace:
    """A run that spends at most ``per_second`` units a second: ``spend(n)`` sleeps while the run is ahead.

    For writes to one partition key (a user's bulk change): DynamoDB gives
    a partition 1,000 write units a second and throttles the rest, so a run
    paced below it never meets the throttle, and leaves room for the sends
    and counts updates arriving for the same user meanwhile.
    """

    def __init__(
        self, per_second: float, *, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._per_second = per_second
        self._clock = clock
        self._sleep = sleep
        self._started = clock()
        self._spent = 0.0

    @property
    def spent(self) -> float:
        """The units spent so far (a run can stop before it spends more than it may)."""
        return self._spent

    def spend(self, units: float) -> None:
        wait = self._started + self._spent / self._per_second - self._clock()
        if wait > 0:
            self._sleep(wait)
        self._spent += units
