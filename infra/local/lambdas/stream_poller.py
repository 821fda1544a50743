"""The stream poller: Lambda's DynamoDB event source mapping, locally.

It reads the inbox stream in order and invokes the app's stream handler with
Lambda-shaped batches of at most ``STREAM_BATCH_SIZE`` records (the deployed
mapping's setting), in the tumbling-window events the deployed mapping
hands over: they name the records' shard (`infra.local.lambdas.shards`,
which also models shards that roll over and split), and an answer without
``state`` is a failed invocation, as Lambda takes it. Each shard keeps its
own records, checkpoint and retries: on ``batchItemFailures`` it retries
from the first failed record; on a handler error it halves the batch
(bisect) and retries; after ``STREAM_MAX_RETRY_ATTEMPTS`` it gives the batch
up as the deployed mapping would (to its on-failure queue; here, an error
log line). Records within a shard are never skipped or reordered otherwise.

Polling is adaptive: fast while records flow, backing off to
``max_idle_interval`` when idle, and woken at once by `wake()` (the stack
calls it after every write the app makes).
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config as BotoConfig

from chalicelib.realtime import STREAM_BATCH_SIZE, STREAM_BATCH_WINDOW_SECONDS, STREAM_MAX_RETRY_ATTEMPTS
from chalicelib.storage.stream_records import StreamRecord
from infra.local.faults import FaultPlan
from infra.local.lambdas.loops import WakeableLoop
from infra.local.lambdas.shards import ShardModel, window_event
from infra.local.lambdas.streams import JsonGetRecords, ShardReader

logger = logging.getLogger("inapp.local.poller")

Handler = Callable[[dict[str, Any]], Any]
Record = dict[str, Any]
CHECKPOINTS_KEPT = 4


@dataclass
class _Shard:
    """One shard's records read and not yet handled, in order, and its retries (Lambda keeps each shard's own)."""

    name: str
    generation: int
    records: deque[Record] = field(default_factory=deque)
    size: int = STREAM_BATCH_SIZE  # halved on a function error (bisect), back to full after a success
    attempts: int = 0
    stuck_at: str = ""
    not_before: float = 0.0  # a failed batch waits ``retry_delay`` before its retry

    def batch(self) -> list[Record]:
        return list(itertools.islice(self.records, self.size))

    def handled(self, count: int) -> None:
        """The first ``count`` records are done (succeeded, or given up): the shard's checkpoint moves past them."""
        for _ in range(count):
            self.records.popleft()
        self.attempts, self.size = 0, STREAM_BATCH_SIZE

    def failed_at(self, sequence_number: str, now: float, retry_delay: float) -> bool:
        """A retry from this record is due; False once it failed more than the mapping's retries there.

        Retries count while they fail at the same record: one that got further
        (the records before its failure succeeded) starts counting again.
        """
        self.attempts, self.stuck_at = (
            (self.attempts + 1, self.stuck_at) if sequence_number == self.stuck_at else (1, sequence_number)
        )
        self.not_before = now + retry_delay
        return self.attempts <= STREAM_MAX_RETRY_ATTEMPTS


