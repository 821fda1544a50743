"""chalicelib.storage.inbox_tables: the inbox's items and keys, and the sparse indexes each list reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.core.ids import new_id
from chalicelib.sending.commands import SendRequest
from chalicelib.sending.group_write import build_message
from chalicelib.storage.inbox_tables import ARCHIVED, LIVE_END, READ, InboxMessage, Preferences, Tombstone


def _message(user: str, channel: str = "c") -> InboxMessage:
    request = SendRequest(channel=channel, receivers=[user], title="T", content="", url=None, duration=0)
    return build_message(request, "Channel", new_id(), user, datetime.now(UTC) + timedelta(days=1))


def test_every_other_item_of_a_user_sorts_after_the_live_messages(tables: None) -> None:
    live = _message("alice")
    live.save()
    archived = _message("alice")
    archived.id = ARCHIVED + archived.id
    archived.set_status(READ, "2026-12-06T00:00:00.000Z")
    archived.save()
    Tombstone("alice", "deleted#" + new_id(), expires_at=datetime.now(UTC) + timedelta(hours=1)).save()
    Preferences("alice", "prefs").save()
    assert [m.id for m in InboxMessage.query("alice", InboxMessage.id < LIVE_END)] == [live.id]
    assert len(list(InboxMessage.query("alice"))) == 4


def test_the_status_indexes_hold_live_messages_only(tables: None) -> None:
    unread, read = _message("alice"), _message("alice", "d")
    read.set_status(READ, "2026-12-06T00:00:00.000Z")
    archived = _message("alice")
    archived.id = ARCHIVED + archived.id
    archived.set_status(READ, "2026-12-06T00:00:00.000Z")
    for message in (unread, read, archived):
        message.save()
    assert [m.id for m in InboxMessage.status_index.query("alice#unread")] == [unread.id]
    assert [m.id for m in InboxMessage.status_index.query("alice#read")] == [read.id]
    assert [m.id for m in InboxMessage.channel_status_index.query("alice#d#read")] == [read.id]
    assert {m.id for m in InboxMessage.channel_index.query("alice#c")} == {unread.id, archived.id}
    assert archived.message_id == unread.id or archived.archived
