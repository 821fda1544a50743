"""The abuse run's users: normal ones that listen and poll, and one hostile one that does everything at once.

`infra.checks.abuse` runs them against the local stack. Every HTTP answer
and every error frame is counted per user (`Seen`), so the run can say
who got the 429s.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import ClientConnection, connect

from chalicelib.core.auth import issue_token
from infra.checks.chaos_traffic import received_frames
from infra.checks.target import Target, json_call

SECRET = "abuse-secret-0123456789abcdef-0123456789"
HOSTILE = "mallory"


@dataclass
class Seen:
    """What the users saw, counted from many threads: HTTP statuses and WebSocket events, per user."""

    statuses: dict[str, Counter[int]] = field(default_factory=dict)
    events: dict[str, Counter[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def status(self, user: str, status: int) -> None:
        with self.lock:
            self.statuses.setdefault(user, Counter())[status] += 1

    def event(self, user: str, kind: str, count: int = 1) -> None:
        with self.lock:
            self.events.setdefault(user, Counter())[kind] += count

    def refused(self, user: str) -> int:
        """The 429 answers and rate-limit error frames ``user`` got."""
        with self.lock:
            return self.statuses.get(user, Counter())[429] + self.events.get(user, Counter())["limited frames"]


def http(target: Target, seen: Seen, user: str, token: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """One call, its status counted for ``user``; no answer within ``json_call``'s 30 s counts as status 0."""
    try:
        status, answer = json_call(target.http_url + path, method, token, body)
    except OSError:  # a timeout or a refused connection: the stack did not answer
        status, answer = 0, None
    seen.status(user, status)
    return status, answer


def open_socket(target: Target, token: str) -> ClientConnection:
    return connect(f"{target.ws_url}?token={token}", open_timeout=10, close_timeout=1)


def _limited(frame: dict[str, Any]) -> bool:
    """The error frame of a frame past the connection's limit (it says when to send again)."""
    return frame.get("type") == "error" and "retryAfter" in frame


class Listener(threading.Thread):
    """A normal user's open tab: notes when each message frame arrives; reconnects (counted) if the socket goes."""

    def __init__(self, user: str, target: Target, seen: Seen, stop: threading.Event) -> None:
        super().__init__(name=f"listener-{user}", daemon=True)
        self.user, self.target, self.seen, self.stop = user, target, seen, stop
        self.token = issue_token(user, SECRET)
        self.arrivals: dict[str, float] = {}
        self.ready = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                with open_socket(self.target, self.token) as socket:
                    self.ready.set()
                    self._listen(socket)
            except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError):
                self.seen.event(self.user, "reconnects")
                self.stop.wait(0.2)

    def _listen(self, socket: ClientConnection) -> None:
        for frame in received_frames(socket, self.stop):
            if frame.get("type") == "message.created":
                self.arrivals.setdefault(frame["message"]["id"], time.monotonic())
            elif _limited(frame):
                self.seen.event(self.user, "limited frames")


def poll(target: Target, seen: Seen, user: str, stop: threading.Event, every: float, first: float) -> None:
    """A normal user's page refreshing its badge and list every ``every`` seconds, the first time after ``first``.

    Pages opened by people refresh out of step; pollers all started at once refreshed in step, and their first
    round (two requests each, all at the same instant) queued one send behind it for ~1.1 s in every phase.
    """
    token = issue_token(user, SECRET)
    if stop.wait(first):
        return
    while True:
        http(target, seen, user, token, "GET", "/me/unread-count")
        http(target, seen, user, token, "GET", "/me/messages?limit=20")
        if stop.wait(every):
            return


ABUSES = ("requests", "pings", "bulk", "expired", "connections")


