"""The thread both local event source mappings (stream and queue pollers) run in."""

from __future__ import annotations

import threading


class WakeableLoop:
    """A daemon thread running ``_run`` until ``stop()``; ``wake()`` cuts its current sleep short.

    Pollers sleep longer while idle and are woken by the app's own writes, so
    records flow at once without polling fast (moto keeps every iterator).
    """

    def __init__(self, name: str) -> None:
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def halt(self) -> None:
        """Tell the loop to stop after what it is doing (`stop` also waits for it)."""
        self._stop.set()
        self._wake.set()

    def stop(self) -> None:
        self.halt()
        self._thread.join(timeout=5)

    def wake(self) -> None:
        self._wake.set()

    def _sleep(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    def _run(self) -> None:
        raise NotImplementedError
