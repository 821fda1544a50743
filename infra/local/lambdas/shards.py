"""Which shard each stream record comes from, and the tumbling-window event Lambda hands the function.

moto's stream has one shard per table, forever. DynamoDB Streams ends a
shard every few hours (its child takes the next records: a rollover), and
when a partition splits, two children take them, read at the same time:
one user's records then come from two shards, and nothing orders one
shard's records against the other's. Only each item's records stay in one
shard lineage, parents before children.

`ShardModel` models that over moto's one shard: with ``split=`` on
(`infra.local.faults`), every ``ROLLOVER_RECORDS`` records the current
shards end, and the next records go to one child, or (with the fault's
share) two, by their item's key. A record's shard is decided the first time
the poller reads it and kept, so a retried record comes from the same
shard. `generations` splits what the poller read into each shard's
batch, parents first and siblings in a drawn order (Lambda runs them at
once; the local runtime runs one invocation at a time). The poller runs a
child only once its parent's records all succeeded.

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

ROLLOVER_RECORDS = 100  # records per generation of shards (AWS: hours; short here, so a run sees many)
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

    def __init__(self, base: str, split: Callable[[], bool] | None = None, seed: int | None = None) -> None:
        self._base = base
        self._split = split  # drawn at each rollover: does the next generation have two shards?
        self._random = random.Random(seed)
        self._generation, self._ways, self._fresh = 0, 1, 0
        self._seen: OrderedDict[str, tuple[int, int]] = OrderedDict()

    def generations(self, records: list[Record]) -> list[list[tuple[str, list[Record]]]]:
        """Each shard's records in stream order, by generation (parents first); siblings in a drawn order."""
        if self._split is None:
            return [[(self._base, records)]] if records else []
        groups: dict[tuple[int, int], list[Record]] = {}
        for record in records:
            groups.setdefault(self._shard_of(record), []).append(record)
        generations: dict[int, list[tuple[str, list[Record]]]] = {}
        for generation, way in sorted(groups, key=lambda shard: (shard[0], self._random.random())):
            shard = f"{self._base}-{generation:05d}-{way}"
            generations.setdefault(generation, []).append((shard, groups[(generation, way)]))
        return list(generations.values())

    def _shard_of(self, record: Record) -> tuple[int, int]:
        sequence = str(record["dynamodb"]["SequenceNumber"])
        known = self._seen.get(sequence)
        if known is not None:
            return known
        if self._fresh == ROLLOVER_RECORDS:
            assert self._split is not None
            self._generation, self._ways, self._fresh = self._generation + 1, 2 if self._split() else 1, 0
        self._fresh += 1
        key = json.dumps(record["dynamodb"]["Keys"], sort_keys=True).encode()
        shard = self._generation, zlib.crc32(key) % self._ways
        self._seen[sequence] = shard
        if len(self._seen) > REMEMBERED:
            self._seen.popitem(last=False)
        return shard
