"""Delivery throughput on the local stack: many open sockets, broadcast-sized sends.

300 WebSocket clients (one user each) stay connected while 10 sends go out
back to back, each to all 300 users: 3,000 frames. Reports deliveries per
second (frames received ÷ time from the first send's request to the last
frame), frames lost (must be 0), the time the sends themselves took (the
write path, which delivery overlaps), and the CPU seconds each process
spent meanwhile — the stack (HTTP routes, gateway, pollers), the Lambda
runtime (the stream function), the DynamoDB emulator and these clients —
which says what bounds the figure.

Usage: python -m bench.throughput [--smoke] [--out DIR] [--repeats N]
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import SECRET, log, results_dir, smoke, summary, table, write
from bench.e2e import Listeners, stack_children
from chalicelib.core.auth import issue_token
from infra.local.running import RunningStack

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def machine_seconds() -> dict[str, float]:
    """CPU seconds so far, all cores (/proc/stat): busy (user, nice, system, irq, softirq) and stolen by the host."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in Path("/proc/stat").read_text().split()[1:9])
    return {"machine": (user + nice + system + irq + softirq) / TICKS, "stolen": steal / TICKS}


REFERENCE_FRAME = {"type": "message.created", "silent": False, "message": {
    "id": "01JD8Z6Q9X3V7T2K5M4N8P1R0S", "channel": "bench", "title": "throughput 0", "content": "load",
    "status": "unread", "createdAt": "2026-11-25T00:00:00.000Z", "url": None, "severity": "info"}}  # fmt: skip


def reference_ms() -> float:
    """CPU ms of a fixed piece of Python work (10,000 frames to JSON and back), measured before each run.

    This shared machine runs some hours a quarter slower than others; the
    figure says which kind of hour a run met, so runs of different days
    compare.
    """
    started = time.process_time()
    for _ in range(10_000):
        json.loads(json.dumps(REFERENCE_FRAME, separators=(",", ":")))
    return (time.process_time() - started) * 1000


def _processes(stack: RunningStack) -> dict[str, int]:
    return {"stack": stack.process.pid, **stack_children(stack.process.pid), "clients": os.getpid()}  # clients: 300 sockets


async def run_once(stack: RunningStack, clients: int, sends: int, concurrency: int, tag: str) -> dict[str, Any]:
    users = [f"{tag}{i:03d}" for i in range(clients)]
    listeners = await Listeners().open(stack, users)
    received = listeners.received
    await asyncio.sleep(0.5)  # every $connect stored before the first send
    admin = issue_token("admin", SECRET, admin=True)
    processes = _processes(stack)
    reference = reference_ms()
    cpu_before = {name: cpu_seconds(pid) for name, pid in processes.items()}
    machine_before = machine_seconds()
    ids: list[str] = []
    in_flight = asyncio.Semaphore(concurrency)

    async def send(n: int) -> None:
        body = {"channel": "bench", "receivers": users, "title": f"throughput {n}", "content": "load"}
        async with in_flight:
            status, answer = await asyncio.to_thread(stack.http, "POST", "/messages", admin, body)
        assert status == 202, answer
        ids.append(answer["id"])

    started = time.perf_counter()
    await asyncio.gather(*(send(n) for n in range(sends)))
    sends_done = time.perf_counter()
    expected = {(message_id, user) for message_id in ids for user in users}
    deadline = time.perf_counter() + 60
    while not expected <= received.keys() and time.perf_counter() < deadline:
        await asyncio.sleep(0.02)
    got = expected & received.keys()
    finished = max((received[k] for k in got), default=sends_done)
    cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in processes.items()}
    cpu.update({name: value - machine_before[name] for name, value in machine_seconds().items()})
    await listeners.close()
    elapsed = finished - started
    return {
        "frames_expected": len(expected),
        "frames_received": len(got),
        "lost": len(expected - got),
        "seconds": elapsed,
        "sends_seconds": sends_done - started,
        "deliveries_per_second": len(got) / elapsed,
        "cpu_seconds": cpu,
        "cpu_share_of_a_core": {name: value / elapsed for name, value in cpu.items()},
        "cpu_ms_per_delivery": {name: value * 1000 / max(1, len(got)) for name, value in cpu.items()},
        "reference_ms": reference,
    }


def main(argv: list[str]) -> int:
    clients, sends = (30, 3) if smoke(argv) else (300, 10)
    repeats = int(argv[argv.index("--repeats") + 1]) if "--repeats" in argv else (1 if smoke(argv) else 3)
    concurrency = int(argv[argv.index("--concurrency") + 1]) if "--concurrency" in argv else 1
    stack = RunningStack(SECRET)
    runs: list[dict[str, Any]] = []
    try:
        admin = issue_token("admin", SECRET, admin=True)
        stack.http("POST", "/channels", admin, {"name": "bench", "title": "Bench"})
        for n in range(repeats):
            runs.append(asyncio.run(run_once(stack, clients, sends, concurrency, f"r{n}u")))
            log(f"run {n + 1}: {runs[-1]['deliveries_per_second']:.0f} deliveries/s, lost {runs[-1]['lost']}")
    finally:
        stack.stop()
    rates = summary([r["deliveries_per_second"] for r in runs])
    shares = {name: summary([r["cpu_share_of_a_core"][name] for r in runs]) for name in runs[0]["cpu_share_of_a_core"]}
    per_delivery = {name: summary([r["cpu_ms_per_delivery"][name] for r in runs]) for name in shares}
    lost = sum(r["lost"] for r in runs)
    print(table(
        ["run", "deliveries/s", "seconds", "sends took", "lost", *(f"CPU {n}" for n in shares),
         *(f"{n} CPU ms/delivery" for n in shares), "reference ms"],
        [[i + 1, f"{r['deliveries_per_second']:.0f}", f"{r['seconds']:.2f}", f"{r['sends_seconds']:.2f}", r["lost"],
          *(f"{r['cpu_share_of_a_core'][n]:.0%}" for n in shares),
          *(f"{r['cpu_ms_per_delivery'][n]:.2f}" for n in shares), f"{r['reference_ms']:.0f}"] for i, r in enumerate(runs)],
    ))  # fmt: skip
    print(f"median {rates['median']:.0f} deliveries/s (min {rates['min']:.0f}, max {rates['max']:.0f}), lost {lost}")
    write(
        "throughput",
        {"parameters": {"clients": clients, "sends": sends, "receivers_per_send": clients, "sends_in_flight": concurrency},
         "repeats": repeats, "targets": {"deliveries_per_second": 500, "lost": 0},
         "deliveries_per_second": rates, "cpu_share_of_a_core": shares, "cpu_ms_per_delivery": per_delivery,
         "lost": lost, "runs": runs},
        results_dir(argv),
    )  # fmt: skip
    return 0 if lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
