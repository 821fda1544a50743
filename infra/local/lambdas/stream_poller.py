"""The stream poller: Lambda's DynamoDB event source mapping, locally.

It reads the inbox stream in order and invokes the app's stream handler with
Lambda-shaped batches of at most ``STREAM_BATCH_SIZE`` records (the deployed
mapping's setting), in the tumbling-window events the deployed mapping
hands over: they name the records' shard (`infra.local.lambdas.shards`,
which also models shards that roll over and split), and an answer without
``state`` is a failed invocation, as Lambda takes it. On
``batchItemFailures`` it re-reads from the first failed record; on a
handler error it halves the batch (bisect) and retries;
after ``STREAM_MAX_RETRY_ATTEMPTS`` it gives the batch up as the deployed
mapping would (to its on-failure queue; here, an error log line). Records
within the shard are never skipped or reordered otherwise.

Polling is adaptive: fast while records flow, backing off to
``max_idle_interval`` when idle, and woken at once by `wake()` (the stack
calls it after every write the app makes).
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config as BotoConfig

from chalicelib.realtime.delivery import STREAM_BATCH_SIZE, STREAM_BATCH_WINDOW_SECONDS, STREAM_MAX_RETRY_ATTEMPTS
from chalicelib.storage.stream_records import StreamRecord
from infra.local.faults import FaultPlan
from infra.local.lambdas.loops import WakeableLoop
from infra.local.lambdas.shards import ShardModel, window_event
from infra.local.lambdas.streams import JsonGetRecords, ShardReader

logger = logging.getLogger("inapp.local.poller")

Handler = Callable[[dict[str, Any]], Any]
CHECKPOINTS_KEPT = 4


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
        self._shards = shards or ShardModel(reader.shard_id)
        self._handler = handler
        self._min = min_interval
        self._max = max_idle_interval
        self._retry_delay = retry_delay
        super().__init__("stream-poller")
        self.batches = 0
        self._checkpoints: deque[str] = deque(maxlen=CHECKPOINTS_KEPT)  # first records of recent batches
        self._replay = threading.Event()

    def replay_from_checkpoint(self) -> bool:
        """Restart from a batch a few back, as Lambda does after a crash: handled records run again.

        Fault injection only (`infra.local.faults`); False when nothing was handled yet.
        """
        if not self._checkpoints:
            return False
        self._replay.set()
        self.wake()
        return True

    def _replay_if_asked(self) -> None:
        if self._replay.is_set() and self._checkpoints:
            self._replay.clear()
            self._reader.rewind(self._checkpoints[0])

    def _run(self) -> None:
        interval = self._min
        batch_size = STREAM_BATCH_SIZE
        attempts, stuck_at = 0, ""
        while not self._stop.is_set():
            try:
                self._replay_if_asked()
                records = self._reader.read(batch_size)
            except Exception:  # an expired iterator, the emulator restarting: resume from the last handled record
                logger.exception("stream read failed")
                self._sleep(self._retry_delay)
                self._resume()
                continue
            if not records:
                self._reader.commit()
                self._sleep(interval)
                interval = min(self._max, interval * 2)
                continue
            interval = self._min
            if STREAM_BATCH_WINDOW_SECONDS and len(records) < batch_size:
                self._sleep(STREAM_BATCH_WINDOW_SECONDS)
            failed = self._invoke(records)
            if failed is None:
                self._checkpoints.append(StreamRecord.parse(records[0]).sequence_number)
                self._reader.commit()
                attempts, batch_size = 0, STREAM_BATCH_SIZE
                continue
            # Retries count while they fail at the same record: one that got further (the records before its
            # failure succeeded: Lambda's checkpoint moved) starts counting again.
            where = failed or StreamRecord.parse(records[0]).sequence_number
            attempts, stuck_at = (attempts + 1, stuck_at) if where == stuck_at else (1, where)
            if attempts > STREAM_MAX_RETRY_ATTEMPTS:
                logger.error("batch given up after retries (deployed: sent to the on-failure queue)")
                self._reader.commit()
                attempts, batch_size = 0, STREAM_BATCH_SIZE
                continue
            if failed == "":
                batch_size = max(1, len(records) // 2)  # bisect on a function error
                failed = StreamRecord.parse(records[0]).sequence_number
            self._reader.rewind(failed)
            self._sleep(self._retry_delay)

    def _resume(self) -> None:
        try:
            self._reader.resume()
        except Exception:
            logger.exception("stream resume failed")

    def _invoke(self, records: list[dict[str, Any]]) -> str | None:
        """None when the batch succeeded, the first failed sequence number, or "" for an error.

        Each shard's part is one invocation; a generation's children run only
        once every part of their parents succeeded, as Lambda reads a child shard.
        """
        self.batches += 1
        failed: set[str] = set()
        for generation in self._shards.generations(records):
            for shard, part in generation:
                answer = self._invoke_shard(shard, part)
                if answer is None:
                    return ""
                failed |= answer
            if failed:
                break
        if not failed:
            return None
        sequence_numbers = [StreamRecord.parse(record).sequence_number for record in records]
        for sequence_number in sequence_numbers:  # the earliest failed record, in stream order
            if sequence_number in failed:
                return sequence_number
        return sequence_numbers[0]  # unknown ids: retry everything, like Lambda

    def _invoke_shard(self, shard: str, records: list[dict[str, Any]]) -> set[str] | None:
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
    return StreamPoller(reader, handler, shards=ShardModel(reader.shard_id, split))


def wake_on_writes(clients: list[Any], poller: StreamPoller) -> None:
    """Wake the poller right after the app writes to DynamoDB."""
    writes = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}

    def after_call(model: Any, **_: Any) -> None:
        if model.name in writes:
            poller.wake()

    for client in clients:
        client.meta.events.register("after-call.dynamodb", after_call)
