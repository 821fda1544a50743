"""What a delivered message uses besides DynamoDB: each Lambda function's time, and the frames posted to sockets.

`bench.allin` prices them with `bench.meter`'s request units. And what each inbox feature beyond the
anchors (tags, an expiry of its own, pins, snoozes) costs per operation, for `bench.cost`'s table
(`measure_features`): a plain message's figures are the other rows' (a send without tags or expiry
writes nothing more).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

T = TypeVar("T")
WEBSOCKET_CHUNK = 32 * 1024  # API Gateway bills a WebSocket message per 32 KB


@dataclass
class FunctionTime:
    """One function's invocations and their time, in seconds."""

    invocations: int = 0
    wall: float = 0.0
    cpu: float = 0.0  # the process's, less the stand-ins'
    own_cpu: float = 0.0  # less moto's answers too: the function's own code
    billed: float = 0.0  # per invocation its CPU, rounded up to the ms as Lambda bills
    billed_own_cpu: float = 0.0  # per invocation its own CPU, rounded up: the floor


class LambdaMeter:
    """Invocations, wall time and CPU time of each Lambda function, measured in this process around its handler.

    The benchmark runs the handlers in process (Chalice's test client over
    moto): each invocation is timed here, not by the local runtime. Billed
    duration is CPU time, not wall time: this 2-core machine is shared, and
    its other work showed as wall time 2–5× the CPU (2026-12-07, load 9).
    CPU is the process's, every thread (delivery posts from a pool), less
    the management stand-in's own (``side_cpu``). It includes moto's
    answers to the function's DynamoDB and SQS calls, standing in for the
    services' latency deployed (moto takes ~1–5 ms a call, DynamoDB about as
    long); one after another, where deployed a pool's calls wait side by
    side: an upper bound for delivery. Own CPU is that less moto's answers
    (timed per thread from ``before-send`` to ``before-parse`` on the
    clients given to `watch`): the floor.
    """

    def __init__(self, side_cpu: Callable[[], float] = lambda: 0.0) -> None:
        self._side_cpu = side_cpu
        self._emulator_cpu = 0.0
        self._local = threading.local()
        self._lock = threading.Lock()
        self.functions: dict[str, FunctionTime] = {}

    def watch(self, client: Any) -> None:
        """Time moto's answers to ``client``'s calls (before moto's own ``before-send`` handler, which answers)."""
        client.meta.events.register_first("before-send", self._sent)
        client.meta.events.register("before-parse", self._answered)

    def _sent(self, **_: Any) -> None:
        self._local.started = time.thread_time()

    def _answered(self, **_: Any) -> None:
        started = getattr(self._local, "started", None)
        if started is not None:
            with self._lock:
                self._emulator_cpu += time.thread_time() - started

    def run(self, function: str, call: Callable[[], T]) -> T:
        cpu, side, emulator, wall = time.process_time(), self._side_cpu(), self._emulator_cpu, time.perf_counter()
        try:
            return call()
        finally:
            wall = time.perf_counter() - wall
            cpu = time.process_time() - cpu - (self._side_cpu() - side)
            own = cpu - (self._emulator_cpu - emulator)
            measured = self.functions.setdefault(function, FunctionTime())
            measured.invocations += 1
            measured.wall += wall
            measured.cpu += cpu
            measured.own_cpu += own
            measured.billed += math.ceil(max(cpu, 0.0) * 1000) / 1000
            measured.billed_own_cpu += math.ceil(max(own, 0.0) * 1000) / 1000

    def reset(self) -> None:
        self.functions.clear()

    def read(self) -> dict[str, dict[str, float]]:
        return {name: asdict(measured) for name, measured in sorted(self.functions.items())}


class FrameCounter:
    """The management API's ``POST /{stage}/@connections/{id}``, on loopback: answers 200 and counts what was posted.

    Per frame type, and the WebSocket messages they are billed as (one per
    32 KB of each frame). ``DELETE`` (a socket closed) answers 204.
    """

    def __init__(self, stage: str = "api") -> None:
        self.stage = stage
        self.types: Counter[str] = Counter()
        self.messages = 0
        self.cpu = 0.0  # this server's own CPU, which is API Gateway's deployed, not the function's
        self._lock = threading.Lock()
        counter = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                started = time.thread_time()
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                counter.record(body)
                self._answer(200, started)

            def do_DELETE(self) -> None:
                self._answer(204, time.thread_time())

            def _answer(self, status: int, started: float) -> None:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with counter._lock:
                    counter.cpu += time.thread_time() - started

            def log_message(self, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.request_queue_size = 256
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/{self.stage}"

    def record(self, body: bytes) -> None:
        kind = str(json.loads(body).get("type"))
        with self._lock:
            self.types[kind] += 1
            self.messages += max(1, math.ceil(len(body) / WEBSOCKET_CHUNK))

    def reset(self) -> None:
        with self._lock:
            self.types.clear()
            self.messages = 0

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


Measure = Callable[..., None]  # (operation, floor, action)


def measure_features(client: Any, admin: dict[str, str], user: dict[str, str], measure: Measure) -> None:
    """Send, list, pin, snooze and wake one message of user ``u0000`` with each feature."""

    def send(**extra: Any) -> str:
        body = {"channel": "news", "receivers": ["u0000"], "title": "Your order shipped", **extra}
        response = client.http.post("/messages", headers=admin, body=json.dumps(body))
        assert response.status_code == 202, response.body
        return str(response.json_body["id"])

    def patch(message_id: str, change: dict[str, Any]) -> Any:
        answer = client.http.request("PATCH", f"/me/messages/{message_id}", headers=user, body=json.dumps(change).encode())
        assert answer.status_code == 200, answer.body
        return answer

    def ahead(**delta: float) -> str:
        return (datetime.now(UTC) + timedelta(**delta)).isoformat()

    measure("send to 1 receiver, 2 tags", "plain + 2 entries (1 BatchWriteItem)", lambda: send(tags=["billing", "urgent"]))
    measure("send to 1 receiver, own expiry", "plain + 1 entry (1 BatchWriteItem)", lambda: send(expiresAt=ahead(days=1)))
    measure("one tag page (20)", "1 Query + 1 BatchGetItem + pins' Query + 1 limit",
            lambda: client.http.get("/me/messages?tag=billing", headers=user))  # fmt: skip
    measure("unread count with own expiries", "2 Query + 1 GetItem + 1 limit",
            lambda: client.http.get("/me/unread-count", headers=user))  # fmt: skip
    pinned = send()
    measure("pin one", "pins' Query + 1 transaction (update, entry) + 1 limit", lambda: patch(pinned, {"pinned": True}))
    measure("first page with a pin (20)", "pins' Query + 1 BatchGetItem + 1 Query + 1 limit",
            lambda: client.http.get("/me/messages", headers=user))  # fmt: skip
    measure("unpin one", "1 transaction (update, entry) + 1 limit", lambda: patch(pinned, {"pinned": False}))
    measure("snooze one", "1 transaction (move, counts) + 1 schedule + 1 limit",
            lambda: patch(pinned, {"snoozedUntil": ahead(hours=1)}))  # fmt: skip
    measure("wake one", "1 BatchGetItem + 1 transaction (move, counts) + 1 limit",
            lambda: patch(pinned, {"snoozedUntil": None}))  # fmt: skip
