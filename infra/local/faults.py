"""Faults the local stack can inject, as AWS produces them, chosen per run.

``INAPP_FAULTS`` (or ``serve --faults``) is a comma-separated list:

* ``gone=0.02``     — a share of @connections posts: the socket is dropped and the post answers 410
                      (the client vanished; it reconnects and catches up);
* ``throttle=0.03`` — a share answered 429 ``LimitExceededException`` (the account's API Gateway quota);
* ``error=0.01``    — a share answered 500;
* ``delay=0.05``    — a share delayed by ``delay_ms`` (default 200 ms): a slow API Gateway;
* ``dynamodb=0.02`` — a share of the app's DynamoDB requests answered ``ProvisionedThroughputExceededException``
                      (each attempt drawn: botocore retries them, and only a call throttled on
                      every attempt reaches the code);
* ``unprocessed=0.05``, ``conflict=0.05``, ``hotkey=1000`` — DynamoDB's partial batch answers,
                      transaction conflicts and per-partition-key throttling
                      (`infra.local.dynamodb_faults`);
* ``duplicate=0.05`` — a share of asynchronous (``Event``) invocations of ``send`` run twice,
                      as Lambda's queue may deliver them;
* ``split=0.1``     — stream shards roll over every ``rollover`` records (default 1,000), and a share of the
                      rollovers split in two: one user's records then come from two shards, each its own
                      batches (`infra.local.lambdas.shards`);
* ``replay=5``      — every 5 seconds the stream poller restarts from a checkpoint a few batches back, as
                      Lambda does after a crash or a partial batch failure: records that already
                      succeeded run again;
* ``seed=7``        — a fixed random seed.

Each kind counts the calls it could have hit and the hits (`FaultPlan.tally`, the one place
both are counted) and the stack prints both when it stops: ``faults injected: gone=312/15604, …``
(hits/calls), which `figures` reads back.
"""

from __future__ import annotations

import random
import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

POST_FAULTS = ("gone", "throttle", "error", "delay")
DYNAMODB_SHARES = ("dynamodb", "unprocessed", "conflict")
INVOCATION_SHARES = ("duplicate",)
STREAM_SHARES = ("split",)  # drawn at each rollover of the stream's shard (infra/local/lambdas/shards.py)
SHARES = (*POST_FAULTS, *DYNAMODB_SHARES, *INVOCATION_SHARES, *STREAM_SHARES)  # the kinds drawn with a probability, per call
RATES = ("hotkey", "replay")  # the kinds set by a rate or a period: hot-key units per second, seconds between replays
KNOWN = {*SHARES, *RATES, "seed", "delay_ms", "rollover"}
SUMMARY = "faults injected: "


@dataclass
class FaultPlan:
    shares: dict[str, float] = field(default_factory=dict)
    delay_ms: float = 200.0
    rollover: int = 1000  # stream records per generation of shards with ``split`` on
    replay_seconds: float = 0.0
    hot_key_units: float = 0.0  # write units per second and partition key; 0: unlimited, as moto
    calls: Counter[str] = field(default_factory=Counter)  # per kind: the calls it could have hit
    hits: Counter[str] = field(default_factory=Counter)  # per kind: the calls it did hit
    _random: random.Random = field(default_factory=random.Random)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def parse(cls, text: str) -> FaultPlan:
        """``gone=0.02,throttle=0.03,…``; raises ValueError naming a bad entry."""
        plan = cls()
        for entry in filter(None, (part.strip() for part in text.split(","))):
            name, _, raw = entry.partition("=")
            if name not in KNOWN or not raw:
                raise ValueError(f"INAPP_FAULTS: {entry!r} is not one of {', '.join(sorted(KNOWN))} with =value")
            value = float(raw)
            if name == "seed":
                plan._random.seed(int(value))
            elif name == "delay_ms":
                plan.delay_ms = value
            elif name == "rollover":
                plan.rollover = max(1, int(value))
            elif name == "replay":
                plan.replay_seconds = value
            elif name == "hotkey":
                plan.hot_key_units = value
            elif not 0 <= value <= 1:
                raise ValueError(f"INAPP_FAULTS: {name} must be a share from 0 to 1")
            else:
                plan.shares[name] = value
        return plan

    @property
    def active(self) -> bool:
        return bool(self.kinds)

    @property
    def touches_dynamodb(self) -> bool:
        return any(self.shares.get(name) for name in DYNAMODB_SHARES) or self.hot_key_units > 0

    @property
    def kinds(self) -> list[str]:
        """Every kind this plan injects: the shares above 0, then the hot-key limit and the replays if set."""
        rates = {"hotkey": self.hot_key_units, "replay": self.replay_seconds}
        return [name for name in SHARES if self.shares.get(name)] + [name for name in RATES if rates[name] > 0]

    def hit(self, name: str) -> bool:
        """Whether this call meets fault ``name``, drawn from its share (a call it could hit when the share is set)."""
        share = self.shares.get(name, 0.0)
        if not share:
            return False
        with self._lock:
            drawn = self._random.random()
        self.tally(name, drawn < share)
        return drawn < share

    def tally(self, name: str, hit: bool) -> None:
        """Count one call fault ``name`` could have hit, and whether it did: draws, hot-key checks, replay ticks."""
        with self._lock:
            self.calls[name] += 1
            self.hits[name] += hit

    def post_fault(self) -> str | None:
        """Which fault (if any) this @connections post meets."""
        return next((name for name in POST_FAULTS if self.hit(name)), None)

    def on_dynamodb(self, clients: list[Any]) -> None:
        """Hooks on the app's DynamoDB clients: throttling, partial batches, conflicts, hot keys."""
        from infra.local.dynamodb_faults import DynamoFaults

        DynamoFaults(self.hit, self.tally, self.hot_key_units).install(clients)

    def replay_stream(self, replay: Callable[[], bool], stopping: threading.Event) -> threading.Thread:
        """Every ``replay_seconds``, ask the poller to restart from an older checkpoint."""

        def run() -> None:
            while not stopping.wait(self.replay_seconds):
                self.tally("replay", replay())

        thread = threading.Thread(target=run, name="fault-replay", daemon=True)
        thread.start()
        return thread

    def take_counts(self) -> dict[str, tuple[int, int]]:
        """Calls and hits per kind since the last call (a Lambda runtime hands them to the stack with each answer)."""
        with self._lock:
            taken = {name: (self.calls[name], self.hits[name]) for name in self.calls}
            self.calls.clear()
            self.hits.clear()
        return taken

    def add_counts(self, counted: dict[str, tuple[int, int]]) -> None:
        """What a Lambda runtime's own plan counted, added to the stack's."""
        with self._lock:
            for name, (calls, hits) in counted.items():
                self.calls[name] += calls
                self.hits[name] += hits

    def summary(self) -> str:
        """``faults injected: conflict=85/1703, …``: hits/calls per kind."""
        shown = ", ".join(f"{name}={self.hits[name]}/{calls}" for name, calls in sorted(self.calls.items()))
        return SUMMARY + (shown or "none")


def figures(output: str) -> dict[str, tuple[int, int]] | None:
    """Calls and hits per kind from the last `FaultPlan.summary` line in a stack's output; None if it printed none."""
    lines = [line.split(SUMMARY, 1)[1] for line in output.splitlines() if SUMMARY in line]
    if not lines:
        return None
    return {name: (int(calls), int(hits)) for name, hits, calls in re.findall(r"(\w+)=(\d+)/(\d+)", lines[-1])}
