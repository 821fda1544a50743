"""``make chaos``: thousands of deliveries through the local stack while it injects faults.

The stack runs with ``INAPP_FAULTS``: every fault kind on, each share kind at
more than 5 % of its calls (posts answered 410/429/500 or delayed, DynamoDB
calls throttled, half-processed batches, transaction conflicts, a hot-key
write limit, asynchronous invocations run twice, the stream poller
restarting from an older checkpoint so handled records run again). Clients
hold WebSockets, drop them now and then, reconnect with backoff and catch
up with ``?after=``, and mark some messages read (and at the end, half of
them mark everything read, a few messages a call, calling again while the
answer says ``more``); an admin subscribes some
of the users to the channel, then sends with Idempotency-Keys and retries
what answers 429: most sends to a list of receivers, some of them as
EventBridge events through the ``send`` Lambda invoked asynchronously
(`infra.checks.chaos_events`), some to ``"audience": "subscribers"``, which
the SQS-driven fan-out worker stores chunk by chunk (its DynamoDB calls are
throttled too, so failed steps come back from the queue) — and every other
one to a second channel with more subscribers than the run's
``INAPP_BROADCAST_THRESHOLD``: a broadcast, stored once, its frames posted
by the worker's ``frames`` steps. At the end every
client must hold every message sent to it and no other (lost = 0), every
audience send's log must be ``done`` with stored = recipients = the
subscribers, every event send logged once and ``done``, an audience send whose channel
is deleted as it runs ``cancelled`` with its recipients kept and ``stored``
exactly who holds it (`infra.checks.chaos_cancel`), messages snoozed and
woken by the scheduler stand-in, and others past their own ``expiresAt``,
listed and counted exactly (`infra.checks.chaos_snooze`), every user's
counters must equal a count of their items, and no HTTP answer may be a
5xx. Prints the figures and, per fault kind, the calls it could have hit,
its hits and their share; exits 1 when a figure is off, or when a kind
never hit or a share kind hit under ``--min-share`` (5 %) of its calls.

    python -m infra.checks.chaos                      # ≥ 10,000 deliveries (make chaos)
    python -m infra.checks.chaos --sends 30 --users 20 --event-sends 5 --min-share 0  # a short run (CI)
"""

from __future__ import annotations

import argparse
import functools
import math
import random
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from chalicelib.core.auth import issue_token
from infra.checks import chaos_cancel, chaos_events, chaos_snooze
from infra.checks.chaos_events import Events, expect_events
from infra.checks.chaos_report import Findings, fault_table, report
from infra.checks.chaos_traffic import (
    CHANNEL,
    FINISHED,
    SECRET,
    WIDE,
    Audience,
    Client,
    Sent,
    Tally,
    call,
    log_entry,
    send_all,
    subscribe,
)
from infra.checks.target import Target, local_stack
from infra.local.faults import FaultPlan, figures

DEFAULT_FAULTS = ",".join(
    (
        "gone=0.07,throttle=0.07,error=0.07,delay=0.07,delay_ms=100",  # API Gateway's answers to @connections posts
        "dynamodb=0.06,unprocessed=0.08,conflict=0.08,hotkey=10",  # DynamoDB's answers to the app's calls
        "duplicate=0.2",  # Lambda's queue for asynchronous invocations of `send`
        "replay=3,split=0.2",  # the stream's event source mapping, and its shards rolling over and splitting
    )
)
MIN_SHARE = 0.05  # each share kind must hit at least this share of the calls it could have hit


def converge(target: Target, tally: Tally, clients: dict[str, Client], sent: Sent, deadline: float) -> None:
    """Wait until every client holds what it must and every audience send has finished, or the deadline."""
    running = set(sent.audience)
    while time.monotonic() < deadline:
        running = {i for i in running if log_entry(target, tally, i).status not in FINISHED}
        if not running and not any(sent.expected[u] - clients[u].seen for u in clients):
            return
        time.sleep(0.5)


# With 6 % of DynamoDB requests throttled, the stream runs behind (botocore waits up to 1, 2, 4 s before
# its retries): the counts, which follow it, took up to 110 s to settle once every client held its messages.
COUNTS_SETTLE_SECONDS = 240.0


