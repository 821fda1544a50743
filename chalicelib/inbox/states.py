"""Changing messages in a user's inbox: read/unread, seen, archive/unarchive, delete, and "all" of each.

Each change is one transaction that also updates the user's counts item
with what it changes (`counts.OwnChange`) and marks what it writes with a
fresh ``counted`` (so the stream leaves it out): after the answer, the
user's next read of counts, channels and lists shows the change. Each write
is conditioned on the state it changes from (the counts' delta is computed
from that state), so a change applied twice or racing another device
counts once — a refused one is looked at again.

A change of "all" is bounded per request (`bulk`) and answers ``{updated, more}``.

Archiving moves the item to ``archived#<id>`` (delete + put in one
transaction), so the live inbox stays one key range; restoring moves it
back with ``restoredAt`` (not a new message). Deleting removes the item and
leaves a tombstone that announces it to the user's other devices.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib import broadcast, counts, storage
from chalicelib.core.clock import iso, utc_now
from chalicelib.core.errors import BusyError, ConfigurationError
from chalicelib.core.ids import new_id
from chalicelib.counts import OwnChange
from chalicelib.inbox.bulk import BUSY, Progress, combined, each_in_transactions, in_transaction, marked_copy, move_to, unchanged
from chalicelib.inbox.entries import set_pinned
from chalicelib.inbox.lookup import find_message, find_to_change
from chalicelib.inbox.queries import source
from chalicelib.inbox.snooze import WakeScheduler, forget_wake_up, snooze, wake_now
from chalicelib.storage import (
    ARCHIVED,
    DELETED,
    LIVE_END,
    PIN_ENTRY,
    READ,
    UNREAD,
    Entry,
    InboxMessage,
    Tombstone,
    entry_key,
    message_json,
)

# Longer than a redriven fan-out step can come back (the dead-letter queue keeps 14 days): its retry
# path reads the tombstone to leave the deleted message deleted.
TOMBSTONE_LIFETIME = timedelta(days=15)


@dataclass(frozen=True)
class MessageChange:
    """``PATCH /me/messages/{id}``: a new status, a move into or out of the archive, or both; or a pin, or a snooze."""

    status: str | None
    archived: bool | None
    pinned: bool | None = None
    snooze: datetime | None = None  # snooze until then
    wake: bool = False  # ``snoozedUntil: null``


@dataclass(frozen=True)
class ReadAll:
    """``POST /me/messages/read`` and ``/seen``: every message, or those of one channel."""

    channel: str | None


@dataclass(frozen=True)
class ArchiveAll:
    """``POST /me/messages/archive``: every message, or only the read ones, of one channel or all."""

    channel: str | None
    only_read: bool


def change_message(
    user_id: str, message_id: str, change: MessageChange, scheduler: WakeScheduler | None = None
) -> dict[str, Any]:
    """``PATCH /me/messages/{id}``: a status, a move into or out of the archive, or both; a pin; a snooze."""
    if change.snooze is not None:
        if scheduler is None:
            raise ConfigurationError(
                "snoozing needs a wake-up scheduler (settings INAPP_WAKE_TARGET_ARN, INAPP_SCHEDULER_ROLE_ARN)"
            )
        return snooze(user_id, find_to_change(user_id, message_id), change.snooze, scheduler)
    if change.wake:
        message = find_message(user_id, message_id)
        if not message.snoozed:
            return message_json(message)  # awake already
        # None: archived, deleted or woken meanwhile; the message as it is now (404 if gone)
        return wake_now(user_id, message.message_id, scheduler) or message_json(find_message(user_id, message_id))
    if change.pinned is not None:
        return _pin(user_id, message_id, change.pinned)
    for attempt in range(storage.CONFLICT_RETRIES):
        message = find_to_change(user_id, message_id)
        now, mark = iso(utc_now()), counts.fresh_mark()
        if change.archived is not None and change.archived != message.archived:
            after = _moved(message, change.archived, now, mark)
            if change.status is not None:
                after.set_status(change.status, now if change.status == READ else None)
        elif change.status is None or change.status == message.status:
            return message_json(message)
        else:
            after = marked_copy(message, mark)
            after.set_status(change.status, now if change.status == READ else None)
        layout = (1,) if after.id == message.id else (1, 1)  # an update, or a delete and a put
        if in_transaction([message], _replace_with(after), None, layout, field="status"):
            forget_wake_up(scheduler, message, after)  # archiving a snoozed message ends its snooze
            return message_json(after)
        storage.pause_before_retry(attempt)  # changed by another device meanwhile: look again (404 if gone)
    raise BusyError(f"status: {BUSY}")


def _pin(user_id: str, message_id: str, pinned: bool) -> dict[str, Any]:
    for attempt in range(storage.CONFLICT_RETRIES):
        shown = set_pinned(find_to_change(user_id, message_id), pinned)
        if shown is not None:
            return shown
        storage.pause_before_retry(attempt)  # changed by another device meanwhile: look again (404 if gone)
    raise BusyError(f"pinned: {BUSY}")


def delete_message(user_id: str, message_id: str, scheduler: WakeScheduler | None = None) -> None:
    """Remove the message (live, archived or snoozed) for this user only, leaving a tombstone for the stream;
    a snoozed one's schedule is cancelled (when there is a ``scheduler``)."""
    for attempt in range(storage.CONFLICT_RETRIES):
        message = find_to_change(user_id, message_id)

        def delete(transaction: Any, message: InboxMessage, own: OwnChange) -> None:
            own.item(message.serialize(), None)
            transaction.delete(message, condition=unchanged(message))
            transaction.save(Tombstone(user_id, DELETED + message.message_id, expires_at=TOMBSTONE_LIFETIME))
            if message.pinned_at is not None:  # its pin no longer counts toward the user's pins
                transaction.delete(Entry(user_id, entry_key(PIN_ENTRY, message.pinned_at, message.message_id)))

        if in_transaction([message], delete, None, (1, 1), field="id"):
            forget_wake_up(scheduler, message)
            return
        storage.pause_before_retry(attempt)  # archived, restored or deleted meanwhile: look again (404 if gone)
    raise BusyError(f"id: {BUSY}")


