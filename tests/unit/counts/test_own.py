"""chalicelib.counts.own: what a user's own change does to their counts, written in the change's transaction."""

from __future__ import annotations

from typing import Any

from chalicelib.counts.own import OwnChange, counted_at_write, fresh_mark
from chalicelib.storage.stream_records import StreamRecord


def _message(status: str = "unread", severity: str = "normal", **more: Any) -> dict[str, Any]:
    image = {"userId": {"S": "alice"}, "id": {"S": "01A"}, "channel": {"S": "c"}, "status": {"S": status}}
    return {**image, "severity": {"S": severity}, **more}


def test_a_change_adds_its_items_contributions_after_less_before() -> None:
    own = OwnChange("alice")
    own.item(_message(severity="critical"), _message("read", "critical", seenAt={"S": "t"}))
    own.item(_message(), None)  # deleted
    assert {key: n for key, n in own.deltas.items() if n} == {("u", "c"): -2, ("s", "c"): -2, ("cu", "c"): -1,
                                                              ("cs", "c"): -1, ("t", "c"): -1}  # fmt: skip
    assert len(own.actions()) == 6  # five counts and the version


def test_nothing_counted_writes_nothing_and_a_mute_writes_its_copy() -> None:
    archived = {**_message(), "id": {"S": "archived#01A"}}
    own = OwnChange("alice")
    own.item(archived, None)
    assert own.actions() == []
    own.mute("c", True)
    assert len(own.actions()) == 2  # the mutes' copy and the version


def _parsed(event: str, new: dict[str, Any] | None, old: dict[str, Any] | None, **more: Any) -> StreamRecord:
    data: dict[str, Any] = {"SequenceNumber": "1"}
    if new is not None:
        data["NewImage"] = new
    if old is not None:
        data["OldImage"] = old
    return StreamRecord.parse({"eventName": event, "dynamodb": data, **more})


def test_a_record_was_counted_at_write_when_its_mark_is_new_or_it_is_an_app_delete() -> None:
    mark, other = fresh_mark(), fresh_mark()
    assert mark != other
    assert counted_at_write(_parsed("MODIFY", _message(counted={"S": mark}), _message()))
    assert counted_at_write(_parsed("MODIFY", _message(counted={"S": mark}), _message(counted={"S": other})))
    assert not counted_at_write(_parsed("MODIFY", _message(counted={"S": mark}), _message(counted={"S": mark})))
    assert not counted_at_write(_parsed("INSERT", _message(), None))  # a send
    assert counted_at_write(_parsed("REMOVE", None, _message()))
    ttl = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    assert not counted_at_write(_parsed("REMOVE", None, _message(), userIdentity=ttl))