@dataclass
class Hostile:
    """Mallory: every abuse at once, each in its own thread, until ``stop``."""

    target: Target
    seen: Seen
    stop: threading.Event
    connections: int  # connection attempts, spread over ``seconds``
    seconds: float
    rate: float  # requests (or pings) per second of each flood: far past the limit, within what the machine can send
    token: str = field(default_factory=lambda: issue_token(HOSTILE, SECRET))
    threads: list[threading.Thread] = field(default_factory=list)
    without: frozenset[str] = frozenset()  # abuses left out (ABUSES), to find which one slows the others

    def start(self, expiry_probe: Callable[[], None]) -> None:
        for name, work in (
            ("requests", self.request_flood),
            ("requests-2", self.request_flood),
            ("pings", self.ping_flood),
            ("bulk", self.bulk),
            ("expired", self.expired_tokens),
            ("connections", lambda: self.connection_storm(expiry_probe)),
        ):
            if name.split("-")[0] in self.without:
                continue
            thread = threading.Thread(target=work, name=f"hostile-{name}", daemon=True)
            thread.start()
            self.threads.append(thread)

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=30)

    def request_flood(self) -> None:
        while not self.stop.wait(1 / self.rate):
            http(self.target, self.seen, HOSTILE, self.token, "GET", "/me/messages?limit=100")

    def ping_flood(self) -> None:
        """Pings, answered by the gateway itself (no function). Frames that reach the function past the
        connection's limit get an error frame that says when to send again; here, a flood of them (a function
        call each, ~10 a second in this emulator) would measure the machine, not the product: the limit itself
        is tested in tests/stack/test_request_limits.py."""
        while not self.stop.is_set():
            try:
                with open_socket(self.target, self.token) as socket:
                    while not self.stop.wait(10 / self.rate):
                        for _ in range(10):
                            socket.send(json.dumps({"action": "ping"}))
                        self.seen.event(HOSTILE, "pings", 10)
                        self._drain(socket)
            except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError) as error:
                self.seen.event(HOSTILE, f"ping socket closed {closed_code(error)}")
                self.stop.wait(0.05)

    def _drain(self, socket: ClientConnection) -> None:
        while True:
            try:
                frame = json.loads(socket.recv(timeout=0.01))
            except TimeoutError:
                return
            self.seen.event(HOSTILE, "limited frames" if _limited(frame) else str(frame.get("type")))

    def bulk(self) -> None:
        """Mark-all-read over and over on the seeded messages, ignoring ``Retry-After``."""
        while not self.stop.wait(1 / self.rate):
            status, answer = http(self.target, self.seen, HOSTILE, self.token, "POST", "/me/messages/read", {})
            if status == 200:
                self.seen.event(HOSTILE, "bulk updated", int(answer.get("updated", 0)))

    def expired_tokens(self) -> None:
        expired = issue_token(HOSTILE, SECRET, lifetime_seconds=60, now=int(time.time()) - 3600)
        while not self.stop.wait(0.05):
            try:
                with open_socket(self.target, expired):
                    self.seen.event(HOSTILE, "expired token accepted")
            except InvalidHandshake:
                self.seen.event(HOSTILE, "expired token refused")
            except (OSError, ConnectionClosed, TimeoutError):
                self.seen.event(HOSTILE, "expired token: socket error")
            http(self.target, self.seen, HOSTILE, expired, "GET", "/me/unread-count")

    def connection_storm(self, first: Callable[[], None]) -> None:
        """``connections`` sockets opened one after another; the newest few kept open, the server closing the rest.

        ``first`` runs before (the expiry probe: its socket would be the oldest, closed by the cap at once).
        """
        first()
        held: deque[ClientConnection] = deque()
        pause = self.seconds / max(1, self.connections)
        for _ in range(self.connections):
            if self.stop.is_set():
                break
            try:
                held.append(open_socket(self.target, self.token))
                self.seen.event(HOSTILE, "connections opened")
            except (OSError, InvalidHandshake, TimeoutError):
                self.seen.event(HOSTILE, "connections refused")
            while len(held) > 20:
                self._let_go(held.popleft())
            self.stop.wait(pause)
        while held:
            self._let_go(held.popleft())

    def _let_go(self, socket: ClientConnection) -> None:
        """Counted by who closed it: the server says why in a ``close`` frame first (API Gateway's own close
        carries no code of ours), which sits among the frames this socket was sent and never read."""
        code = _close_frame_code(socket) if socket.close_code is not None else None
        self.seen.event(HOSTILE, f"closed by server {code}" if code is not None else "closed by mallory")
        socket.close()


def _close_frame_code(socket: ClientConnection) -> int | str:
    """The code of the server's ``{"type":"close"}`` frame among those received, else the socket's close code."""
    while True:
        try:
            frame = json.loads(socket.recv(timeout=0))
        except (TimeoutError, ConnectionClosed, ValueError):
            return socket.close_code or "without a code"
        if isinstance(frame, dict) and frame.get("type") == "close":
            return int(frame.get("code", 0))


def closed_code(error: BaseException) -> str:
    """The close code a server sent with a socket's end, or the kind of error that ended it."""
    received = getattr(error, "rcvd", None)
    return str(received.code) if received is not None else type(error).__name__
