"""End to end: latency from the HTTP 202 to the frame on the socket, on the local stack.

200 WebSocket clients (one user each) stay connected while 100 sends go out
at 10 per second, each to 20 of those users chosen at random (seeded):
2,000 frames. Reports p50/p95/p99/max from the 202 and from the request
start (the stream handler often delivers before the 202 has travelled back,
so "from the 202" can be negative), frames lost (must be 0), and the
stack's peak memory (VmHWM). Back-to-back sends would measure the local
stack's queue, not the delivery path: everything shares one process.

Usage: python -m bench.e2e [--smoke] [--out DIR]
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

from bench.common import SECRET, results_dir, smoke, summary, table, write
from chalicelib.core.auth import issue_token
from infra.local.running import RunningStack


def stack_children(pid: int) -> dict[str, int]:
    """The stack's busy child processes by role: the DynamoDB emulator and the Lambda runtime (stream function)."""
    named = {}
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        command = Path(f"/proc/{child}/cmdline").read_bytes()
        if b"infra.local.moto.server" in command:
            named["emulator"] = int(child)
        elif b"infra.local.lambdas.runtime" in command:
            named["runtime"] = int(child)
    return named


def memory_kib(pid: int) -> dict[str, int]:
    """Peak and current RSS of the stack's process, and the peak of its emulator and runtime."""
    fields = {"VmHWM": 0, "VmRSS": 0, "emulator_VmHWM": 0, "runtime_VmHWM": 0}
    for process, prefix in [(pid, ""), *((child, f"{role}_") for role, child in stack_children(pid).items())]:
        for line in Path(f"/proc/{process}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmHWM", "VmRSS") and f"{prefix}{name}" in fields:
                fields[f"{prefix}{name}"] = int(value.split()[0])
    return fields


class Listeners:
    """One WebSocket per user, recording when each ``message.created`` frame arrived."""

    def __init__(self) -> None:
        self.received: dict[tuple[str, str], float] = {}  # (message id, user) → perf_counter
        self._sockets: list[Any] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def open(self, stack: RunningStack, users: list[str]) -> Listeners:
        for user in users:
            socket = await connect(f"{stack.urls['ws']}?token={issue_token(user, SECRET)}", max_queue=None)
            self._sockets.append(socket)
            self._tasks.append(asyncio.create_task(self._listen(user, socket)))
        return self

    async def _listen(self, user: str, socket: Any) -> None:
        async for raw in socket:
            frame = json.loads(raw)
            if frame.get("type") == "message.created":
                self.received[(frame["message"]["id"], user)] = time.perf_counter()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for socket in self._sockets:
            await socket.close()


async def run(stack: RunningStack, clients: int, sends: int, per_send: int, rate: float) -> dict[str, Any]:
    users = [f"user{i:03d}" for i in range(clients)]
    listeners = await Listeners().open(stack, users)
    received = listeners.received
    admin = issue_token("admin", SECRET, admin=True)
    chooser = random.Random(7)
    sent: dict[str, tuple[float, float, list[str]]] = {}
    first = time.perf_counter()
    for n in range(sends):
        await asyncio.sleep(max(0.0, first + n / rate - time.perf_counter()))
        receivers = chooser.sample(users, per_send)
        body = {"channel": "bench", "receivers": receivers, "title": f"e2e {n}", "content": "latency probe"}
        started = time.perf_counter()
        status, answer = await asyncio.to_thread(stack.http, "POST", "/messages", admin, body)
        accepted = time.perf_counter()
        assert status == 202, answer
        sent[answer["id"]] = (started, accepted, receivers)
    expected = {(message_id, user) for message_id, (_, _, receivers) in sent.items() for user in receivers}
    deadline = time.perf_counter() + 30
    while not expected <= received.keys() and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    memory = memory_kib(stack.process.pid)
    await listeners.close()
    from_202 = [(received[k] - sent[k[0]][1]) * 1000 for k in expected if k in received]
    from_request = [(received[k] - sent[k[0]][0]) * 1000 for k in expected if k in received]
    return {
        "frames_expected": len(expected),
        "frames_received": len(expected & received.keys()),
        "lost": len(expected - received.keys()),
        "latency_ms_from_202": summary(from_202),
        "latency_ms_from_request": summary(from_request),
        "stack_memory_kib": memory,
    }


def main(argv: list[str]) -> int:
    clients, sends, per_send, rate = (20, 10, 5, 10.0) if smoke(argv) else (200, 100, 20, 10.0)
    stack = RunningStack(SECRET)
    try:
        admin = issue_token("admin", SECRET, admin=True)
        stack.http("POST", "/channels", admin, {"name": "bench", "title": "Bench"})
        result = asyncio.run(run(stack, clients, sends, per_send, rate))
    finally:
        stack.stop()
    lat = result["latency_ms_from_202"]
    req = result["latency_ms_from_request"]
    print(table(
        ["measure", "p50", "p95", "p99", "max"],
        [["from 202 (ms)", *(f"{lat[k]:.1f}" for k in ("median", "p95", "p99", "max"))],
         ["from request (ms)", *(f"{req[k]:.1f}" for k in ("median", "p95", "p99", "max"))]],
    ))  # fmt: skip
    print(f"frames {result['frames_received']}/{result['frames_expected']}, lost {result['lost']}; "
          f"stack peak RSS {result['stack_memory_kib']['VmHWM'] / 1024:.0f} MiB "
          f"(+ runtime {result['stack_memory_kib']['runtime_VmHWM'] / 1024:.0f} MiB, "
          f"emulator {result['stack_memory_kib']['emulator_VmHWM'] / 1024:.0f} MiB)")  # fmt: skip
    write(
        "e2e",
        {"parameters": {"clients": clients, "sends": sends, "receivers_per_send": per_send, "sends_per_second": rate},
         "repeats": 1, "targets": {"p50_ms": 100, "p99_ms": 300, "lost": 0}, **result},
        results_dir(argv),
    )  # fmt: skip
    return 0 if result["lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
