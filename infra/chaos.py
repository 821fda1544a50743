"""``make chaos``: thousands of deliveries through the local stack while it injects faults.

The stack runs with ``INAPP_FAULTS`` (posts answered 410/429/500 or delayed,
DynamoDB calls throttled, the stream poller restarting from an older
checkpoint so handled records run again). Clients hold WebSockets, drop them
now and then, reconnect with backoff and catch up with ``?after=``, and mark
some messages read; an admin subscribes some of the users to the channel,
then sends with Idempotency-Keys and retries what answers 429: most sends
to a list of receivers, some to ``"audience": "subscribers"``, which the
SQS-driven fan-out worker stores chunk by chunk (its DynamoDB calls are
throttled too, so failed steps come back from the queue). At the end every
client must hold every message sent to it, audience sends included
(lost = 0), every audience send's log must be ``done`` with stored =
recipients = the subscribers, every user's counters must equal a count of
their items, and no HTTP answer may be a 5xx. Prints the figures; exits 1
when one is off.

    python -m infra.chaos                      # ≥ 10,000 deliveries (make chaos)
    python -m infra.chaos --sends 30 --users 20  # a short run (CI)
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import connect

from chalicelib.core.auth import issue_token
from infra.smoke import Target, json_call, local_stack

SECRET = "chaos-secret-0123456789abcdef-0123456789"
CHANNEL = "chaos"
DEFAULT_FAULTS = "gone=0.02,throttle=0.03,error=0.01,delay=0.02,delay_ms=100,dynamodb=0.02,replay=3"
LOWEST_ID = "0" * 26
AUDIENCE = "audience"
FINISHED = ("done", "failed")  # a send log's last states: ``failed`` once a chunk has used up its receives


@dataclass
class Tally:
    """Shared counts of what the run saw (updated from many threads)."""

    statuses: Counter[int] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)  # "400 PATCH …: message" — to explain any 4xx
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, kind: str, status: int | None = None) -> None:
        with self.lock:
            if status is not None:
                self.statuses[status] += 1
            else:
                self.events[kind] += 1


def call(
    target: Target, tally: Tally, method: str, path: str, token: str, body: Any = None, key: str | None = None
) -> tuple[int, Any]:
    """One HTTP call, retried with backoff while it answers 429 (the documented advice)."""
    for attempt in range(40):
        status, answer = json_call(target.http_url + path, method, token, body, {"Idempotency-Key": key} if key else None)
        tally.count("http", status)
        if 400 <= status < 500 and status != 429:
            with tally.lock:
                tally.refusals[f"{status} {method} {path.split('?')[0][:24]}: {(answer or {}).get('Message', '')[:80]}"] += 1
        if status != 429 and not (status == 409 and "still running" in str(answer)):
            return status, answer
        time.sleep(min(2.0, 0.05 * 2**attempt) * random.random())  # 429, or the key's first request still running
    return status, None


class Client(threading.Thread):
    """One user's browser tab: frames, drops, reconnects with catch-up, reads."""

    def __init__(self, user: str, target: Target, tally: Tally, stop: threading.Event, drop: float, read: float) -> None:
        super().__init__(name=f"client-{user}", daemon=True)
        self.user, self.target, self.tally, self.stop, self.drop, self.read = user, target, tally, stop, drop, read
        self.token = issue_token(user, SECRET)
        self.seen: set[str] = set()
        self.read_ids: set[str] = set()
        self.last = LOWEST_ID

    def run(self) -> None:
        attempt = 0
        while not self.stop.is_set():
            try:
                with connect(f"{self.target.ws_url}?token={self.token}", open_timeout=10) as socket:
                    attempt = 0
                    self.catch_up()
                    self.listen(socket)
            except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError):
                attempt += 1
            self.tally.count("reconnects")
            self.stop.wait(min(1.0, 0.05 * 2**attempt) * random.random())

    def listen(self, socket: Any) -> None:
        while not self.stop.is_set():
            try:
                frame = json.loads(socket.recv(timeout=0.5))
            except TimeoutError:
                continue
            if frame.get("type") == "message.created":
                self.tally.count("frames")
                self.take(frame["message"]["id"])
            if random.random() < self.drop:
                self.tally.count("client drops")
                return  # closing the socket: the next connect catches up

    def take(self, message_id: str) -> None:
        if message_id in self.seen:
            self.tally.count("duplicate frames")
            return
        self.seen.add(message_id)
        self.last = max(self.last, message_id)
        if random.random() < self.read:
            status, _ = call(self.target, self.tally, "PATCH", f"/me/messages/{message_id}", self.token, {"status": "read"})
            if status == 200:
                self.read_ids.add(message_id)

    def catch_up(self) -> None:
        after, cursor = self.last, None  # a cursor belongs to its query: keep `after` for every page
        while True:
            query = f"after={after}&limit=100" + (f"&cursor={cursor}" if cursor else "")
            status, page = call(self.target, self.tally, "GET", f"/me/messages?{query}", self.token)
            if status != 200:
                return
            for message in page["items"]:
                self.tally.count("caught up")
                self.take(message["id"])
            cursor = page["nextCursor"]
            if not cursor:
                return


