"""One DynamoDB stream record, parsed once into the fields the service reads.

Lambda hands the stream handler records as nested dicts (``record["dynamodb"]
["NewImage"]…``); delivery, expiry and the local poller read this small
typed value instead (the idea of Powertools' ``DynamoDBRecord``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TTL_PRINCIPAL = "dynamodb.amazonaws.com"
Image = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class StreamRecord:
    event_name: str
    sequence_number: str
    new_image: Image | None
    old_image: Image | None
    is_ttl_delete: bool
    created_at: float | None = None

    @classmethod
    def parse(cls, record: dict[str, Any]) -> StreamRecord:
        """Raises KeyError/TypeError/ValueError for a record that is not a stream record."""
        data = record["dynamodb"]
        identity = record.get("userIdentity") or {}
        event_name = str(record["eventName"])
        created = data.get("ApproximateCreationDateTime")
        return cls(
            event_name=event_name,
            sequence_number=str(data["SequenceNumber"]),
            new_image=data.get("NewImage"),
            old_image=data.get("OldImage"),
            is_ttl_delete=event_name == "REMOVE"
            and identity.get("type") == "Service"
            and identity.get("principalId") == TTL_PRINCIPAL,
            created_at=None if created is None else float(created),
        )

    def old_string(self, name: str) -> str | None:
        return image_string(self.old_image, name)

    def new_string(self, name: str) -> str | None:
        return image_string(self.new_image, name)


def image_string(image: Image | None, name: str) -> str | None:
    """A string attribute of an item image (a record's or a serialised model's), or None."""
    value = (image or {}).get(name)
    return None if value is None else value.get("S")