class StreamPoller(WakeableLoop):
    def __init__(
        self,
        reader: ShardReader,
        handler: Handler,
        *,
        min_interval: float = 0.01,
        max_idle_interval: float = 0.5,
        retry_delay: float = 0.2,
        shards: ShardModel | None = None,
    ) -> None:
        self._reader = reader
        self._model = shards or ShardModel(reader.shard_id)
        self._handler = handler
        self._min = min_interval
        self._max = max_idle_interval
        self._retry_delay = retry_delay
        super().__init__("stream-poller")
        self.batches = 0
        self._shards: dict[str, _Shard] = {}
        self._checkpoints: deque[str] = deque(maxlen=CHECKPOINTS_KEPT)  # first records of recent reads
        self._replay = threading.Event()

    def replay_from_checkpoint(self) -> bool:
        """Restart from a read a few back, as Lambda does after a crash: handled records run again.

        Fault injection only (`infra.local.faults`); False when nothing was read yet.
        """
        if not self._checkpoints:
            return False
        self._replay.set()
        self.wake()
        return True

    def _replay_if_asked(self) -> None:
        """Once every record read is handled (a replay then runs handled records only, in order)."""
        if self._replay.is_set() and self._checkpoints and not self._pending():
            self._replay.clear()
            self._reader.rewind(self._checkpoints[0])

    def _pending(self) -> int:
        return sum(len(shard.records) for shard in self._shards.values())

    def _run(self) -> None:
        interval = self._min
        while not self._stop.is_set():
            try:
                self._replay_if_asked()
                read = self._read() if self._pending() < STREAM_BATCH_SIZE else 0
            except Exception:  # an expired iterator, the emulator restarting: resume from the last record read
                logger.exception("stream read failed")
                self._sleep(self._retry_delay)
                self._resume()
                continue
            if self._invoke_ready() or read:
                interval = self._min
            elif self._pending():  # every shard with records waits out a retry delay
                self._sleep(max(0.0, min(s.not_before for s in self._shards.values() if s.records) - time.monotonic()))
            else:
                self._sleep(interval)
                interval = min(self._max, interval * 2)

    def _read(self) -> int:
        """Read what the stream has into each record's shard; the reader's position moves past it."""
        records = self._reader.read(STREAM_BATCH_SIZE)
        if records and STREAM_BATCH_WINDOW_SECONDS and len(records) < STREAM_BATCH_SIZE:
            self._sleep(STREAM_BATCH_WINDOW_SECONDS)
        self._reader.commit()
        if records:
            self._checkpoints.append(StreamRecord.parse(records[0]).sequence_number)
        for record in records:
            generation, name = self._model.place(record)
            shard = self._shards.get(name) or self._shards.setdefault(name, _Shard(name, generation))
            shard.records.append(record)
        return len(records)

    def _resume(self) -> None:
        try:
            self._reader.resume()
        except Exception:
            logger.exception("stream resume failed")

    def _invoke_ready(self) -> bool:
        """One batch of each shard whose parents are done and whose retry is due; True if any ran.

        A shard's parents are the earlier generation: its children start only
        once every record of it succeeded (or was given up), as Lambda reads a
        child shard. A failing shard holds back nothing else.
        """
        waiting = [shard for shard in self._shards.values() if shard.records]
        for shard in [s for s in self._shards.values() if not s.records]:
            del self._shards[shard.name]  # drained; a later read of its records (a replay) starts it again
        if not waiting:
            return False
        parents = min(shard.generation for shard in waiting)
        due = {s.name: s for s in waiting if s.generation == parents and s.not_before <= time.monotonic()}
        for name in self._model.drawn_order(list(due)):
            if self._stop.is_set():
                break
            self._invoke(due[name])
        return bool(due)

    def _invoke(self, shard: _Shard) -> None:
        """Hand the shard's next batch to the function and move the shard's checkpoint as Lambda would."""
        self.batches += 1
        batch = shard.batch()
        failed = self._invoke_shard(shard.name, batch)
        if failed is not None and not failed:
            shard.handled(len(batch))
            return
        sequence_numbers = [StreamRecord.parse(record).sequence_number for record in batch]
        # The earliest failed record in the shard's order; unknown ids (or an error) retry everything, like Lambda.
        first = next((i for i, number in enumerate(sequence_numbers) if failed and number in failed), 0)
        if failed is None:
            shard.size = max(1, len(batch) // 2)  # bisect on a function error
        elif first:
            shard.handled(first)  # the records before the failed one succeeded
        if not shard.failed_at(sequence_numbers[first], time.monotonic(), self._retry_delay):
            logger.error("batch given up after retries (deployed: sent to the on-failure queue)")
            shard.handled(len(batch) - first)

    def _invoke_shard(self, shard: str, records: list[Record]) -> set[str] | None:
        """The failed records' ids of one shard's batch (an unknown id stands for all), or None for an error."""
        try:
            response = self._handler(window_event(records, shard))
        except Exception:
            if self._stop.is_set():  # the stack stopped during the batch; it was not checkpointed
                logger.info("stream handler stopped with the stack")
            else:
                logger.exception("stream handler failed")
            return None
        if not isinstance(response, dict) or "state" not in response:
            logger.error("stream handler answered no tumbling-window state: Lambda takes it as failed")
            return None
        return {str(f.get("itemIdentifier")) for f in response.get("batchItemFailures") or []}


def inbox_stream_poller(handler: Handler, faults: FaultPlan) -> StreamPoller:
    """The deployed mapping's poller of the inbox table's stream (from its oldest record, as deployed)."""
    from chalicelib.storage.inbox_tables import InboxMessage

    region, endpoint = os.environ["AWS_DEFAULT_REGION"], os.environ["INAPP_DYNAMODB_ENDPOINT"]
    config = BotoConfig(retries={"mode": "standard", "total_max_attempts": 3})
    streams = boto3.client("dynamodbstreams", endpoint_url=endpoint, region_name=region, config=config)
    arn = InboxMessage.describe_table()["LatestStreamArn"]
    fetch = JsonGetRecords(endpoint, region, boto3.Session().get_credentials())
    reader = ShardReader(streams, arn, region, start="TRIM_HORIZON", get_records=fetch)
    split = functools.partial(faults.hit, "split") if faults.shares.get("split") else None
    return StreamPoller(reader, handler, shards=ShardModel(reader.shard_id, split, rollover=faults.rollover))


def wake_on_writes(clients: list[Any], poller: StreamPoller) -> None:
    """Wake the poller right after the app writes to DynamoDB."""
    writes = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}

    def after_call(model: Any, **_: Any) -> None:
        if model.name in writes:
            poller.wake()

    for client in clients:
        client.meta.events.register("after-call.dynamodb", after_call)
