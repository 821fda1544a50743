"""The local stream poller keeps Lambda's order and retry semantics."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.local.lambdas import shards
from infra.local.lambdas.shards import ShardModel
from infra.local.lambdas.stream_poller import StreamPoller
from infra.local.lambdas.streams import ShardReader


@pytest.fixture
def table() -> Iterator[tuple[Any, ShardReader]]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        streams = boto3.client("dynamodbstreams", region_name="us-east-1")
        yield client, ShardReader(streams, _stream_table(client), "us-east-1", start="LATEST")


def _stream_table(client: Any) -> str:
    """Table ``t`` (hash key ``pk``) with a NEW_AND_OLD_IMAGES stream; its stream's ARN."""
    description = client.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    return str(description["LatestStreamArn"])


class Handler:
    """Fails the records named in ``fail`` a given number of times."""

    def __init__(self, fail: dict[str, int] | None = None, raise_times: int = 0, expect: int = 0, stateless: int = 0) -> None:
        self.fail = dict(fail or {})
        self.raise_times = raise_times
        self.expect = expect  # records (key, n) to see handled before `done` (0: done once k9 is)
        self.stateless = stateless  # answers without a tumbling window's state to give first
        self.handled: set[tuple[str, str]] = set()
        self.batches: list[list[str]] = []
        self.shards: list[str] = []  # each batch's shard
        self.done = threading.Event()

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        keys = [r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]]
        self.batches.append(keys)
        self.shards.append(event["shardId"])
        assert all(
            r["eventSourceARN"] and isinstance(r["dynamodb"]["ApproximateCreationDateTime"], int) for r in event["Records"]
        )
        if self.raise_times:
            self.raise_times -= 1
            raise RuntimeError("handler crashed")
        failures = []
        for record, key in zip(event["Records"], keys, strict=True):
            if self.fail.get(key, 0) > 0:
                self.fail[key] -= 1
                failures.append({"itemIdentifier": record["dynamodb"]["SequenceNumber"]})
        if self.stateless:
            self.stateless -= 1
            return {"batchItemFailures": failures}
        failed = {f["itemIdentifier"] for f in failures}
        for key, record in zip(keys, event["Records"], strict=True):
            if record["dynamodb"]["SequenceNumber"] not in failed:
                self.handled.add((key, record["dynamodb"]["NewImage"].get("n", {}).get("N", "")))
        if (len(self.handled) >= self.expect) if self.expect else ("k9" in keys and not failures):
            self.done.set()
        return {"batchItemFailures": failures, "state": {}}  # a tumbling window's invocation answers its state


def _run(table: tuple[Any, ShardReader], handler: Handler, model: ShardModel | None = None, puts: int = 10) -> None:
    client, reader = table
    poller = StreamPoller(reader, handler, retry_delay=0.01, max_idle_interval=0.05, shards=model)
    for i in range(puts):
        client.put_item(TableName="t", Item={"pk": {"S": f"k{i % 10}"}, "n": {"N": str(i)}})
    poller.start()
    try:
        assert handler.done.wait(10)
    finally:
        poller.stop()


def _delivered_in_order(batches: list[list[str]]) -> list[str]:
    """Keys in the order they were last handed over; a retry re-sends from the failed one."""
    seen: list[str] = []
    for batch in batches:
        first = batch[0]
        if first in seen:
            seen = seen[: seen.index(first)]
        seen += batch
    return seen


def test_batch_item_failure_retries_from_the_first_failed_record(table: Any) -> None:
    handler = Handler(fail={"k4": 2})
    _run(table, handler)
    assert handler.batches[0] == [f"k{i}" for i in range(10)]
    assert handler.batches[1][0] == "k4" and handler.batches[2][0] == "k4"
    assert _delivered_in_order(handler.batches) == [f"k{i}" for i in range(10)]


def test_every_batch_names_its_shard_and_an_answer_without_state_is_a_failure(table: Any) -> None:
    """Lambda names the shard only in a tumbling window's events, and takes an answer without state as failed."""
    handler = Handler(stateless=2)
    _run(table, handler)
    assert set(handler.shards) == {table[1].shard_id}
    assert [len(b) for b in handler.batches[:3]] == [10, 5, 2]  # retried (bisected) like an error
    assert _delivered_in_order(handler.batches) == [f"k{i}" for i in range(10)]


