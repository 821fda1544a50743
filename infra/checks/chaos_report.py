"""The chaos run's report: the figures, the fault kinds' calls, hits and shares, and the verdict."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from infra.checks import chaos_cancel, chaos_snooze
from infra.checks.chaos_events import Events
from infra.checks.chaos_traffic import Audience, Tally
from infra.local.faults import FaultPlan


@dataclass(frozen=True)
class Findings:
    """What the clients and the counts ended with: messages lost (and where), counter gaps."""

    lost: int
    lost_audience: int  # of them, audience messages
    lost_behind: int  # of them, older than the client's last id seen: out of reach of its ?after= catch-up
    unexpected: int  # messages a client holds that no accepted send put there (a send stored twice, say)
    examples: list[str]  # a few lost ones: user, id, the client's last id seen
    gaps: list[str]
    counted_in: float  # seconds the counts took to equal a recount, once every client held its messages
    cancelled: chaos_cancel.Cancelled  # the audience send whose channel was deleted as it ran
    snoozes: chaos_snooze.SnoozeResult  # messages snoozed and woken, and past their own expiry


def fault_table(plan: FaultPlan, counted: dict[str, tuple[int, int]] | None, min_share: float) -> tuple[list[str], list[str]]:
    """Per kind the plan injects: calls it could have hit, hits, share; and what falls short of the floor.

    Every kind must hit at least once; each share kind (drawn per call) at least ``min_share`` of its
    calls. ``min_share`` 0 checks nothing, for runs too short to show a share.
    """
    lines, short = [f"  {'faults':<23}{'calls':>8} {'hits':>7}  share"], []
    for kind in plan.kinds:
        calls, hits = (counted or {}).get(kind, (0, 0))
        share = hits / calls if calls else 0.0
        lines.append(f"    {kind:<21}{calls:>8} {hits:>7} {share:>6.1%}")
        if not min_share:
            continue
        if hits == 0:
            short.append(f"{kind}: never hit in {calls} calls")
        elif kind in plan.shares and share < min_share:
            short.append(f"{kind}: hit {hits} of {calls} calls ({share:.1%}), under {min_share:.0%}")
    return lines, short


def report(
    args: argparse.Namespace,
    tally: Tally,
    expected: dict[str, set[str]],
    audience: Audience,
    events: Events,
    findings: Findings,
    faults: tuple[list[str], list[str]],
    output: list[str],
    seconds: float,
) -> int:
    deliveries = sum(len(ids) for ids in expected.values()) + events.lost()
    lost = findings.lost + events.lost()
    server_errors = sum(count for status, count in tally.statuses.items() if status >= 500)
    failed_steps = "".join(output).count("fan-out step failed")
    print(
        f"chaos run: {args.users} users, {args.sends} sends × {args.receivers} receivers ({args.event_sends} of them"
        f" as asynchronous EventBridge invocations) + {args.audience_sends} audience sends (chunks of {args.chunk_size}),"
        f" {seconds:.0f} s"
    )
    print(f"  deliveries expected    {deliveries}")
    table, short = faults
    print("\n".join(table))
    print(f"  fan-out steps failed   {failed_steps}")
    print(f"  client events          {dict(sorted(tally.events.items()))}")
    print(f"  HTTP statuses          {dict(sorted(tally.statuses.items()))}")
    for refusal, count in sorted(tally.refusals.items()):
        print(f"    {count} × {refusal}")
    print(f"  subscribers            {len(audience.subscribers)} ({len(audience.listed)} listed)")
    print(f"  audience sends         {len(audience.log)} ({len(audience.broadcasts)} of them broadcasts)")
    print(f"  audience recipients    {sum(max(0, entry.recipients) for entry in audience.log)}")
    print(f"  audience done          {len(audience.log) - len(audience.incomplete)}")
    print(f"  audience not done      {len(audience.incomplete)}")
    for entry in audience.incomplete:
        print(f"    {entry.id}: {entry.status}, recipients {entry.recipients}, stored {entry.stored}")
    print(f"  cancelled send         {findings.cancelled.line()}")
    print(f"  snoozes and expiries   {findings.snoozes.line()}")
    for mismatch in findings.snoozes.mismatches[:3]:
        print(f"    {mismatch}")
    print(f"  event sends            {len(events.receivers)}")
    print(f"  event sends not stored {len(events.not_stored())}")
    print(f"  event sends stored 2×  {len(events.stored_twice())}")
    print(f"  event sends not done   {len(events.incomplete())}")
    for title in (events.not_stored() + events.stored_twice() + events.incomplete())[:3]:
        print(f"    {title}: {events.logged.get(title)}")
    print(f"  lost                   {lost}")
    if lost:
        print(
            f"    {findings.lost_audience} audience messages; {findings.lost_behind} older than the client's last id seen;"
            f" {events.lost()} of event sends never stored"
        )
        for example in findings.examples:
            print(f"    {example}")
    print(f"  unexpected messages    {findings.unexpected}")
    print(f"  counter mismatches     {len(findings.gaps)}")
    print(f"  counts settled after   {findings.counted_in:.0f} s (equal to a recount, once every client held its messages)")
    for gap in findings.gaps[:3]:
        print(f"    {gap}")
    print(f"  HTTP 5xx               {server_errors}")
    for shortfall in short:
        print(f"  fault kind short       {shortfall}")
    ok = (
        lost == 0
        and findings.unexpected == 0
        and not findings.gaps
        and server_errors == 0
        and deliveries >= args.sends
        and audience.listed == audience.subscribers
        and len(audience.log) == args.audience_sends
        and not audience.incomplete
        and findings.cancelled.exact
        and findings.snoozes.exact
        and not tally.events["bulk reads unfinished"]
        and len(events.receivers) == args.event_sends
        and not (events.stored_twice() or events.incomplete())
        and not short
    )
    print("chaos: OK" if ok else "chaos: FAILED")
    return 0 if ok else 1
