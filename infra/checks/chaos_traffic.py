"""The chaos run's traffic: WebSocket clients that drop and catch up, subscriptions, and sends retried on 429.

`infra.checks.chaos` runs it against a stack that injects faults, then
checks what the clients hold against what was sent.
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import connect

from chalicelib.core.auth import issue_token
from infra.checks.target import Target, json_call

SECRET = "chaos-secret-0123456789abcdef-0123456789"


CHANNEL = "chaos"
WIDE = "chaos-wide"  # more subscribers than the run's broadcast threshold: its audience sends are broadcasts


LOWEST_ID = "0" * 26


AUDIENCE = "audience"


EVENT = "event"


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


def received_frames(socket: Any, stop: threading.Event) -> Iterator[dict[str, Any]]:
    """The socket's frames, decoded, until ``stop`` (checked every half second while it is quiet)."""
    while not stop.is_set():
        try:
            yield json.loads(socket.recv(timeout=0.5))
        except TimeoutError:
            continue


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
        for frame in received_frames(socket, self.stop):
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
    recipients: dict[str, int] = field(default_factory=dict)  # each audience send's subscribers then
    broadcasts: list[str] = field(default_factory=list)  # the audience sends to the broadcasts' channel
    events: dict[str, list[str]] = field(default_factory=dict)  # title → receivers of the sends made as events

    def add(self, message_id: str, users: list[str]) -> None:
        for user in users:
            self.expected[user].add(message_id)


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
    """The audience half of the run: who was subscribed (and listed), and each audience send's final log entry
    with its subscribers then (the broadcasts' channel has more)."""

    subscribers: set[str]
    listed: set[str]
    log: list[LogEntry]
    recipients: dict[str, int] = field(default_factory=dict)
    broadcasts: list[str] = field(default_factory=list)  # those sent to the broadcasts' channel

    @property
    def incomplete(self) -> list[LogEntry]:
        return [e for e in self.log if not e.complete(self.recipients.get(e.id, len(self.subscribers)))]


def subscribe(target: Target, tally: Tally, users: list[str], count: int, channel: str = CHANNEL) -> tuple[set[str], set[str]]:
    """Subscribe ``count`` of the users to the channel (429s retried: the change is idempotent); chosen and listed."""
    admin = issue_token("admin", SECRET, admin=True)
    chosen = set(random.sample(users, min(count, len(users))))
    call(target, tally, "POST", f"/channels/{channel}/subscribers", admin, {"add": sorted(chosen)})
    listed: set[str] = set()
    cursor = None
    while True:
        query = "limit=100" + (f"&cursor={cursor}" if cursor else "")
        status, page = call(target, tally, "GET", f"/channels/{channel}/subscribers?{query}", admin)
        if status != 200:
            return chosen, listed
        listed.update(item["userId"] for item in page["items"])
        cursor = page["nextCursor"]
        if not cursor:
            return chosen, listed


def send_all(
    target: Target,
    tally: Tally,
    users: list[str],
    subscribers: set[str],
    send_event: Callable[[dict[str, Any]], bool],
    args: argparse.Namespace,
    wide: tuple[set[str], int] | None = None,
) -> Sent:
    """Every send accepted: answered 202 (429s retried with the same key) or, as an event, taken by Lambda.

    Receivers sends, audience sends and sends made as events through ``send_event`` are shuffled together;
    with ``wide`` (the clients subscribed to `WIDE`, and how many subscribers it has in all), every other
    audience send goes there, as a broadcast.
    An event send's id is not known yet: it is recorded by title, for the send log to tell.
    """
    admin = issue_token("admin", SECRET, admin=True)
    sent = Sent({user: set() for user in users})
    kinds = ["receivers"] * (args.sends - args.event_sends) + [EVENT] * args.event_sends + [AUDIENCE] * args.audience_sends
    random.shuffle(kinds)
    for number, kind in enumerate(kinds):
        body: dict[str, Any] = {"channel": CHANNEL, "title": f"chaos {number}"}
        recipients = len(subscribers)
        if kind == AUDIENCE:  # every other one to the broadcasts' channel, when there is one
            broadcast = wide is not None and len(sent.audience) % 2 == 1
            body["channel"] = WIDE if broadcast else CHANNEL
            chosen, body["audience"] = sorted(wide[0] if wide and broadcast else subscribers), "subscribers"
            recipients = wide[1] if wide and broadcast else recipients
        else:
            chosen = random.sample(users, min(args.receivers, len(users)))
            body["receivers"] = chosen
        if kind == EVENT:
            if send_event(body):
                sent.events[body["title"]] = chosen
            else:
                tally.count("sends not accepted")
            continue
        status, answer = call(target, tally, "POST", "/messages", admin, body, key=f"chaos-{number}")
        if status == 202:
            sent.add(answer["id"], chosen)
            if kind == AUDIENCE:
                sent.audience.append(answer["id"])
                sent.recipients[answer["id"]] = recipients
                if body["channel"] == WIDE:
                    sent.broadcasts.append(answer["id"])
        else:
            tally.count("sends not accepted")
    return sent


def log_entry(target: Target, tally: Tally, send_id: str) -> LogEntry:
    """The send log's item for one send (``?`` when it cannot be read)."""
    status, entry = call(target, tally, "GET", f"/messages/{send_id}", issue_token("admin", SECRET, admin=True))
    if status != 200:
        return LogEntry(send_id, f"? ({status})", -1, -1)
    return LogEntry(send_id, entry["status"], int(entry["recipients"]), int(entry["stored"]))
