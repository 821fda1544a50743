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
    return {
        "eventID": record.get("eventID"),
        "eventName": record["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion") or region,
        "dynamodb": data,
        "eventSourceARN": stream_arn,
    }


class ShardReader:
    """Reads one shard from a remembered sequence number onwards."""

    def __init__(self, streams_client: Any, stream_arn: str, region: str, from_latest: bool = False) -> None:
        self._client = streams_client
        self.stream_arn = stream_arn
        self._region = region
        description = streams_client.describe_stream(StreamArn=stream_arn)["StreamDescription"]
        self._shard_id = description["Shards"][0]["ShardId"]
        self.position: str | None = None  # last sequence number handled
        if from_latest:
            self.position = self._latest_sequence()

    def _latest_sequence(self) -> str | None:
        records = self._fetch(None, limit=1000)
        while records:
            last = records[-1]["dynamodb"]["SequenceNumber"]
            records = self._fetch(last, limit=1000)
            if not records:
                return str(last)
        return None

    def _fetch(self, after: str | None, limit: int) -> list[dict[str, Any]]:
        if after is None:
            kwargs = {"ShardIteratorType": "TRIM_HORIZON"}
        else:
            kwargs = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after}
        iterator = self._client.get_shard_iterator(StreamArn=self.stream_arn, ShardId=self._shard_id, **kwargs)
        response = self._client.get_records(ShardIterator=iterator["ShardIterator"], Limit=limit)
        return list(response["Records"])

    def read(self, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` records after the position, Lambda-shaped; the position does not move."""
        return [to_lambda_record(r, self.stream_arn, self._region) for r in self._fetch(self.position, limit)]

    def advance(self, sequence_number: str) -> None:
        self.position = sequence_number
