"""Faults the local stack can inject, as AWS produces them, chosen per run.

``INAPP_FAULTS`` (or ``serve --faults``) is a comma-separated list:

* ``gone=0.02``     — a share of @connections posts: the socket is dropped and the post answers 410
                      (the client vanished; it reconnects and catches up);
* ``throttle=0.03`` — a share answered 429 ``LimitExceededException`` (the account's API Gateway quota);
* ``error=0.01``    — a share answered 500;
* ``delay=0.05``    — a share delayed by ``delay_ms`` (default 200 ms): a slow API Gateway;
* ``dynamodb=0.02`` — a share of the app's DynamoDB calls answered ``ProvisionedThroughputExceededException``
                      (botocore retries some; the rest reach the code);
* ``unprocessed=0.05``, ``conflict=0.05``, ``hotkey=1000`` — DynamoDB's partial batch answers,
                      transaction conflicts and per-partition-key throttling
                      (`infra.local.dynamodb_faults`);
* ``duplicate=0.05`` — a share of asynchronous (``Event``) invocations of ``send`` run twice,
                      as Lambda's queue may deliver them;
* ``split=0.1``     — stream shards roll over every 100 records, and a share of the rollovers split in two:
                      one user's records then come from two shards, each its own batches
                      (`infra.local.lambdas.shards`);
* ``replay=5``      — every 5 seconds the stream poller restarts from a checkpoint a few batches back, as
                      Lambda does after a crash or a partial batch failure: records that already
                      succeeded run again;
* ``seed=7``        — a fixed random seed.

What was injected is counted (`FaultPlan.counts`) and printed when the stack stops.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

POST_FAULTS = ("gone", "throttle", "error", "delay")
DYNAMODB_SHARES = ("dynamodb", "unprocessed", "conflict")
KNOWN = {*POST_FAULTS, *DYNAMODB_SHARES, "duplicate", "split", "hotkey", "replay", "seed", "delay_ms"}


@dataclass
class FaultPlan:
    shares: dict[str, float] = field(default_factory=dict)
    delay_ms: float = 200.0
    replay_seconds: float = 0.0
    hot_key_units: float = 0.0  # write units per second and partition key; 0: unlimited, as moto
    counts: Counter[str] = field(default_factory=Counter)
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
        return bool(self.shares) or self.replay_seconds > 0 or self.hot_key_units > 0

    @property
    def touches_dynamodb(self) -> bool:
        return any(self.shares.get(name) for name in DYNAMODB_SHARES) or self.hot_key_units > 0

    def hit(self, name: str) -> bool:
        """Whether this call meets fault ``name`` (drawn from its share; counted when it does)."""
        share = self.shares.get(name, 0.0)
        with self._lock:
            if share and self._random.random() < share:
                self.counts[name] += 1
                return True
        return False

    def post_fault(self) -> str | None:
        """Which fault (if any) this @connections post meets."""
        return next((name for name in POST_FAULTS if self.hit(name)), None)

    def on_dynamodb(self, clients: list[Any]) -> None:
        """Hooks on the app's DynamoDB clients: throttling, partial batches, conflicts, hot keys."""
        from infra.local.dynamodb_faults import DynamoFaults

        DynamoFaults(self.hit, self._count, self.hot_key_units).install(clients)

    def _count(self, name: str) -> None:
        with self._lock:
            self.counts[name] += 1

    def replay_stream(self, replay: Callable[[], bool], stopping: threading.Event) -> threading.Thread:
        """Every ``replay_seconds``, ask the poller to restart from an older checkpoint."""

        def run() -> None:
            while not stopping.wait(self.replay_seconds):
                if replay():
                    self._count("replay")

        thread = threading.Thread(target=run, name="fault-replay", daemon=True)
        thread.start()
        return thread

    def take_counts(self) -> dict[str, int]:
        """What was injected since the last call (a Lambda runtime hands it to the stack with each answer)."""
        with self._lock:
            taken = dict(self.counts)
            self.counts.clear()
        return taken

    def add_counts(self, injected: dict[str, int]) -> None:
        """What a Lambda runtime's own plan injected, counted with the stack's."""
        with self._lock:
            self.counts.update(injected)

    def summary(self) -> str:
        return "faults injected: " + (", ".join(f"{name}={count}" for name, count in sorted(self.counts.items())) or "none")
