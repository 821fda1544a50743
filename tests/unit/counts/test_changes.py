"""chalicelib.counts.changes: a batch's records, as each user's change to their counts."""

from __future__ import annotations

from typing import Any

from chalicelib.counts.changes import SEQUENCE_WIDTH, changes_from, echoes_counts
from chalicelib.storage.stream_records import StreamRecord


def _record(event: str, sequence: str, new: dict[str, Any] | None, old: dict[str, Any] | None = None) -> StreamRecord:
    data: dict[str, Any] = {"SequenceNumber": sequence}
    if new is not None:
        data["NewImage"] = new
    if old is not None:
        data["OldImage"] = old
    return StreamRecord.parse({"eventName": event, "dynamodb": data})


def _message(user: str, id_: str, status: str = "unread") -> dict[str, Any]:
    return {"userId": {"S": user}, "id": {"S": id_}, "channel": {"S": "c"}, "status": {"S": status}}


def test_each_users_records_add_up_to_one_change() -> None:
    changes = changes_from([
        _record("INSERT", "100", _message("alice", "01A")),
        _record("INSERT", "101", _message("bob", "01B")),
        _record("MODIFY", "102", _message("alice", "01A", "read"), _message("alice", "01A")),
    ])  # fmt: skip
    alice = changes["alice"]
    assert alice.deltas == {("u", "c"): 0, ("t", "c"): 1, ("s", "c"): 1}
    assert alice.latest == {"c": "01A"}
    assert (alice.first, alice.last) == ("100".zfill(SEQUENCE_WIDTH), "102".zfill(SEQUENCE_WIDTH))
    assert changes["bob"].deltas[("u", "c")] == 1


def test_a_partly_applied_change_keeps_only_the_later_records() -> None:
    change = changes_from([_record("INSERT", str(n), _message("alice", f"01{n}")) for n in (5, 6, 7)])["alice"]
    rest = change.after("6".zfill(SEQUENCE_WIDTH))
    assert [r.sequence_number for r in rest.records] == ["7"] and rest.deltas[("t", "c")] == 1
    assert change.after("7".zfill(SEQUENCE_WIDTH)).empty


def test_records_that_touch_no_count_are_left_out_and_mutes_are_left_to_their_writes() -> None:
    tombstone = {"userId": {"S": "alice"}, "id": {"S": "deleted#01A"}}
    prefs = {"userId": {"S": "bob"}, "id": {"S": "prefs"}, "muted": {"SS": ["c"]}}
    assert changes_from([_record("INSERT", "1", tombstone), _record("INSERT", "2", prefs)]) == {}


def test_a_users_own_changes_counted_by_their_writes_are_left_out_and_only_ttls_removes_count() -> None:
    """A write that counted itself marks its item with a fresh ``counted``; a REMOVE is the app's unless TTL's."""
    sent = _message("alice", "01A")
    read = {**_message("alice", "01A", "read"), "counted": {"S": "m1"}}
    unread_again = {**_message("alice", "01A"), "counted": {"S": "m1"}}  # no new mark: not counted by its write
    ttl = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    records = [
        _record("INSERT", "1", sent),
        _record("MODIFY", "2", read, sent),
        _record("MODIFY", "3", unread_again, read),
        StreamRecord.parse({"eventName": "REMOVE", "dynamodb": {"SequenceNumber": "4", "OldImage": unread_again}}),
        StreamRecord.parse({"eventName": "REMOVE", "userIdentity": ttl, "dynamodb": {"SequenceNumber": "5", "OldImage": sent}}),
    ]
    change = changes_from(records)["alice"]
    assert [r.sequence_number for r in change.records] == ["1", "3", "5"]
    assert echoes_counts(records) and not echoes_counts([records[0], records[2], records[4]])
