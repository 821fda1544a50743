"""Broadcast: an audience send to a channel's subscribers, on the local stack, through SQS and the worker.

A channel with 10,000 subscribers, 1,000 of them with an open WebSocket
(``--subscribers N --online M`` for others: over ``INAPP_BROADCAST_THRESHOLD``,
10,000 by default, the send is a broadcast stored once — docs/design.md,
*Broadcast on read* — and its figures go to ``broadcast_on_read.json``).
One ``POST /messages`` with ``"audience": "subscribers"``; measured from its
202: the time until the send log says ``done`` (every inbox item stored),
the time until the last of the 1,000 frames arrived, frames lost (must be
0), the DynamoDB calls the app made for the send (the worker's chunks and
the stream handler's delivery) with estimated write units per recipient
(bench/cost.py's model), and peak memory of the stack's process, its Lambda
runtime and the emulator. The stack runs in this process (the emulator and
the stream function's runtime in their own), so the app's botocore clients
can be counted: here, and in the runtime through `Runtime.call`.

The writes "by the 202" are the DynamoDB write calls (and estimated write
units) the request itself made: for a broadcast, everything written before
its frames. Each open socket takes four file descriptors here (the client's,
and the local gateway's front door, pipe and server ends), so ``--online``
is held to what this process may open (``ulimit -n``); the run says so.

Usage: python -m bench.broadcast [--smoke] [--out DIR] [--subscribers N] [--online M]
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import resource
import sys
import time
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from websockets.asyncio.client import connect

from bench.common import SECRET, local_aws_environment, log, results_dir, smoke, table, write
from bench.e2e import memory_kib


def _http(base: str, method: str, path: str, token: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    request = urllib.request.Request(f"{base}{path}", data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


class LogReader:
    """The send log's status, read with a client of our own (not counted with the app's calls)."""

    def __init__(self) -> None:
        import boto3

        from chalicelib.core.config import get_settings

        settings = get_settings()
        self._table = settings.tables["sends"]
        self._client = boto3.client("dynamodb", endpoint_url=settings.dynamodb_endpoint, region_name=settings.region)

    def status(self, send_id: str) -> str:
        item = self._client.get_item(TableName=self._table, Key={"id": {"S": send_id}}, ConsistentRead=True)
        return str(item["Item"]["status"]["S"])


async def broadcast(stack: Any, meter: Any, subscribers: int, online: int) -> dict[str, Any]:
    from chalicelib.core.auth import issue_token

    admin = issue_token("admin", SECRET, admin=True)
    base = stack.http_url
    _http(base, "POST", "/channels", admin, {"name": "bench", "title": "Bench"})
    users = [f"user{i:07d}" for i in range(subscribers)]
    seeding = time.perf_counter()
    with ThreadPoolExecutor(max_workers=4) as pool:  # the admin API, 1,000 ids a call, as an operator would
        batches = [users[start : start + 1000] for start in range(0, subscribers, 1000)]
        list(pool.map(lambda batch: _http(base, "POST", "/channels/bench/subscribers", admin, {"add": batch}), batches))
    log(f"subscribed {subscribers:,} in {time.perf_counter() - seeding:.0f} s")
    connected = users[:: max(1, subscribers // online)][:online]
    sockets = [await connect(f"{stack.gateway.url}?token={issue_token(u, SECRET)}", max_queue=None) for u in connected]
    arrived: dict[str, float] = {}

    async def listen(user: str, socket: Any) -> None:
        async for raw in socket:
            if json.loads(raw).get("type") == "message.created":
                arrived[user] = time.perf_counter()

    listeners = [asyncio.create_task(listen(u, s)) for u, s in zip(connected, sockets, strict=True)]
    reader = LogReader()
    meter.install_http()
    meter.reset()
    started = time.perf_counter()
    body = {"channel": "bench", "audience": "subscribers", "title": "Broadcast", "content": "to everyone"}
    sent = await asyncio.to_thread(_http, base, "POST", "/messages", admin, body)
    accepted = time.perf_counter()
    by_202 = meter.read()  # what the request wrote: for a broadcast, all it writes before its frames
    done_at = None
    deadline = accepted + 600
    while time.perf_counter() < deadline and (done_at is None or len(arrived) < online):
        if done_at is None and await asyncio.to_thread(reader.status, sent["id"]) == "done":
            done_at = time.perf_counter()
        await asyncio.sleep(0.1)
    entry = await asyncio.to_thread(_http, base, "GET", f"/messages/{sent['id']}", admin)
    await asyncio.sleep(1.0)  # the stream handler's last batches: calls made after the last frame count too
    memory = memory_kib(os.getpid())
    reading = meter.read()  # before the sockets' $disconnect calls, and the sample's reads
    sample = random.Random(7).sample(users, min(SAMPLE, subscribers))
    off = await asyncio.to_thread(_counts_off, base, sample, sent["id"])
    calls, wru, rru = dict(sorted(reading["calls"].items())), reading["wru"], reading["rru"]
    for task in listeners:
        task.cancel()
    for socket in sockets:
        await socket.close()
    return {
        "request_to_202_seconds": accepted - started,
        "counts_sampled": len(sample),
        "counts_off": off,
        "dynamodb_write_calls_by_202": sum(n for op, n in by_202["calls"].items() if op in WRITES),
        "estimated_wru_by_202": by_202["wru"],
        "seconds_202_to_done": None if done_at is None else done_at - accepted,
        "seconds_202_to_last_frame": max(arrived.values()) - accepted if arrived else None,
        "frames_expected": online,
        "frames_received": len(arrived),
        "lost": online - len(arrived),
        "log": entry,
        "dynamodb_calls": calls,
        "dynamodb_calls_per_recipient": sum(calls.values()) / subscribers,
        "estimated_wru_per_recipient": wru / subscribers,
        "estimated_rru_per_recipient": rru / subscribers,
        "sqs_calls": dict(sorted(reading["queue_calls"].items())),
        "memory_kib": memory,
    }


WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
SAMPLE = 1000  # subscribers whose counts are checked against what their inbox lists


def _counts_off(base: str, users: list[str], send_id: str) -> int:
    """How many of ``users`` show counts other than a recount of their unread list (which must hold the send)."""
    from chalicelib.core.auth import issue_token

    def off(user: str) -> bool:
        token = issue_token(user, SECRET)
        unread = _http(base, "GET", "/me/messages?status=unread&limit=100", token)["items"]
        counts = _http(base, "GET", "/me/unread-count", token)
        return send_id not in {m["id"] for m in unread} or (counts["total"], counts["unseen"]) != (len(unread), len(unread))

    with ThreadPoolExecutor(max_workers=4) as pool:
        return sum(pool.map(off, users))


_METER: dict[str, Any] = {}  # this process's meter: the stack's, and one in the Lambda runtime (see `main`)


def install_meter(table_kinds: dict[str, str]) -> None:
    """Count this process's DynamoDB calls (the app's clients) and SQS calls; run in the stack and in its runtime."""
    from bench.meter import Meter
    from chalicelib.service import get_work_queue
    from chalicelib.storage import dynamo as storage

    meter = _METER["meter"] = Meter(table_kinds, {})
    for client in storage.botocore_clients():
        client.meta.events.register("provide-client-params.dynamodb", meter.before)
        client.meta.events.register("after-call.dynamodb", meter.after)
    get_work_queue().client.meta.events.register("before-call.sqs", QueueCounter(meter))


def reset_meter() -> None:
    if "meter" in _METER:  # an HTTP runtime started since the meters were installed has none
        _METER["meter"].reset()
        _METER["meter"].queue_calls.clear()


def read_meter() -> dict[str, Any]:
    if "meter" not in _METER:
        return {"calls": {}, "wru": 0.0, "rru": 0.0, "queue_calls": {}}
    meter = _METER["meter"]
    return {"calls": dict(meter.calls), "wru": meter.wru, "rru": meter.rru, "queue_calls": dict(meter.queue_calls)}


class Meters:
    """The stack's meter, its stream and worker runtime's and its HTTP runtimes', read as one."""

    def __init__(self, stack: Any, table_kinds: dict[str, str]) -> None:
        self._runtime, self._http = stack.runtime, stack.http_pool
        self._kinds = table_kinds
        install_meter(table_kinds)
        self._runtime.call("bench.broadcast:install_meter", table_kinds)

    def install_http(self) -> None:
        """In the HTTP runtimes started so far (after the set-up's requests: the send's is measured)."""
        self._http.call_each("bench.broadcast:install_meter", self._kinds)

    def reset(self) -> None:
        reset_meter()
        self._runtime.call("bench.broadcast:reset_meter")
        self._http.call_each("bench.broadcast:reset_meter")

    def read(self) -> dict[str, Any]:
        readings = [
            read_meter(),
            self._runtime.call("bench.broadcast:read_meter"),
            *self._http.call_each("bench.broadcast:read_meter"),
        ]
        total: dict[str, Any] = {"calls": Counter(), "wru": 0.0, "rru": 0.0, "queue_calls": Counter()}
        for reading in readings:
            total["calls"].update(reading["calls"])
            total["queue_calls"].update(reading["queue_calls"])
            total["wru"] += reading["wru"]
            total["rru"] += reading["rru"]
        return total


