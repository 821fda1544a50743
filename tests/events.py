"""Event factories: what API Gateway and Lambda hand the app's handlers, in their documented shapes."""

from __future__ import annotations

import json
import time
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from typing import Any

TTL_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


def ws_event(route: str, connection_id: str, *, token: str | None = None, body: str | None = None) -> dict[str, Any]:
    """An API Gateway WebSocket event of the documented shape."""
    event_type = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route, "MESSAGE")
    event: dict[str, Any] = {
        "requestContext": {
            "routeKey": route,
            "eventType": event_type,
            "connectionId": connection_id,
            "connectedAt": int(time.time() * 1000) - 60_000,
            "requestTimeEpoch": int(time.time() * 1000),
            "requestId": f"req-{connection_id}",
            "messageId": None if event_type != "MESSAGE" else f"msg-{connection_id}",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "stage": "api",
            "apiId": "abc123",
            "extendedRequestId": f"ext-{connection_id}",
            "messageDirection": "IN",
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "isBase64Encoded": False,
    }
    if route == "$connect":
        event["headers"] = {"Host": "abc123.execute-api.us-east-1.amazonaws.com", "Sec-WebSocket-Version": "13"}
        event["queryStringParameters"] = {"token": token} if token is not None else None
    if body is not None:
        event["body"] = body
    return event


class StreamTap:
    """Lambda-shaped batches of what moto's inbox stream really recorded."""

    def __init__(self) -> None:
        import boto3

        from chalicelib.storage.inbox_tables import InboxMessage
        from infra.local.lambdas.streams import ShardReader

        arn = InboxMessage.describe_table()["LatestStreamArn"]
        self.reader = ShardReader(boto3.client("dynamodbstreams", region_name="us-east-1"), arn, "us-east-1")

    def batch(self, limit: int = 1000) -> dict[str, Any]:
        records = self.reader.read(limit)
        self.reader.commit()
        return {"Records": records}


class ShardMap:
    """Which shard each stream record came from, as DynamoDB Streams may have it (moto has one shard).

    A shard ends every few hours and its child goes on; when a partition
    splits (a hot user's items among them), two children go on at once and
    one user's records come from both, read at the same time. Every item's
    records stay in one shard lineage, in order. Here each split or rollover
    starts an epoch of ``ways`` shards from the next record on; the items
    of an epoch take turns in its shards, in the order they first change
    (not by a hash of their random ids: hypothesis replays a failing case
    the same way). A record's shard is decided the first time any reader
    sees it, so the deliveries and the counts keeper agree.
    """

    def __init__(self) -> None:
        self.epoch, self.ways = 0, 1
        self._seen: dict[str, tuple[int, int]] = {}
        self._items: dict[str, int] = {}  # the epoch's items, each with its shard

    def roll_over(self, ways: int) -> None:
        """The current shards end; ``ways`` children (1: a rollover, 2: a split) take the next records."""
        self.epoch, self.ways, self._items = self.epoch + 1, ways, {}

    def batches(self, records: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
        """The records by shard: parents before children, and of two siblings the later one first (they run at once)."""
        groups: dict[tuple[int, int], list[dict[str, Any]]] = {}
        for record in records:
            groups.setdefault(self._shard(record), []).append(record)
        order = sorted(groups, key=lambda shard: (shard[0], -shard[1]))
        return [(f"shardId-{epoch:04d}-{way}", groups[(epoch, way)]) for epoch, way in order]

    def _shard(self, record: dict[str, Any]) -> tuple[int, int]:
        sequence = record["dynamodb"]["SequenceNumber"]
        if sequence not in self._seen:
            key = json.dumps(record["dynamodb"]["Keys"], sort_keys=True)
            way = self._items.setdefault(key, len(self._items) % self.ways)
            self._seen[sequence] = (self.epoch, way)
        return self._seen[sequence]


class CountsKeeper:
    """What the stream handler does first, on demand: the stream's records so far applied to the counts.

    Counts follow the stream, so a test reading them right after a write
    first lets the stream catch up (the local stack's poller does this
    continuously). Frames are left to the tests that deliver on purpose;
    the counts they apply again are refused by the shard's guard, so both
    must take each record as coming from the same shard (``shards``).
    """

    def __init__(self, shards: ShardMap | None = None, ttl_deleted: Collection[tuple[str, str]] = ()) -> None:
        self._tap: StreamTap | None = None
        self._shards = shards
        self._ttl_deleted = ttl_deleted  # the items a test deleted as TTL would: their REMOVEs say so

    def catch_up(self) -> None:
        from chalicelib import counts
        from chalicelib.storage.stream_records import StreamRecord

        self._tap = self._tap or StreamTap()
        records = as_ttl_deletions(self._tap.batch(100_000), self._ttl_deleted)["Records"]
        for shard, part in self._shards.batches(records) if self._shards else [(counts.ANY_SHARD, records)]:
            changes = counts.changes_from([StreamRecord.parse(r) for r in part], shard)
            with ThreadPoolExecutor(max_workers=8) as pool:  # the path `deliver` runs, with no frames to post
                # One attempt: a counts update that needs a second one is a failure here, not something to retry away.
                _, failed = counts.apply(
                    changes, list(changes), lambda user, stored: None, counts_pool=pool, then_pool=pool, attempts=1
                )
            assert not failed, "counts could not be applied"


def as_ttl_deletions(batch: dict[str, Any], keys: Collection[tuple[str, str]] | None = None) -> dict[str, Any]:
    """Mark every REMOVE of a batch (or of the items ``keys`` only) as DynamoDB's TTL would (moto's own deletes carry
    no identity; the app's deletes count themselves, and the stream counts only TTL's)."""
    for record in batch["Records"]:
        item = record["dynamodb"]["Keys"]
        if record["eventName"] == "REMOVE" and (keys is None or (item["userId"]["S"], item["id"]["S"]) in keys):
            record["userIdentity"] = dict(TTL_IDENTITY)
    return batch


def send_body(**fields: Any) -> dict[str, Any]:
    """A ``POST /messages`` body on the ``news`` channel (the `channel` fixture's) to ``u1``, with ``fields`` over it."""
    return {"channel": "news", "receivers": ["u1"], "title": "Hello", **fields}
