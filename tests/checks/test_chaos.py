"""The chaos run, short: faults injected on every path, and still nothing lost, counts exact, no 5xx.

Audience sends included: each one's log reaches ``done`` with every subscriber stored once; sends made
as EventBridge events through the ``send`` Lambda, invoked asynchronously: each stored once per receiver;
and messages snoozed (woken by the scheduler stand-in) or past their own expiry, listed and counted exactly.
"""

from __future__ import annotations

import ast
import subprocess
import sys

from infra.checks.chaos import DEFAULT_FAULTS
from infra.checks.chaos_report import fault_table
from infra.local.faults import FaultPlan
from tests.e2e import ROOT


def test_a_short_chaos_run_loses_nothing() -> None:
    """``make chaos`` makes ≥ 10,000 deliveries; this is the same run at 485 (85 of them audience: two of the five
    audience sends are broadcasts, to the 20 users of a channel with 61 subscribers), on every test run.

    Too short for the 5 % floor (``--min-share 0``): a kind drawn a few dozen times may miss it by chance;
    and for the default shard rollover, so its shards roll over every 100 records.
    """
    arguments = ["--users", "20", "--sends", "20", "--receivers", "20", "--settle", "60", "--event-sends", "5"]
    arguments += ["--subscribers", "15", "--audience-sends", "5", "--chunk-size", "8", "--min-share", "0"]
    arguments += ["--faults", f"{DEFAULT_FAULTS},rollover=100", "--doomed", "60"]  # shards roll over (and split) here
    arguments += ["--snoozers", "4"]
    result = subprocess.run(
        [sys.executable, "-m", "infra.checks.chaos", *arguments], cwd=ROOT, capture_output=True, text=True, timeout=360
    )
    shown = result.stdout + result.stderr[-3000:]
    assert result.returncode == 0, shown
    figures = {line[:25].strip(): line[25:].strip() for line in result.stdout.splitlines() if line.startswith("  ")}
    assert (figures["deliveries expected"], figures["lost"], figures["counter mismatches"], figures["HTTP 5xx"]) == (
        "485",
        "0",
        "0",
        "0",
    ), shown
    audience = ("subscribers", "audience sends", "audience recipients", "audience done", "audience not done")
    assert tuple(figures[name] for name in audience) == ("15 (15 listed)", "5 (2 of them broadcasts)", "167", "5", "0"), shown
    events = ("event sends", "event sends not stored", "event sends stored 2×", "event sends not done")
    assert tuple(figures[name] for name in events) == ("5", "0", "0", "0"), shown
    assert figures["unexpected messages"] == "0", shown
    bulk = ast.literal_eval(figures["client events"])
    assert bulk["bulk read calls"] > 10 and "bulk reads unfinished" not in bulk, shown  # 10 readers, several calls each
    started = ("cancelled, recipients 60 of 60", "done, recipients 60 of 60")
    unstarted = "cancelled, recipients 0 of 60 subscribers, stored 0, held by 0"  # the delete beat the first step
    assert figures["cancelled send"].startswith(started) or figures["cancelled send"] == unstarted, shown
    # 4 users, 6 messages each: 2 expire, 2 are snoozed and woken by the scheduler stand-in, all under the faults.
    assert figures["snoozes and expiries"] == "8 snoozed and woken, 8 expired, 0 users off", shown
    calls = {kind: int(figures[kind].split()[0]) for kind in FaultPlan.parse(DEFAULT_FAULTS).kinds}
    assert all(calls.values()), shown  # every kind was drawn: each path meets its faults


def test_every_kind_must_hit_and_each_share_kind_five_percent_of_its_calls() -> None:
    plan = FaultPlan.parse("gone=0.06,duplicate=0.2,conflict=0.08,hotkey=20,replay=3")
    counted = {"gone": (1000, 49), "duplicate": (100, 20), "conflict": (500, 0), "hotkey": (900, 1)}
    lines, short = fault_table(plan, counted, 0.05)
    assert short == [
        "gone: hit 49 of 1000 calls (4.9%), under 5%",
        "conflict: never hit in 500 calls",
        "replay: never hit in 0 calls",
    ]
    assert len(lines) == 1 + len(plan.kinds)
    assert lines[1] == "    gone                     1000      49   4.9%"


def test_a_floor_of_zero_checks_nothing() -> None:
    assert fault_table(FaultPlan.parse("gone=0.06,replay=3"), None, 0.0)[1] == []