@dataclass
class Sent:
    """What the admin's accepted sends must leave behind."""

    expected: dict[str, set[str]]  # user → the ids they must end up holding
    audience: list[str] = field(default_factory=list)  # the audience sends' ids


@dataclass(frozen=True)
class LogEntry:
    """An audience send's progress as ``GET /messages/{id}`` shows it."""

    id: str
    status: str
    recipients: int
    stored: int

    def complete(self, subscribers: int) -> bool:
        """``done``, with every subscriber counted and stored once."""
        return self.status == "done" and self.stored == self.recipients == subscribers


@dataclass(frozen=True)
class Audience:
    """The audience half of the run: who was subscribed (and listed), and each audience send's final log entry."""

    subscribers: set[str]
    listed: set[str]
    log: list[LogEntry]

    @property
    def incomplete(self) -> list[LogEntry]:
        return [entry for entry in self.log if not entry.complete(len(self.subscribers))]


def subscribe(target: Target, tally: Tally, users: list[str], count: int) -> tuple[set[str], set[str]]:
    """Subscribe ``count`` of the users to the channel (429s retried: the change is idempotent); chosen and listed."""
    admin = issue_token("admin", SECRET, admin=True)
    chosen = set(random.sample(users, min(count, len(users))))
    call(target, tally, "POST", f"/channels/{CHANNEL}/subscribers", admin, {"add": sorted(chosen)})
    listed: set[str] = set()
    cursor = None
    while True:
        query = "limit=100" + (f"&cursor={cursor}" if cursor else "")
        status, page = call(target, tally, "GET", f"/channels/{CHANNEL}/subscribers?{query}", admin)
        if status != 200:
            return chosen, listed
        listed.update(item["userId"] for item in page["items"])
        cursor = page["nextCursor"]
        if not cursor:
            return chosen, listed


def send_all(target: Target, tally: Tally, users: list[str], subscribers: set[str], args: argparse.Namespace) -> Sent:
    """Every send answered 202 (429s retried with the same key); receivers and audience sends shuffled together."""
    admin = issue_token("admin", SECRET, admin=True)
    sent = Sent({user: set() for user in users})
    kinds = ["receivers"] * args.sends + [AUDIENCE] * args.audience_sends
    random.shuffle(kinds)
    for number, kind in enumerate(kinds):
        body: dict[str, Any] = {"channel": CHANNEL, "title": f"chaos {number}"}
        if kind == AUDIENCE:
            chosen, body["audience"] = sorted(subscribers), "subscribers"
        else:
            chosen = random.sample(users, min(args.receivers, len(users)))
            body["receivers"] = chosen
        status, answer = call(target, tally, "POST", "/messages", admin, body, key=f"chaos-{number}")
        if status == 202:
            for user in chosen:
                sent.expected[user].add(answer["id"])
            if kind == AUDIENCE:
                sent.audience.append(answer["id"])
        else:
            tally.count("sends not accepted")
    return sent


