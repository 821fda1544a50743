"""Which shard each stream record comes from, and the tumbling-window event Lambda hands the function.

moto's stream has one shard per table, forever. DynamoDB Streams ends a
shard every few hours (its child takes the next records: a rollover), and
when a partition splits, two children take them, read at the same time:
one user's records then come from two shards, and nothing orders one
shard's records against the other's. Only each item's records stay in one
shard lineage, parents before children.

`ShardModel` models that over moto's one shard: with ``split=`` on
(`infra.local.faults`), every ``rollover`` records the current
shards end, and the next records go to one child, or (with the fault's
share) two, by their item's key. A record's shard is decided the first time
the poller reads it and kept, so a retried record comes from the same
shard. The poller keeps each shard's records, position and retries apart,
as Lambda does: a failing shard holds back its children only, never its
sibling. It runs siblings in a drawn order (Lambda runs them at once; the
local runtime runs one invocation at a time), and a child only once its
parents' records all succeeded.

Lambda names the shard only in a tumbling window's events, which the
deployed mapping has for that reason; `window_event` is that shape.
"""

from __future__ import annotations

import json
import random
import zlib
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

ROLLOVER_RECORDS = 1000  # records per generation of shards (AWS: hours; short here, so a run sees many)
REMEMBERED = 200_000  # records whose shard is kept for retries (far more than a batch and its replays)
WINDOW = {"start": "1970-01-01T00:00:00Z", "end": "1970-01-01T00:15:00Z"}

Record = dict[str, Any]


def window_event(records: list[Record], shard: str) -> dict[str, Any]:
    """The event of a mapping with a tumbling window: its records, their shard, and the (empty) state."""
    return {
        "Records": records,
        "shardId": shard,
        "window": dict(WINDOW),
        "state": {},
        "isFinalInvokeForWindow": False,
        "isWindowTerminatedEarly": False,
    }


class ShardModel:
    """Each record's shard: moto's one, or with splits on, generations of one or two shards."""

    def __init__(self, base: str, split: Callable[[], bool] | None = None, seed: int | None = None, rollover: int = 0) -> None:
        self._base = base
        self._rollover = rollover or ROLLOVER_RECORDS
        self._split = split  # drawn at each rollover: does the next generation have two shards?
        self._random = random.Random(seed)
        self._generation, self._ways, self._fresh = 0, 1, 0
        self._seen: OrderedDict[str, tuple[int, int]] = OrderedDict()

    def place(self, record: Record) -> tuple[int, str]:
        """The record's generation and shard, decided the first time it is read and kept for its retries."""
        if self._split is None:
            return 0, self._base
        generation, way = self._shard_of(record)
        return generation, f"{self._base}-{generation:05d}-{way}"

    def drawn_order(self, shards: list[str]) -> list[str]:
        """Siblings in a drawn order: Lambda runs them at once, the local runtime one after the other."""
        return sorted(shards, key=lambda _: self._random.random())

    def _shard_of(self, record: Record) -> tuple[int, int]:
        sequence = str(record["dynamodb"]["SequenceNumber"])
        known = self._seen.get(sequence)
        if known is not None:
            return known
        if self._fresh == self._rollover:
            assert self._split is not None
            self._generation, self._ways, self._fresh = self._generation + 1, 2 if self._split() else 1, 0
        self._fresh += 1
        key = json.dumps(record["dynamodb"]["Keys"], sort_keys=True).encode()
        shard = self._generation, zlib.crc32(key) % self._ways
        self._seen[sequence] = shard
        if len(self._seen) > REMEMBERED:
            self._seen.popitem(last=False)
        return shard
