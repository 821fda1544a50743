"""chalicelib.realtime.frames: which frame each stream record asks for, and a user's frames in order."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.counts import Counts, changes_from
from chalicelib.realtime.frames import frame_from_record, user_frames
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


def test_a_users_frames_end_with_their_new_counts() -> None:
    records = [_record("INSERT", _message("01JD0000000000000000000000"), sequence="7")]
    change = changes_from(records)["alice"]
    stored = Counts.from_item("alice", {"u:c": {"N": "1"}, "t:c": {"N": "1"}, "s:c": {"N": "1"}, "v": {"N": "12"}})
    frames = user_frames(records, change, stored)
    kinds = [json.loads(frame.payload)["type"] for frame in frames]
    assert kinds == ["message.created", "counts.updated"] and [f.sequence_number for f in frames] == ["7", "7"]
    assert json.loads(frames[-1].payload)["counts"] == {"total": 1, "unseen": 1, "channels": {"c": 1}}
    assert json.loads(frames[-1].payload)["version"] == 12  # frames of two shards may arrive crossed
    assert len(user_frames(records, None, None)) == 1  # no counts frame without stored counts
