"""The shared token bucket and its AIMD rate, on an injected clock."""

from __future__ import annotations

import pytest

from chalicelib.realtime.pacing import Pacer


class FakeTime:
    """A clock that only moves when something sleeps (or the test says so)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _pacer(time: FakeTime, rate: float = 100, **kwargs: float) -> Pacer:
    return Pacer(rate, clock=time.clock, sleep=time.sleep, **kwargs)


def test_posts_go_out_at_the_configured_rate_after_a_small_burst() -> None:
    time = FakeTime()
    pacer = _pacer(time, rate=100)  # burst: 5 posts (50 ms worth)
    started = time.now
    for _ in range(205):
        pacer.acquire()
    assert time.now - started == pytest.approx(2.0, abs=0.011)  # 200 posts beyond the burst at 100/s


def test_a_saved_up_bucket_never_holds_more_than_the_burst() -> None:
    time = FakeTime()
    pacer = _pacer(time, rate=100)
    time.now += 60  # idle for a minute
    waits = [pacer.acquire() for _ in range(6)]
    assert waits[:5] == [0.0] * 5 and waits[5] == pytest.approx(0.01)


def test_a_429_halves_the_rate_once_per_cooldown() -> None:
    time = FakeTime()
    pacer = _pacer(time, rate=1000, cooldown=0.25)
    pacer.throttled()
    pacer.throttled()  # the same burst's other in-flight posts
    assert pacer.rate == 500
    time.now += 0.3
    pacer.throttled()
    assert pacer.rate == 250


def test_the_rate_never_drops_below_its_floor() -> None:
    time = FakeTime()
    pacer = _pacer(time, rate=1000, min_rate=100, cooldown=0)
    for _ in range(20):
        pacer.throttled()
    assert pacer.rate == 100


def test_successes_raise_the_rate_additively_back_to_the_maximum() -> None:
    time = FakeTime()
    pacer = _pacer(time, rate=1000, recovery=100)
    pacer.throttled()
    assert pacer.rate == 500
    time.now += 1
    pacer.succeeded()
    assert pacer.rate == pytest.approx(600)
    time.now += 2
    pacer.succeeded()
    assert pacer.rate == pytest.approx(800)
    time.now += 10
    pacer.succeeded()
    assert pacer.rate == 1000


def test_a_slowed_bucket_paces_at_the_lower_rate() -> None:
    time = FakeTime()
    pacer = _pacer(time, rate=1000)
    pacer.throttled()
    for _ in range(25):  # drain the (smaller) burst
        pacer.acquire()
    started = time.now
    for _ in range(500):
        pacer.acquire()
    assert time.now - started == pytest.approx(1.0, rel=0.01)


def test_a_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_rate must be positive, got 0"):
        Pacer(0)
