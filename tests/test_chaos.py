"""The chaos run, short: faults injected on every path, and still nothing lost, counts exact, no 5xx."""

from __future__ import annotations

import subprocess
import sys

from tests.e2e import ROOT


def test_a_short_chaos_run_loses_nothing() -> None:
    """``make chaos`` makes ≥ 10,000 deliveries; this is the same run at 400, on every test run."""
    arguments = ["--users", "20", "--sends", "20", "--receivers", "20", "--settle", "60"]
    result = subprocess.run(
        [sys.executable, "-m", "infra.chaos", *arguments], cwd=ROOT, capture_output=True, text=True, timeout=240
    )
    shown = result.stdout + result.stderr[-3000:]
    assert result.returncode == 0, shown
    figures = {line[:25].strip(): line[25:].strip() for line in result.stdout.splitlines() if line.startswith("  ")}
    assert (figures["deliveries expected"], figures["lost"], figures["counter mismatches"], figures["HTTP 5xx"]) == (
        "400",
        "0",
        "0",
        "0",
    ), shown
    assert all(kind in figures["faults injected"] for kind in ("gone=", "throttle=", "error=", "replay=")), shown