class QueueCounter:
    """SQS calls the app makes (the worker queueing its next chunk) and the poller's receives and deletes."""

    def __init__(self, meter: Any) -> None:
        meter.queue_calls = Counter()
        self._meter = meter

    def __call__(self, model: Any, **_: Any) -> None:
        self._meter.queue_calls[model.name] += 1


def _option(argv: list[str], name: str, default: int) -> int:
    return int(argv[argv.index(name) + 1]) if name in argv else default


def main(argv: list[str]) -> int:
    subscribers, online = (500, 50) if smoke(argv) else (10_000, 1_000)
    subscribers, online = _option(argv, "--subscribers", subscribers), _option(argv, "--online", online)
    room = resource.getrlimit(resource.RLIMIT_NOFILE)[0] // 4 - 250
    if online > room:
        log(f"--online {online:,}: ulimit -n allows {room:,} sockets here (4 files each): {room:,} online")
        online = room
    local_aws_environment()
    from bench.common import ROOT
    from infra.local.moto.server import free_port

    for name in ("INAPP_HTTP_PORT", "INAPP_WS_PORT", "INAPP_LAMBDA_PORT"):
        os.environ[name] = str(free_port())
    for name in ("INAPP_DYNAMODB_ENDPOINT", "INAPP_SQS_ENDPOINT"):
        os.environ.pop(name, None)
    os.chdir(ROOT)
    from infra.local.settings import StackSettings
    from infra.local.stack import LocalStack

    stack = LocalStack(StackSettings.from_env())
    stack.start()
    try:
        from chalicelib.core.config import get_settings

        meter = Meters(stack, {name: kind for kind, name in get_settings().tables.items()})
        log(f"broadcast to {subscribers} subscribers, {online} online")
        result = asyncio.run(broadcast(stack, meter, subscribers, online))
    finally:
        stack.stop()
    from chalicelib.core.config import get_settings

    stored_once = subscribers > get_settings().broadcast_threshold
    done, last = result["seconds_202_to_done"], result["seconds_202_to_last_frame"]
    print(table(
        ["measure", "value"],
        [["stored", "once (a broadcast)" if stored_once else "per subscriber"],
         ["DynamoDB writes by the 202 (calls / est. WRU)",
          f"{result['dynamodb_write_calls_by_202']} / {result['estimated_wru_by_202']:.0f}"],
         ["202 → done (s)", "not done" if done is None else f"{done:.2f}"],
         ["202 → last frame (s)", "none" if last is None else f"{last:.2f}"],
         ["frames lost", f"{result['lost']} of {online}"],
         ["counts ≠ recount (sampled subscribers)", f"{result['counts_off']} of {result['counts_sampled']}"],
         ["DynamoDB calls / recipient", f"{result['dynamodb_calls_per_recipient']:.3f}"],
         ["est. WRU / recipient", f"{result['estimated_wru_per_recipient']:.2f}"],
         ["peak RSS stack / runtime / emulator (MiB)",
          " / ".join(f"{result['memory_kib'][f'{n}VmHWM'] / 1024:.0f}" for n in ("", "runtime_", "emulator_"))]],
    ))  # fmt: skip
    targets = {
        "lost": 0,
        "counts_off": 0,
        **({"seconds_202_to_done": 5, "dynamodb_write_calls_by_202": 100} if stored_once else {}),
    }
    write(
        "broadcast_on_read" if stored_once else "broadcast",
        {"parameters": {"subscribers": subscribers, "online": online}, "repeats": 1, "targets": targets, **result},
        results_dir(argv),
    )
    return 0 if result["lost"] == result["counts_off"] == 0 and result["seconds_202_to_done"] is not None else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