def log_entry(target: Target, tally: Tally, send_id: str) -> LogEntry:
    """The send log's item for one send (``?`` when it cannot be read)."""
    status, entry = call(target, tally, "GET", f"/messages/{send_id}", issue_token("admin", SECRET, admin=True))
    if status != 200:
        return LogEntry(send_id, f"? ({status})", -1, -1)
    return LogEntry(send_id, entry["status"], int(entry["recipients"]), int(entry["stored"]))


def converge(target: Target, tally: Tally, clients: dict[str, Client], sent: Sent, settle: float) -> None:
    """Wait until every client holds what it must and every audience send has finished, or ``settle`` seconds."""
    deadline = time.monotonic() + settle
    running = set(sent.audience)
    while time.monotonic() < deadline:
        running = {i for i in running if log_entry(target, tally, i).status not in FINISHED}
        if not running and not any(sent.expected[u] - clients[u].seen for u in clients):
            return
        time.sleep(0.5)


COUNTS_SETTLE_SECONDS = 30.0


def counter_gap(target: Target, tally: Tally, client: Client, expected: set[str]) -> str | None:
    """None when the user's counts from the API equal a count of their items (all sent, minus those read); else both."""
    _, counts = call(target, tally, "GET", "/me/unread-count", client.token)
    _, channels = call(target, tally, "GET", "/me/channels", client.token)
    total = sum(c["total"] for c in (channels or {}).get("items", []))
    unread = len(expected - client.read_ids)
    shown = None if counts is None else (counts["total"], counts["unseen"], total)
    if shown == (unread, unread, len(expected)):
        return None
    return f"{client.user}: total/unseen/channel totals {shown}, recount {(unread, unread, len(expected))}"


@dataclass(frozen=True)
class Findings:
    """What the clients and the counts ended with: messages lost (and where), counter gaps."""

    lost: int
    lost_audience: int  # of them, audience messages
    lost_behind: int  # of them, older than the client's last id seen: out of reach of its ?after= catch-up
    gaps: list[str]


def find_lost(clients: dict[str, Client], expected: dict[str, set[str]], audience: list[str]) -> tuple[int, int, int]:
    """Messages a client does not hold: all of them, the audience ones, and those behind its last id seen."""
    missing = [(user, message_id) for user in clients for message_id in expected[user] - clients[user].seen]
    return (
        len(missing),
        sum(message_id in audience for _, message_id in missing),
        sum(message_id < clients[user].last for user, message_id in missing),
    )


def run(args: argparse.Namespace) -> int:
    random.seed(args.seed)
    output: list[str] = []
    faults = f"{args.faults},seed={args.seed}" if args.faults else ""
    environment = {"INAPP_JWT_SECRET": SECRET, "INAPP_FAULTS": faults, "INAPP_FANOUT_CHUNK_SIZE": str(args.chunk_size)}
    started = time.monotonic()
    with local_stack(environment, output) as target:
        tally = Tally()
        call(target, tally, "POST", "/channels", issue_token("admin", SECRET, admin=True), {"name": CHANNEL, "title": "Chaos"})
        stop = threading.Event()
        users = [f"user{n:03d}" for n in range(args.users)]
        subscribers, listed = subscribe(target, tally, users, args.subscribers)
        clients = {user: Client(user, target, tally, stop, args.drop, args.read) for user in users}
        for client in clients.values():
            client.start()
        time.sleep(1.0)
        sent = send_all(target, tally, users, subscribers, args)
        converge(target, tally, clients, sent, args.settle)
        stop.set()
        for client in clients.values():
            client.join(timeout=5)
        expected = sent.expected
        lost = find_lost(clients, expected, sent.audience)
        log = [log_entry(target, tally, send_id) for send_id in sent.audience]
        # Counts follow the stream: the last reads reach them within the stream's delay (faults included).
        deadline = time.monotonic() + COUNTS_SETTLE_SECONDS
        gaps = {user: "" for user in users}
        while gaps and time.monotonic() < deadline:
            gaps = {u: gap for u in gaps if (gap := counter_gap(target, tally, clients[u], expected[u])) is not None}
            if gaps:
                time.sleep(0.5)
    findings = Findings(*lost, sorted(gaps.values()))
    audience = Audience(subscribers, listed, log)
    return report(args, tally, expected, audience, findings, output, time.monotonic() - started)


