"""Pacing posts to ``@connections``: a token bucket shared by the fan-out threads, AIMD on throttling.

API Gateway's throttle for ``@connections`` is account-wide (10,000 requests/s,
burst 5,000, shared with every API in the account and Region). Retrying a
429 alone keeps pushing at the rate that caused it; `Pacer` instead lowers
the rate itself, as TCP does with its window:

* **token bucket**: ``acquire()`` hands out one post at a time at ``rate``
  per second, with at most ``burst`` saved up; every worker thread of one
  function shares the bucket;
* **multiplicative decrease**: ``throttled()`` (a 429 came back) halves the
  rate, down to ``min_rate``, at most once per ``cooldown`` seconds — the
  429s of posts already in flight from one burst count once;
* **additive increase**: ``succeeded()`` raises the rate by
  ``recovery`` per second elapsed since the last change, back up to the
  configured ``max_rate``;
* **the account's budget**: with a `chalicelib.realtime.budget.AccountBudget`,
  each post also takes its share of what all containers together may post
  in the current second.

Example::

    pacer = Pacer(max_rate=1500)
    pacer.acquire()          # blocks until this post may go
    ...post...
    pacer.throttled() if status == 429 else pacer.succeeded()
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from chalicelib.realtime.budget import AccountBudget

DEFAULT_DECREASE = 0.5
DEFAULT_COOLDOWN_SECONDS = 0.25
BURST_SECONDS = 0.05  # the bucket holds this much time's worth of posts


class Pacer:
    """A thread-safe token bucket whose rate follows AIMD."""

    def __init__(
        self,
        max_rate: float,
        *,
        min_rate: float | None = None,
        recovery: float | None = None,
        decrease: float = DEFAULT_DECREASE,
        cooldown: float = DEFAULT_COOLDOWN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        budget: AccountBudget | None = None,
    ) -> None:
        if max_rate <= 0:
            raise ValueError(f"max_rate must be positive, got {max_rate}")
        self.max_rate = float(max_rate)
        self.min_rate = min_rate if min_rate is not None else max(1.0, self.max_rate / 100)
        self.recovery = recovery if recovery is not None else self.max_rate / 10  # halved → full in ~5 s
        self._decrease = decrease
        self._cooldown = cooldown
        self._clock = clock
        self._sleep = sleep
        self._budget = budget
        self._lock = threading.Lock()
        self.rate = self.max_rate
        now = clock()
        self._tokens = self._burst()
        self._filled_at = now
        self._changed_at = now
        self._throttled_at = now - cooldown

    def _burst(self) -> float:
        return max(1.0, self.rate * BURST_SECONDS)

    def _refill(self, now: float) -> None:
        self._tokens = min(self._burst(), self._tokens + (now - self._filled_at) * self.rate)
        self._filled_at = now

    def acquire(self) -> float:
        """Take one post's token, sleeping until it is due; returns the seconds slept."""
        with self._lock:
            self._refill(self._clock())
            self._tokens -= 1  # a debt when negative: later callers queue behind it
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        if self._budget is not None:
            wait += self._budget.take()
        return wait

    def throttled(self) -> None:
        """A post was throttled (429): cut the rate, once per cooldown."""
        with self._lock:
            now = self._clock()
            if now - self._throttled_at < self._cooldown:
                return
            self._refill(now)
            self.rate = max(self.min_rate, self.rate * self._decrease)
            self._tokens = min(self._tokens, self._burst())
            self._throttled_at = self._changed_at = now

    def succeeded(self) -> None:
        """A post went through: let the rate creep back towards ``max_rate``."""
        now = self._clock()
        if self.rate >= self.max_rate:  # the usual case: no lock taken per post
            self._changed_at = now
            return
        with self._lock:
            self._refill(now)
            self.rate = min(self.max_rate, self.rate + self.recovery * max(0.0, now - self._changed_at))
            self._changed_at = now
