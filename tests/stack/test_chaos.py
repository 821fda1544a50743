"""The chaos run, short: faults injected on every path, and still nothing lost, counts exact, no 5xx.

Audience sends included: each one's log reaches ``done`` with every subscriber stored once; and sends made
as EventBridge events through the ``send`` Lambda, invoked asynchronously: each stored once per receiver.
"""

from __future__ import annotations

import subprocess
import sys

from tests.e2e import ROOT


def test_a_short_chaos_run_loses_nothing() -> None:
    """``make chaos`` makes ≥ 10,000 deliveries; this is the same run at 475 (75 of them audience), on every test run."""
    arguments = ["--users", "20", "--sends", "20", "--receivers", "20", "--settle", "60", "--event-sends", "5"]
    arguments += ["--subscribers", "15", "--audience-sends", "5", "--chunk-size", "8"]
    result = subprocess.run(
        [sys.executable, "-m", "infra.checks.chaos", *arguments], cwd=ROOT, capture_output=True, text=True, timeout=240
    )
    shown = result.stdout + result.stderr[-3000:]
    assert result.returncode == 0, shown
    figures = {line[:25].strip(): line[25:].strip() for line in result.stdout.splitlines() if line.startswith("  ")}
    assert (figures["deliveries expected"], figures["lost"], figures["counter mismatches"], figures["HTTP 5xx"]) == (
        "475",
        "0",
        "0",
        "0",
    ), shown
    audience = ("subscribers", "audience sends", "audience recipients", "audience done", "audience not done")
    assert tuple(figures[name] for name in audience) == ("15 (15 listed)", "5", "75", "5", "0"), shown
    events = ("event sends", "event sends not stored", "event sends stored 2×", "event sends not done")
    assert tuple(figures[name] for name in events) == ("5", "0", "0", "0"), shown
    assert figures["unexpected messages"] == "0", shown
    assert all(f"'{kind}'" in figures["faults injected"] for kind in ("gone", "throttle", "error", "replay")), shown