def counter_gap(target: Target, tally: Tally, client: Client, expected: set[str]) -> str | None:
    """None when the user's counts from the API equal what was sent to them, less what they read; else both."""
    _, counts = call(target, tally, "GET", "/me/unread-count", client.token)
    _, channels = call(target, tally, "GET", "/me/channels", client.token)
    total = sum(c["total"] for c in (channels or {}).get("items", []))
    unread = len(expected - client.read_ids)
    shown = None if counts is None else (counts["total"], counts["unseen"], total)
    if shown == (unread, unread, len(expected)):
        return None
    return f"{client.user}: total/unseen/channel totals {shown}, expected {(unread, unread, len(expected))}"


def find_lost(
    clients: dict[str, Client], expected: dict[str, set[str]], audience: list[str]
) -> tuple[int, int, int, int, list[str]]:
    """Messages a client does not hold (all, audience ones, those behind its last id seen), extra ones, a few examples."""
    missing = [(user, message_id) for user in clients for message_id in sorted(expected[user] - clients[user].seen)]
    return (
        len(missing),
        sum(message_id in audience for _, message_id in missing),
        sum(message_id < clients[user].last for user, message_id in missing),
        sum(len(clients[user].seen - expected[user]) for user in clients),
        [f"{user} lacks {message_id} (last seen {clients[user].last})" for user, message_id in missing[:3]],
    )


BULK_CALLS = 4  # calls a reader's mark-all needs, about: enough to page with ``more``, few enough for moto
BULK_READERS_AT_ONCE = 4  # 30 at once overflowed the local HTTP server's listen backlog: connections reset


def threshold(args: argparse.Namespace) -> int:
    """The run's INAPP_BROADCAST_THRESHOLD: the chaos and doomed channels' sends stay per subscriber."""
    return max(int(args.subscribers), int(args.doomed))


def wide_audience(target: Target, tally: Tally, users: list[str], args: argparse.Namespace) -> tuple[set[str], int] | None:
    """`WIDE`'s subscribers: ``--broadcast-extra`` more clients than ``--subscribers``, and as many quiet users as
    put it over the threshold (no client listens as them); the clients and the number in all."""
    if not args.broadcast_extra:
        return None
    clients, _ = subscribe(target, tally, users, args.subscribers + args.broadcast_extra, WIDE)
    admin = issue_token("admin", SECRET, admin=True)
    quiet = [f"quiet{n:04d}" for n in range(max(0, threshold(args) + 1 - len(clients)))]
    for start in range(0, len(quiet), 1000):
        call(target, tally, "POST", f"/channels/{WIDE}/subscribers", admin, {"add": quiet[start : start + 1000]})
    return clients, len(clients) + len(quiet)


def bulk_limit(args: argparse.Namespace) -> int:
    """Messages a bulk change takes per call in this run, so that each reader's mark-all needs several calls.

    Not fewer: each call queries a global secondary index, which moto answers
    by scanning and sorting the whole table (~11,000 items by then). At 7 a
    call the full run's 30 readers had not finished after 20 minutes.
    """
    per_user: float = (args.sends * args.receivers + args.audience_sends * args.subscribers) / args.users
    return max(1, math.ceil(per_user / BULK_CALLS))


def read_everything(target: Target, tally: Tally, readers: list[Client], expected: dict[str, set[str]]) -> None:
    """Each reader marks all read, calling again while the answer says ``more`` (as the page and the JS client do).

    A few readers run side by side: each one's changes are paced on its own partition key (``hotkey=``).
    Every send has stored its messages by now (the clients converged), so a finished mark-all read every
    message the reader was sent, held or not: one its client lacks is a lost frame, counted as lost, not
    also as a counter mismatch.
    """

    def read(client: Client) -> None:
        for _ in range(1000):
            status, answer = call(target, tally, "POST", "/me/messages/read", client.token, {})
            tally.count("bulk read calls")
            if status != 200 or not answer["more"]:
                break
        if status == 200 and not answer["more"]:
            client.read_ids |= expected[client.user]
        else:
            tally.count("bulk reads unfinished")

    with ThreadPoolExecutor(max_workers=BULK_READERS_AT_ONCE) as pool:
        list(pool.map(read, readers))


