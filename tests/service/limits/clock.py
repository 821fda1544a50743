"""The limits' tests' wall clock: seconds that move only when the test says so."""

from __future__ import annotations

START = 1_800_000_000.0


class Clock:
    """Wall-clock seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now
