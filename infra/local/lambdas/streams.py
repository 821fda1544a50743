"""Reading a DynamoDB stream the way Lambda's event source mapping does.

moto's ``GetRecords`` differs from what Lambda hands a function: records lack
``eventSourceARN`` and carry ``ApproximateCreationDateTime`` as a datetime.
`to_lambda_record` fixes both, so the app's stream handler sees the deployed
shape. `ShardReader` keeps the position in one shard (moto has one per
table) and only moves it when told, so a failed batch is read again.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from chalicelib.realtime.http_pool import ConnectionPool
from chalicelib.realtime.sigv4 import PostSigner

GET_RECORDS_TARGET = "DynamoDBStreams_20120810.GetRecords"
GET_RECORDS_LIMIT = 1000  # DynamoDB Streams' most records per GetRecords


def to_lambda_record(record: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """One GetRecords record in the shape Lambda delivers it."""
    data = dict(record["dynamodb"])
    created = data.get("ApproximateCreationDateTime")
    if isinstance(created, dt.datetime):
        data["ApproximateCreationDateTime"] = int(created.timestamp())
    elif isinstance(created, float):  # the wire's epoch seconds (`JsonGetRecords`)
        data["ApproximateCreationDateTime"] = int(created)
    shaped = {
        "eventID": record.get("eventID"),
        "eventName": record["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion") or region,
        "dynamodb": data,
        "eventSourceARN": stream_arn,
    }
    if "userIdentity" in record:  # TTL deletions carry the DynamoDB service's identity
        shaped["userIdentity"] = record["userIdentity"]
    return shaped


class JsonGetRecords:
    """``GetRecords`` on a keep-alive connection to the emulator, its JSON answer taken as it is.

    The answer is already in the shape Lambda hands a function (bar the
    two fields `to_lambda_record` fixes), so botocore's model-driven parser
    (about a third of the poller's CPU under load) has nothing to add. The
    poller is one thread: a pool of one connection (`chalicelib.realtime.http_pool`).
    """

    def __init__(self, endpoint: str, region: str, credentials: Any, timeout: float = 10.0) -> None:
        self._signer = PostSigner(endpoint, region, credentials, service="dynamodb")
        self._pool = ConnectionPool(endpoint, size=1, timeout=timeout)

    def __call__(self, *, ShardIterator: str, Limit: int) -> dict[str, Any]:  # noqa: N803 (botocore's names)
        body = json.dumps({"ShardIterator": ShardIterator, "Limit": Limit}).encode()
        headers = {**self._signer.headers("/", body), "X-Amz-Target": GET_RECORDS_TARGET}
        status, raw = self._pool.exchange("/", body, headers)
        if status != 200:  # an expired or unknown iterator: the poller resumes from its last record
            raise RuntimeError(f"GetRecords answered {status}: {raw[:200]!r}")
        return dict(json.loads(raw))


class ShardReader:
    """Reads one shard in order, moving on only when told (``commit``) — like Lambda's poller.

    ``read`` returns the next records and remembers where the following read
    would start; ``commit`` moves there, ``rewind`` re-reads from a given
    record (the first one a batch reported as failed).
    """

    def __init__(
        self,
        streams_client: Any,
        stream_arn: str,
        region: str,
        start: str = "TRIM_HORIZON",
        get_records: Callable[..., dict[str, Any]] | None = None,
    ) -> None:
        self._client = streams_client
        self._get_records = get_records or streams_client.get_records
        self.stream_arn = stream_arn
        self._region = region
        description = streams_client.describe_stream(StreamArn=stream_arn)["StreamDescription"]
        self.shard_id = str(description["Shards"][0]["ShardId"])
        self._start = start
        self.iterator = self._iterator(ShardIteratorType=start)
        self.next_iterator: str | None = None
        self.position: str | None = None  # the last record handled
        self._pending: str | None = None

    def _iterator(self, **kwargs: str) -> str:
        response = self._client.get_shard_iterator(StreamArn=self.stream_arn, ShardId=self.shard_id, **kwargs)
        return str(response["ShardIterator"])

    def read(self, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` records from the current position, Lambda-shaped, from as many pages as that takes."""
        records: list[dict[str, Any]] = []
        iterator: str | None = self.iterator
        while iterator and len(records) < limit:  # pages of at most 1,000, as DynamoDB Streams answers
            asked = min(GET_RECORDS_LIMIT, limit - len(records))
            response = self._get_records(ShardIterator=iterator, Limit=asked)
            page = response["Records"]
            records += page
            self.next_iterator = iterator = response.get("NextShardIterator")
            if len(page) < asked:  # the shard has nothing more for now: hand over what there is
                break
        self._pending = str(records[-1]["dynamodb"]["SequenceNumber"]) if records else None
        return [to_lambda_record(r, self.stream_arn, self._region) for r in records]

    def commit(self) -> None:
        """Everything read so far is handled: continue after it."""
        if self.next_iterator:
            self.iterator = self.next_iterator
        if self._pending:
            self.position = self._pending

    def rewind(self, sequence_number: str) -> None:
        """Read again from this record (inclusive)."""
        self.iterator = self._iterator(ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=sequence_number)

    def resume(self) -> None:
        """A fresh iterator right after the last handled record (iterators expire, emulators prune them)."""
        if self.position is None:
            self.iterator = self._iterator(ShardIteratorType=self._start)
        else:
            self.iterator = self._iterator(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=self.position)