def run(args: argparse.Namespace) -> int:
    random.seed(args.seed)
    output: list[str] = []
    faults = f"{args.faults},seed={args.seed}" if args.faults else ""
    environment = {"INAPP_JWT_SECRET": SECRET, "INAPP_FAULTS": faults, "INAPP_FANOUT_CHUNK_SIZE": str(args.chunk_size),
                   "INAPP_BULK_LIMIT": str(bulk_limit(args)),
                   "INAPP_BROADCAST_THRESHOLD": str(threshold(args))}  # fmt: skip
    started = time.monotonic()
    with local_stack(environment, output) as target:
        tally = Tally()
        admin = issue_token("admin", SECRET, admin=True)
        for name in (CHANNEL, WIDE):
            call(target, tally, "POST", "/channels", admin, {"name": name, "title": "Chaos"})
        stop = threading.Event()
        users = [f"user{n:03d}" for n in range(args.users)]
        subscribers, listed = subscribe(target, tally, users, args.subscribers)
        wide = wide_audience(target, tally, users, args)
        clients = {user: Client(user, target, tally, stop, args.drop, args.read) for user in users}
        for client in clients.values():
            client.start()
        time.sleep(1.0)
        send_event = functools.partial(chaos_events.invoke, chaos_events.lambda_client(target), tally)
        doomed = chaos_cancel.start(target, tally, args.doomed)
        snoozes = chaos_snooze.start(target, tally, args.snoozers)
        sent = send_all(target, tally, users, subscribers, send_event, args, wide)
        deadline = time.monotonic() + args.settle
        expect_events(sent, chaos_events.await_events(target, tally, sent.events, args.settle))
        converge(target, tally, clients, sent, deadline)
        cancelled = chaos_cancel.finish(target, tally, *doomed, deadline)
        snoozed = chaos_snooze.finish(target, tally, snoozes, time.monotonic() + args.settle)
        stop.set()
        for client in clients.values():
            client.join(timeout=5)
        expected = sent.expected
        read_everything(target, tally, [clients[user] for user in random.sample(users, len(users) // 2)], expected)
        lost = find_lost(clients, expected, sent.audience)
        log = [log_entry(target, tally, send_id) for send_id in sent.audience]
        events = Events(sent.events, chaos_events.read_log(target, tally, set(sent.events)))  # duplicates stored late too
        # Counts follow the stream: the last reads reach them within the stream's delay (faults included).
        counting = time.monotonic()
        deadline = counting + COUNTS_SETTLE_SECONDS
        gaps = {user: "" for user in users}
        while gaps and time.monotonic() < deadline:
            gaps = {u: gap for u in gaps if (gap := counter_gap(target, tally, clients[u], expected[u])) is not None}
            if gaps:
                time.sleep(0.5)
        counted_in = time.monotonic() - counting
    if args.stack_log:
        Path(args.stack_log).write_text("".join(output))
    findings = Findings(*lost, sorted(gaps.values()), counted_in, cancelled, snoozed)
    audience = Audience(subscribers, listed, log, sent.recipients, sent.broadcasts)
    table = fault_table(FaultPlan.parse(args.faults), figures("".join(output)), args.min_share)
    return report(args, tally, expected, audience, events, findings, table, output, time.monotonic() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.checks.chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=60)
    parser.add_argument("--sends", type=int, default=200)
    parser.add_argument("--receivers", type=int, default=50, help="receivers per send")
    parser.add_argument("--event-sends", type=int, default=100, help="of the sends, those made as EventBridge events")
    parser.add_argument("--subscribers", type=int, default=40, help="users subscribed to the channel")
    parser.add_argument("--audience-sends", type=int, default=20, help="sends to the subscribers, besides --sends")
    parser.add_argument(
        "--broadcast-extra", type=int, default=10,
        help="a second channel's subscribers beyond --subscribers (the threshold): every other audience send is a broadcast",
    )  # fmt: skip
    parser.add_argument("--chunk-size", type=int, default=16, help="subscribers per fan-out step (INAPP_FANOUT_CHUNK_SIZE)")
    parser.add_argument("--faults", default=DEFAULT_FAULTS, help=f"INAPP_FAULTS for the stack (default {DEFAULT_FAULTS})")
    parser.add_argument("--doomed", type=int, default=200, help="subscribers of the channel deleted as its send runs")
    parser.add_argument("--snoozers", type=int, default=10, help="users whose messages are snoozed, woken and expire")
    parser.add_argument("--drop", type=float, default=0.01, help="share of frames after which a client drops its socket")
    parser.add_argument("--read", type=float, default=0.1, help="share of messages a client marks read")
    parser.add_argument("--settle", type=float, default=120, help="seconds to wait for every client to converge")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--stack-log", help="write everything the stack printed to this file (to read a failed run)")
    parser.add_argument(
        "--min-share", type=float, default=MIN_SHARE, help="the least share of its calls each share kind must hit (0: no check)"
    )
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
