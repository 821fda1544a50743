"""Reading a DynamoDB stream the way Lambda's event source mapping does.

moto's ``GetRecords`` differs from what Lambda hands a function: records lack
``eventSourceARN`` and carry ``ApproximateCreationDateTime`` as a datetime.
`to_lambda_record` fixes both, so the app's stream handler sees the deployed
shape. `ShardReader` keeps the position in one shard (moto has one per
table) and only moves it when told, so a failed batch is read again.
"""

from __future__ import annotations

import datetime as dt
from typing import Any


def to_lambda_record(record: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """One GetRecords record in the shape Lambda delivers it."""
    data = dict(record["dynamodb"])
    created = data.get("ApproximateCreationDateTime")
    if isinstance(created, dt.datetime):
        data["ApproximateCreationDateTime"] = int(created.timestamp())
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


class ShardReader:
    """Reads one shard in order, moving on only when told (``commit``) — like Lambda's poller.

    ``read`` returns the next records and remembers where the following read
    would start; ``commit`` moves there, ``rewind`` re-reads from a given
    record (the first one a batch reported as failed).
    """

    def __init__(self, streams_client: Any, stream_arn: str, region: str, start: str = "TRIM_HORIZON") -> None:
        self._client = streams_client
        self.stream_arn = stream_arn
        self._region = region
        description = streams_client.describe_stream(StreamArn=stream_arn)["StreamDescription"]
        self._shard_id = description["Shards"][0]["ShardId"]
        self._start = start
        self.iterator = self._iterator(ShardIteratorType=start)
        self.next_iterator: str | None = None
        self.position: str | None = None  # the last record handled
        self._pending: str | None = None

    def _iterator(self, **kwargs: str) -> str:
        response = self._client.get_shard_iterator(StreamArn=self.stream_arn, ShardId=self._shard_id, **kwargs)
        return str(response["ShardIterator"])

    def read(self, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` records from the current position, Lambda-shaped."""
        response = self._client.get_records(ShardIterator=self.iterator, Limit=limit)
        self.next_iterator = response.get("NextShardIterator")
        records = response["Records"]
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
