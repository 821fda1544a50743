"""Backing off before a retry: AWS's "full jitter", used by storage and the socket poster."""

from __future__ import annotations

import random
import time

DEFAULT_CAP_SECONDS = 2.0


def full_jitter(attempt: int, base: float, cap: float = DEFAULT_CAP_SECONDS) -> float:
    """A uniform pick below the exponential ceiling ``min(cap, base * 2**attempt)``.

    Spreading retries uniformly (instead of sleeping the ceiling itself) keeps
    many clients that failed together from retrying together.
    """
    return random.uniform(0, min(cap, base * 2**attempt))


def pause(attempt: int, base: float) -> None:
    time.sleep(full_jitter(attempt, base))
