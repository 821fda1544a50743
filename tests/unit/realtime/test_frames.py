"""chalicelib.realtime.frames: which frame each stream record asks for, and a user's frames in order."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.counts import Counts, changes_from
from chalicelib.realtime.frames import FOLD_AFTER, frame_from_record, user_frames
from chalicelib.storage.stream_records import StreamRecord


def _message(id_: str, **fields: str) -> dict[str, Any]:
    item = {"userId": "alice", "id": id_, "channel": "c", "title": "T", "content": "", "status": "unread", "severity": "normal"}
    item.update(fields)
    return {name: {"S": value} for name, value in item.items()}


def _record(event: str, new: dict[str, Any] | None, old: dict[str, Any] | None = None, sequence: str = "1") -> StreamRecord:
    data: dict[str, Any] = {
        "SequenceNumber": sequence,
        **({"NewImage": new} if new else {}),
        **({"OldImage": old} if old else {}),
    }
    return StreamRecord.parse({"eventName": event, "dynamodb": data})


def test_each_kind_of_item_asks_for_its_frame() -> None:
    created = frame_from_record(_record("INSERT", _message("01JD0000000000000000000000")))
    assert created is not None and created["type"] == "message.created" and created["silent"] is False
    muted = frame_from_record(_record("INSERT", _message("01JD0000000000000000000000")), frozenset({"c"}))
    assert muted is not None and muted["silent"] is True
    archived = frame_from_record(_record("INSERT", _message("archived#01JD0000000000000000000000")))
    assert archived is not None and archived["type"] == "message.updated"
    deleted = frame_from_record(_record("INSERT", {"userId": {"S": "alice"}, "id": {"S": "deleted#01JD0"}}))
    assert deleted == {"type": "message.deleted", "id": "01JD0"}
    prefs = frame_from_record(_record("INSERT", {"userId": {"S": "alice"}, "id": {"S": "prefs"}, "muted": {"SS": ["c"]}}))
    assert prefs is not None and prefs["type"] == "preferences.updated"


def test_a_modify_that_changes_no_state_and_a_remove_ask_for_nothing() -> None:
    item = _message("01JD0000000000000000000000")
    assert frame_from_record(_record("MODIFY", item, dict(item))) is None
    assert frame_from_record(_record("REMOVE", None, item)) is None
    read = frame_from_record(_record("MODIFY", _message("01JD0000000000000000000000", status="read"), item))
    assert read is not None and read["type"] == "message.updated"


def _counts(version: int, unread: int = 1) -> Counts:
    item = {"u:c": {"N": str(unread)}, "t:c": {"N": str(unread)}, "s:c": {"N": str(unread)}, "v": {"N": str(version)}}
    return Counts.from_item("alice", item)


def test_a_new_message_carries_the_users_new_counts_in_its_one_frame() -> None:
    records = [_record("INSERT", _message("01JD0000000000000000000000"), sequence="7")]
    frames = user_frames(records, changes_from(records)["alice"], _counts(12))
    (frame,) = [json.loads(f.payload) for f in frames]
    assert frame["type"] == "message.created" and frames[0].sequence_number == "7"
    assert frame["counts"] == {"total": 1, "unseen": 1, "channels": {"c": 1}}
    assert frame["version"] == 12  # frames of two shards may arrive crossed: the client keeps the highest
    (alone,) = user_frames(records, None, None)  # no stored counts: the message alone
    assert "counts" not in json.loads(alone.payload)


def test_of_several_new_messages_only_the_last_carries_the_counts_after_them_all() -> None:
    records = [_record("INSERT", _message(f"01JD000000000000000000000{n}"), sequence=str(n)) for n in (1, 2, 3)]
    frames = [json.loads(f.payload) for f in user_frames(records, changes_from(records)["alice"], _counts(4, unread=3))]
    assert [f["type"] for f in frames] == ["message.created"] * 3
    assert ["counts" in f for f in frames] == [False, False, True] and frames[-1]["counts"]["total"] == 3


def test_counts_after_a_frame_that_is_no_new_message_come_in_a_counts_frame() -> None:
    unread = _message("01JD0000000000000000000000")
    records = [_record("INSERT", unread, sequence="1"), _record("MODIFY", {**unread, "status": {"S": "read"}}, unread, "2")]
    frames = [json.loads(f.payload) for f in user_frames(records, changes_from(records)["alice"], _counts(5, unread=0))]
    assert [f["type"] for f in frames] == ["message.created", "message.updated", "counts.updated"]
    assert "counts" not in frames[0] and frames[-1] == {
        "type": "counts.updated",
        "counts": {"total": 0, "unseen": 0, "channels": {}},
        "version": 5,
    }


def _reads(count: int, first: int = 10) -> list[StreamRecord]:
    """``count`` messages of alice's marked read, one MODIFY each, sequence numbers from ``first``."""
    records = []
    for n in range(count):
        unread = _message(f"01JD{n:022d}")
        records.append(_record("MODIFY", {**unread, "status": {"S": "read"}}, unread, str(first + n)))
    return records


def test_a_bulk_change_of_many_messages_goes_as_one_inbox_changed_frame_with_the_counts() -> None:
    records = _reads(FOLD_AFTER + 1)
    frames = user_frames(records, changes_from(records)["alice"], _counts(9, unread=0))
    (frame,) = frames  # not one message.updated per message, and no counts.updated of its own
    assert json.loads(frame.payload) == {
        "type": "inbox.changed",
        "changed": FOLD_AFTER + 1,
        "counts": {"total": 0, "unseen": 0, "channels": {}},
        "version": 9,
    }
    assert frame.sequence_number == "10"  # a failed post sends Lambda back to the first change it stands for
    assert frame.counts is not None and json.loads(frame.counts)["type"] == "counts.updated"


def test_up_to_the_fold_every_change_has_its_own_frame() -> None:
    records = _reads(FOLD_AFTER)
    frames = [json.loads(f.payload) for f in user_frames(records, changes_from(records)["alice"], _counts(9, unread=0))]
    assert [f["type"] for f in frames] == ["message.updated"] * FOLD_AFTER + ["counts.updated"]


def test_new_messages_keep_their_frames_beside_a_fold_which_comes_last() -> None:
    new = _record("INSERT", _message("01JE0000000000000000000000"), sequence="5")
    deleted = _record("INSERT", {"userId": {"S": "alice"}, "id": {"S": "deleted#01JD0"}}, sequence="6")
    records = [new, deleted, *_reads(FOLD_AFTER)]
    frames = [json.loads(f.payload) for f in user_frames(records, changes_from(records)["alice"], _counts(3))]
    assert [f["type"] for f in frames] == ["message.created", "inbox.changed"]  # a deletion is a change too
    assert frames[1]["changed"] == FOLD_AFTER + 1 and "counts" not in frames[0] and frames[1]["version"] == 3
    (alone,) = [json.loads(f.payload) for f in user_frames(_reads(FOLD_AFTER + 1), None, None)]
    assert alone == {"type": "inbox.changed", "changed": FOLD_AFTER + 1}  # no counts changed: none to carry
