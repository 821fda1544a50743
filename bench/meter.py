"""What the cost benchmarks meter: DynamoDB calls and request units, Lambda time, and the frames posted to sockets.

DynamoDB is metered from the app's own botocore clients (a ``before-call``
and ``after-call`` hook).
moto reports a fixed ConsumedCapacity, so request units are estimated from
the items each call writes or reads, with DynamoDB's on-demand rules: a
write costs 1 WRU per KB of item (2 in a transaction) plus 1 WRU per KB in
every GSI the item is projected into (2 when an index key changes: delete +
put); a read costs 1 RRU per 4 KB (0.5 eventually consistent, 2
transactional). `bench.cost` and `bench.broadcast` read it.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

T = TypeVar("T")
WEBSOCKET_CHUNK = 32 * 1024  # API Gateway bills a WebSocket message per 32 KB

# The key that puts an item in each GSI, per table: an item is written to an index only when it has it (sparse).
# stored-index (storedId: a late-stored message) projects keys and channel only, so updates never rewrite it.
INDEX_KEYS = {"inbox": ("userChannel", "userStatus", "userChannelStatus", "storedId"), "sends": ("log", "channel")}


LIVE_INBOX_INDEXES = 3  # a live message is in all three inbox indexes; an archived one only in channel-index


def item_size(item: dict[str, Any]) -> int:
    """DynamoDB's item size: attribute names plus values (numbers ~ digits/2 + 1)."""

    def value_size(value: dict[str, Any]) -> int:
        ((kind, raw),) = value.items()
        if kind == "S":
            return len(raw.encode())
        if kind == "N":
            return len(raw) // 2 + 1
        if kind in ("SS", "NS"):
            return sum(len(v.encode()) for v in raw)
        if kind == "M":
            return 3 + sum(len(k) + value_size(v) for k, v in raw.items())
        if kind == "L":
            return 3 + sum(value_size(v) for v in raw)
        return 1

    return sum(len(name) + value_size(value) for name, value in item.items())


class Meter:
    """Counts calls and estimates request units for the app's DynamoDB traffic."""

    def __init__(self, table_kinds: dict[str, str], sizes: dict[str, int]) -> None:
        self.kinds = table_kinds
        self.sizes = sizes
        self.calls: Counter[str] = Counter()
        self.wru = 0.0
        self.rru = 0.0

    def reset(self) -> None:
        self.calls.clear()
        self.wru = self.rru = 0.0

    def _kb(self, kind: str, size: int | None = None) -> int:
        return max(1, math.ceil((size or self.sizes.get(kind, 200)) / 1024))

    def _put(self, table: str, item: dict[str, Any], transactional: bool) -> None:
        kind = self.kinds.get(table, "")
        kb = self._kb(kind, item_size(item))
        indexes = sum(1 for key in INDEX_KEYS.get(kind, ()) if key in item)
        self.wru += kb * (2 if transactional else 1) + kb * indexes

    def _change(self, table: str, body: dict[str, Any], transactional: bool, delete: bool) -> None:
        """An update or delete without the item at hand: its size estimated, each index key it moves costs 2."""
        kind = self.kinds.get(table, "")
        kb = self._kb(kind)
        self.wru += kb * (2 if transactional else 1)
        if kind != "inbox":
            return
        if delete:
            self.wru += kb * LIVE_INBOX_INDEXES
            return
        names = set(body.get("ExpressionAttributeNames", {}).values())
        moved = sum(1 for key in INDEX_KEYS["inbox"] if key in names)
        self.wru += kb * (2 * moved + (LIVE_INBOX_INDEXES - moved))  # moved keys: delete + put; the rest rewritten

    def before(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        name = model.name
        self.calls[name] += 1
        if name == "TransactWriteItems":
            for action in params["TransactItems"]:
                ((op, body),) = action.items()
                if op == "Put":
                    self._put(body["TableName"], body["Item"], True)
                elif op in ("Update", "Delete"):
                    self._change(body["TableName"], body, True, op == "Delete")
        elif name == "BatchWriteItem":
            for table, requests in params["RequestItems"].items():
                for request in requests:
                    if "PutRequest" in request:
                        self._put(table, request["PutRequest"]["Item"], False)
                    else:
                        self._change(table, {}, False, True)
        elif name == "PutItem":
            self._put(params["TableName"], params["Item"], False)
        elif name == "DeleteItem":
            self._change(params["TableName"], params, False, True)
        elif name == "UpdateItem" and self.kinds.get(params["TableName"]) == "counters":
            context["counts_update"] = True  # sized by the item it answers (`after`)
        elif name == "UpdateItem":
            self._change(params["TableName"], params, False, False)

    def after(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        name = model.name
        if context.get("counts_update") and "Attributes" in parsed:  # the item after the update sets the size
            self.wru += max(1, math.ceil(item_size(parsed["Attributes"]) / 1024))
        elif name in ("Query", "Scan"):
            size = sum(item_size(i) for i in parsed.get("Items", []))
            self.rru += max(1, math.ceil(size / 4096)) * 0.5
        elif name == "GetItem":
            self.rru += (
                max(1, math.ceil(item_size(parsed.get("Item") or {}) / 4096)) * 1.0
            )  # consistent reads are rare; worst case
        elif name == "BatchGetItem":
            for items in parsed.get("Responses", {}).values():
                self.rru += sum(max(1, math.ceil(item_size(i) / 4096)) * 0.5 for i in items)


@dataclass
class FunctionTime:
    """One function's invocations and their time, in seconds."""

    invocations: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    billed: float = 0.0  # per invocation the longer of wall and CPU, rounded up to the ms as Lambda bills


class LambdaMeter:
    """Invocations, wall time and CPU time of each Lambda function, measured in this process around its handler.

    The benchmark runs the handlers in process (Chalice's test client over
    moto), so the local runtime's own reports are not needed: each
    invocation is timed here. Its DynamoDB and SQS calls are answered by
    moto in the same process, which stands in for the services' latency as
    deployed. CPU is the process's, every thread (delivery posts from a
    pool), less the management stand-in's own (``side_cpu``). At 1,769 MB a
    function has one vCPU, so its CPU time cannot finish in less wall time:
    the billed duration is the longer of the two.
    """

    def __init__(self, side_cpu: Callable[[], float] = lambda: 0.0) -> None:
        self._side_cpu = side_cpu
        self.functions: dict[str, FunctionTime] = {}

    def run(self, function: str, call: Callable[[], T]) -> T:
        cpu, side, wall = time.process_time(), self._side_cpu(), time.perf_counter()
        try:
            return call()
        finally:
            wall = time.perf_counter() - wall
            cpu = time.process_time() - cpu - (self._side_cpu() - side)
            measured = self.functions.setdefault(function, FunctionTime())
            measured.invocations += 1
            measured.wall += wall
            measured.cpu += cpu
            measured.billed += math.ceil(max(wall, cpu) * 1000) / 1000

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
