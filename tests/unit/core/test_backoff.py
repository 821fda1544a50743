"""chalicelib.core.backoff: full jitter below an exponential ceiling, capped."""

from __future__ import annotations

import random

from chalicelib.core.backoff import DEFAULT_CAP_SECONDS, full_jitter


def test_full_jitter_stays_below_its_ceiling_and_spreads() -> None:
    random.seed(7)
    for attempt, ceiling in ((0, 0.02), (3, 0.16), (20, DEFAULT_CAP_SECONDS)):
        picks = [full_jitter(attempt, 0.02) for _ in range(500)]
        assert all(0 <= pick <= ceiling for pick in picks)
        assert max(picks) > ceiling * 0.9 and min(picks) < ceiling * 0.1  # uniform, not the ceiling itself


def test_the_cap_can_be_lowered() -> None:
    assert all(full_jitter(10, 1.0, cap=0.5) <= 0.5 for _ in range(100))


def test_full_jitter_stays_under_the_exponential_ceiling() -> None:
    from chalicelib.core.backoff import full_jitter

    for attempt in range(8):
        ceiling = min(2.0, 0.05 * 2**attempt)
        assert all(0 <= full_jitter(attempt, 0.05) <= ceiling for _ in range(200))


def test_a_pace_sleeps_only_while_ahead_and_tells_what_it_spent() -> None:
    from chalicelib.core.backoff import Pace

    now, slept = [0.0], []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pace = Pace(100, clock=lambda: now[0], sleep=sleep)
    pace.spend(50)  # the first spend never waits
    pace.spend(30)  # 50 units at 100 a second: half a second ahead
    assert (slept, pace.spent) == ([0.5], 80)