def _moved(message: InboxMessage, archived: bool, now: str, mark: str) -> InboxMessage:
    """The message's copy on the other side of the archive."""
    copy = marked_copy(message, mark)
    copy.id = ARCHIVED + message.message_id if archived else message.message_id
    copy.archived_at = now if archived else None
    copy.restored_at = None if archived else now
    copy.snoozed_until = None  # archiving a snoozed message ends its snooze: its wake-up finds nothing
    # An archived copy leaves the catch-up; a restored one comes back behind newer ids, so it is marked as stored now.
    copy.stored_id = None if archived else new_id()
    if archived:
        copy.set_status(READ, message.read_at or now)  # archiving marks read
    else:
        copy.set_status(message.status, message.read_at)
    return copy


def _replace_with(after: InboxMessage) -> Callable[[Any, InboxMessage, OwnChange], None]:
    """The write that turns a message into ``after``: an update in place, or a move (delete and put)."""

    def write(transaction: Any, message: InboxMessage, own: OwnChange) -> None:
        if after.id != message.id:
            move_to(after)(transaction, message, own)
            return
        own.item(message.serialize(), after.serialize())
        transaction.update(after, actions=_status_actions(after), condition=unchanged(message))

    return write


def _status_actions(message: InboxMessage) -> list[Any]:
    def set_or_remove(attribute: Any, value: str | None) -> Any:
        return attribute.set(value) if value else attribute.remove()

    return [
        InboxMessage.status.set(message.status),
        set_or_remove(InboxMessage.read_at, message.read_at),
        set_or_remove(InboxMessage.seen_at, message.seen_at),
        set_or_remove(InboxMessage.user_status, message.user_status),
        set_or_remove(InboxMessage.user_channel_status, message.user_channel_status),
        InboxMessage.counted.set(message.counted),
    ]


def mark_all_read(user_id: str, scope: ReadAll, limit: int) -> Progress:
    """Unread messages (of one channel) become read (and seen), 99 per transaction, ``limit`` per request."""
    index, hash_value = source(user_id, scope.channel, UNREAD)
    now, mark = iso(utc_now()), counts.fresh_mark()
    copies = broadcast.change_all(user_id, scope.channel, lambda copy: copy.set_status(READ, now), limit)
    limit -= copies[0]

    def read(transaction: Any, message: InboxMessage, own: OwnChange) -> None:
        after = marked_copy(message, mark)
        after.set_status(READ, now)
        _replace_with(after)(transaction, message, own)

    own = each_in_transactions(index.query(hash_value, page_size=limit + 1), read, lambda m: m.status == UNREAD, limit)
    return combined(copies, own)


def mark_all_seen(user_id: str, scope: ReadAll, limit: int) -> Progress:
    """Unseen messages (of one channel) become seen, ``limit`` per request. Unseen ones are all unread: that index is read."""
    index, hash_value = source(user_id, scope.channel, UNREAD)
    now, mark = iso(utc_now()), counts.fresh_mark()

    def seen(copy: InboxMessage) -> None:
        copy.seen_at = now

    copies = broadcast.change_all(user_id, scope.channel, seen, limit)
    limit -= copies[0]
    unseen = index.query(hash_value, filter_condition=InboxMessage.seen_at.does_not_exist(), page_size=limit + 1)

    def see(transaction: Any, message: InboxMessage, own: OwnChange) -> None:
        after = marked_copy(message, mark)
        after.seen_at = now
        own.item(message.serialize(), after.serialize())
        actions = [InboxMessage.seen_at.set(now), InboxMessage.counted.set(mark)]
        transaction.update(after, actions=actions, condition=unchanged(message))

    return combined(copies, each_in_transactions(unseen, see, lambda m: m.seen_at is None, limit))


def archive_all(user_id: str, scope: ArchiveAll, limit: int) -> Progress:
    """Live messages, or read ones, of one channel or all, move to the archive (49 per transaction, ``limit`` per request)."""
    index, hash_value = source(user_id, scope.channel, READ if scope.only_read else "all")
    now, mark = iso(utc_now()), counts.fresh_mark()

    def archived(copy: InboxMessage) -> None:  # a broadcast without a copy is unread: only "all" reaches it
        copy.id, copy.archived_at = ARCHIVED + copy.message_id, now
        copy.set_status(READ, now)

    copies = (0, False) if scope.only_read else broadcast.change_all(user_id, scope.channel, archived, limit)
    limit -= copies[0]
    live = index.query(hash_value, range_key_condition=InboxMessage.id < LIVE_END, page_size=limit + 1)

    def archive(transaction: Any, message: InboxMessage, own: OwnChange) -> None:
        _replace_with(_moved(message, True, now, mark))(transaction, message, own)

    def still(message: InboxMessage) -> bool:
        return message.status == READ or not scope.only_read

    return combined(copies, each_in_transactions(live, archive, still, limit, layout=(1, 1)))  # deletes, puts