def report(
    args: argparse.Namespace,
    tally: Tally,
    expected: dict[str, set[str]],
    audience: Audience,
    findings: Findings,
    output: list[str],
    seconds: float,
) -> int:
    deliveries = sum(len(ids) for ids in expected.values())
    server_errors = sum(count for status, count in tally.statuses.items() if status >= 500)
    injected = next(
        (line.split("faults injected: ", 1)[1] for line in "".join(output).splitlines() if "faults injected:" in line), "?"
    )
    failed_steps = "".join(output).count("fan-out step failed")
    print(
        f"chaos run: {args.users} users, {args.sends} sends × {args.receivers} receivers"
        f" + {args.audience_sends} audience sends (chunks of {args.chunk_size}), {seconds:.0f} s"
    )
    print(f"  deliveries expected    {deliveries}")
    print(f"  faults injected        {injected}")
    print(f"  fan-out steps failed   {failed_steps}")
    print(f"  client events          {dict(sorted(tally.events.items()))}")
    print(f"  HTTP statuses          {dict(sorted(tally.statuses.items()))}")
    for refusal, count in sorted(tally.refusals.items()):
        print(f"    {count} × {refusal}")
    print(f"  subscribers            {len(audience.subscribers)} ({len(audience.listed)} listed)")
    print(f"  audience sends         {len(audience.log)}")
    print(f"  audience recipients    {sum(max(0, entry.recipients) for entry in audience.log)}")
    print(f"  audience done          {len(audience.log) - len(audience.incomplete)}")
    print(f"  audience not done      {len(audience.incomplete)}")
    for entry in audience.incomplete:
        print(f"    {entry.id}: {entry.status}, recipients {entry.recipients}, stored {entry.stored}")
    print(f"  lost                   {findings.lost}")
    if findings.lost:
        print(f"    {findings.lost_audience} audience messages; {findings.lost_behind} older than the client's last id seen")
    print(f"  counter mismatches     {len(findings.gaps)}")
    for gap in findings.gaps[:3]:
        print(f"    {gap}")
    print(f"  HTTP 5xx               {server_errors}")
    ok = (
        findings.lost == 0
        and not findings.gaps
        and server_errors == 0
        and deliveries >= args.sends
        and audience.listed == audience.subscribers
        and len(audience.log) == args.audience_sends
        and not audience.incomplete
    )
    print("chaos: OK" if ok else "chaos: FAILED")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=60)
    parser.add_argument("--sends", type=int, default=200)
    parser.add_argument("--receivers", type=int, default=50, help="receivers per send")
    parser.add_argument("--subscribers", type=int, default=40, help="users subscribed to the channel")
    parser.add_argument("--audience-sends", type=int, default=20, help="sends to the subscribers, besides --sends")
    parser.add_argument("--chunk-size", type=int, default=16, help="subscribers per fan-out step (INAPP_FANOUT_CHUNK_SIZE)")
    parser.add_argument("--faults", default=DEFAULT_FAULTS, help=f"INAPP_FAULTS for the stack (default {DEFAULT_FAULTS})")
    parser.add_argument("--drop", type=float, default=0.01, help="share of frames after which a client drops its socket")
    parser.add_argument("--read", type=float, default=0.1, help="share of messages a client marks read")
    parser.add_argument("--settle", type=float, default=120, help="seconds to wait for every client to converge")
    parser.add_argument("--seed", type=int, default=7)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