def test_split_shards_keep_each_items_order_and_run_children_after_their_parents(
    table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The split fault: one stream's records from generations of one or two shards, as DynamoDB Streams has them."""
    monkeypatch.setattr(shards, "ROLLOVER_RECORDS", 6)
    handler = Handler(fail={"k3": 1}, expect=40)
    draws = iter([True, False, True, True, True, True])
    _run(table, handler, ShardModel(table[1].shard_id, lambda: next(draws), seed=3), puts=40)
    generations = [int(shard.split("-")[-2]) for shard in handler.shards]
    assert generations == sorted(generations)  # a child runs only once its parents are done
    siblings = {g: {s for s, n in zip(handler.shards, generations, strict=True) if n == g} for g in generations}
    assert any(len(shards_of_one) == 2 for shards_of_one in siblings.values())  # a split generation ran
    shard_of: dict[str, set[str]] = {}
    for shard, generation, batch in zip(handler.shards, generations, handler.batches, strict=True):
        for key in batch:
            shard_of.setdefault(f"{key}@{generation}", set()).add(shard)
    assert all(len(found) == 1 for found in shard_of.values())  # an item's records of one generation: one shard
    assert handler.handled == {(f"k{i % 10}", str(i)) for i in range(40)}  # every record handed over, none lost


def test_a_failing_shard_retries_alone_and_holds_back_only_its_children(table: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Lambda keeps each shard's checkpoint: a record failing in one shard is retried in that shard only.

    Found by ``make chaos`` with split shards: one position for every shard
    re-read a failed record's siblings too, so every failure anywhere redid
    later shards' work and the poller fell ever further behind.
    """
    monkeypatch.setattr(shards, "ROLLOVER_RECORDS", 4)
    handler = Handler(fail={"k5": 2})
    _run(table, handler, ShardModel(table[1].shard_id, lambda: True, seed=3))
    by_shard = dict(zip(handler.shards, handler.batches, strict=False))
    failing = next(shard for shard, keys in by_shard.items() if "k5" in keys)
    sibling = next(shard for shard in by_shard if shard != failing and shard.split("-")[-2] == failing.split("-")[-2])
    handed = [key for shard, keys in zip(handler.shards, handler.batches, strict=True) if shard == sibling for key in keys]
    assert handed and len(handed) == len(set(handed))  # the sibling's records, each handed over once
    assert [keys for shard, keys in zip(handler.shards, handler.batches, strict=True) if shard == failing][-1][0] == "k5"
    retried_last = max(i for i, keys in enumerate(handler.batches) if "k5" in keys)
    children = [i for i, keys in enumerate(handler.batches) if {"k8", "k9"} & set(keys)]
    assert children and min(children) > retried_last  # the next generation waited for k5


def test_handler_error_bisects_and_retries_without_skipping(table: Any) -> None:
    handler = Handler(raise_times=2)
    _run(table, handler)
    assert [len(b) for b in handler.batches[:3]] == [10, 5, 2]
    assert _delivered_in_order(handler.batches) == [f"k{i}" for i in range(10)]


def test_idle_poller_backs_off_and_wakes(table: Any) -> None:
    client, reader = table
    handler = Handler()
    poller = StreamPoller(reader, handler, max_idle_interval=5.0)
    poller.start()
    try:
        time.sleep(0.5)  # idle: the interval has grown well past the wake-up below
        client.put_item(TableName="t", Item={"pk": {"S": "k9"}})
        started = time.monotonic()
        poller.wake()
        assert handler.done.wait(2)
        assert time.monotonic() - started < 1.0
    finally:
        poller.stop()


def test_pruning_keeps_only_the_newest_iterators(table: Any) -> None:
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    from infra.local.moto.server import prune_iterators

    _, reader = table
    for _ in range(50):
        reader.read(10)
        reader.commit()
    newest = reader.iterator
    prune_iterators(dynamodbstreams_backends, keep=5)
    stored = [arn for account in dynamodbstreams_backends.values() for b in account.values() for arn in b.shard_iterators]
    assert len(stored) == 5 and newest in stored


def test_poller_resumes_after_its_iterator_is_pruned(table: Any) -> None:
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    from infra.local.moto.server import prune_iterators

    client, reader = table
    handler = Handler()
    poller = StreamPoller(reader, handler, retry_delay=0.01, max_idle_interval=0.02)
    poller.start()
    try:
        client.put_item(TableName="t", Item={"pk": {"S": "k0"}})
        deadline = time.monotonic() + 5
        while not handler.batches and time.monotonic() < deadline:
            time.sleep(0.01)
        prune_iterators(dynamodbstreams_backends, keep=0)  # even the poller's current iterator
        client.put_item(TableName="t", Item={"pk": {"S": "k9"}})
        assert handler.done.wait(10)
    finally:
        poller.stop()
    assert [key for batch in handler.batches for key in batch] == ["k0", "k9"]


def test_the_json_get_records_reads_what_botocore_reads_from_the_emulator() -> None:
    """The local stack's GetRecords without botocore's parser: the same Lambda-shaped records, and errors raise."""
    from infra.local.lambdas.streams import JsonGetRecords
    from infra.local.moto.server import EmbeddedDynamoDB

    emulator = EmbeddedDynamoDB()
    emulator.start()
    try:
        options = {"endpoint_url": emulator.endpoint, "region_name": "us-east-1"}
        client = boto3.client("dynamodb", **options)
        arn = _stream_table(client)
        for n in range(3):
            item = {"pk": {"S": f"k{n}"}, "n": {"N": str(n)}, "b": {"B": b"\x00\xff"}, "ss": {"SS": ["a", "b"]}}
            client.put_item(TableName="t", Item=item)
        client.update_item(TableName="t", Key={"pk": {"S": "k0"}}, UpdateExpression="REMOVE ss")
        client.delete_item(TableName="t", Key={"pk": {"S": "k1"}})
        streams = boto3.client("dynamodbstreams", **options)
        fetch = JsonGetRecords(emulator.endpoint, "us-east-1", boto3.Session().get_credentials())
        by_botocore, by_json = ShardReader(streams, arn, "us-east-1"), ShardReader(streams, arn, "us-east-1", get_records=fetch)
        botocore_records, json_records = by_botocore.read(1000), by_json.read(1000)
        assert [r["eventName"] for r in json_records] == ["INSERT", "INSERT", "INSERT", "MODIFY", "REMOVE"]
        for record in botocore_records:  # botocore decodes binary values; the wire (and Lambda's event) keeps base64
            for image in ("Keys", "NewImage", "OldImage"):
                if "b" in record["dynamodb"].get(image, {}):
                    record["dynamodb"][image]["b"] = {"B": "AP8="}
        assert json_records == botocore_records
        with pytest.raises(RuntimeError, match="GetRecords answered 500"):  # moto's answer to an unknown iterator
            fetch(ShardIterator="not-an-iterator", Limit=10)
        assert fetch(ShardIterator=by_json.next_iterator or "", Limit=10)["Records"] == []  # the connection still serves
    finally:
        emulator.stop()


def test_a_batch_beyond_a_thousand_records_is_read_in_pages_in_order() -> None:
    """DynamoDB Streams answers at most 1,000 records a call and Lambda's batches go to 10,000: the reader chains pages."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        streams = boto3.client("dynamodbstreams", region_name="us-east-1")
        arn = _stream_table(client)
        limits: list[int] = []

        def get_records(**kwargs: Any) -> dict[str, Any]:
            limits.append(kwargs["Limit"])
            return dict(streams.get_records(**kwargs))

        reader = ShardReader(streams, arn, "us-east-1", get_records=get_records)
        for n in range(2100):
            client.put_item(TableName="t", Item={"pk": {"S": f"k{n:04d}"}})
        batch = reader.read(2500)
        assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in batch] == [f"k{n:04d}" for n in range(2100)]
        assert limits == [1000, 1000, 500]  # the third page came back short: nothing more for now
        reader.commit()
        limits.clear()
        client.put_item(TableName="t", Item={"pk": {"S": "next"}})
        assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in reader.read(2500)] == ["next"]
        assert limits == [1000]


def test_retries_that_get_further_each_time_are_never_given_up(table: Any) -> None:
    """Found by make chaos with split shards: a batch failing at a later record each time (its shards' parts
    failing in turn) counted every retry toward the limit, was given up, and the rest of it was never delivered."""

    class OneFailurePerTry(Handler):
        """Fails one record a try, the first of k1…k8 not failed before: every try gets one record further."""

        def __init__(self) -> None:
            super().__init__()
            self.failed_once: set[str] = set()

        def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
            keys = [r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]]
            due = next((k for k in keys if k in {f"k{i}" for i in range(1, 9)} - self.failed_once), None)
            self.fail = {due: 1} if due else {}
            self.failed_once |= {due} if due else set()
            return super().__call__(event)

    handler = OneFailurePerTry()
    _run(table, handler)
    assert len(handler.batches) == 9  # eight retries, each from the record that failed, none given up
    assert _delivered_in_order(handler.batches) == [f"k{i}" for i in range(10)]
