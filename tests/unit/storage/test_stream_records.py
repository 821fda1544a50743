"""chalicelib.storage.stream_records: a Lambda stream record parsed once, TTL deletions told apart."""

from __future__ import annotations

import pytest

from chalicelib.storage.stream_records import TTL_PRINCIPAL, StreamRecord, image_string


def test_a_record_is_read_into_its_fields() -> None:
    record = StreamRecord.parse({
        "eventName": "MODIFY",
        "dynamodb": {"SequenceNumber": "42", "ApproximateCreationDateTime": 1796568645.5,
                     "NewImage": {"id": {"S": "01A"}}, "OldImage": {"id": {"S": "01A"}, "n": {"N": "1"}}},
    })  # fmt: skip
    assert (record.event_name, record.sequence_number, record.created_at) == ("MODIFY", "42", 1796568645.5)
    assert record.new_string("id") == record.old_string("id") == "01A"
    assert record.old_string("n") is None and image_string(None, "id") is None
    assert not record.is_ttl_delete


def test_only_dynamodbs_own_removal_is_a_ttl_delete() -> None:
    ttl = {"type": "Service", "principalId": TTL_PRINCIPAL}
    assert StreamRecord.parse({"eventName": "REMOVE", "userIdentity": ttl, "dynamodb": {"SequenceNumber": "1"}}).is_ttl_delete
    assert not StreamRecord.parse({"eventName": "REMOVE", "dynamodb": {"SequenceNumber": "1"}}).is_ttl_delete


def test_something_else_is_refused_as_a_key_error() -> None:
    with pytest.raises(KeyError):
        StreamRecord.parse({"eventName": "INSERT"})
