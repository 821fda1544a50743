"""Changing messages in a user's inbox: read/unread, seen, archive/unarchive, delete, and "all" of each.

Only the items change: the counts follow from the stream (`counts`), so a
change applied twice or racing another device counts once — each write is
conditioned on the state it changes from, and a refused one is simply done.

A change of "all" is bounded per request (``limit`` messages, ``BULK_UNITS_PER_REQUEST``
write units) and answers ``{updated, more}``: what it changed no longer matches
its filter, so the same request again goes on where it stopped.

Archiving moves the item to ``archived#<id>`` (delete + put in one
transaction), so the live inbox stays one key range; restoring moves it
back with ``restoredAt`` (not a new message). Deleting removes the item and
leaves a tombstone that announces it to the user's other devices.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from itertools import islice
from typing import Any

from pynamodb.exceptions import TransactWriteError, UpdateError

from chalicelib import storage
from chalicelib.core.backoff import Pace
from chalicelib.core.clock import iso, utc_now
from chalicelib.core.errors import BusyError
from chalicelib.core.ids import new_id
from chalicelib.inbox.queries import find_message, source
from chalicelib.storage import ARCHIVED, DELETED, LIVE_END, READ, UNREAD, InboxMessage, Tombstone, message_json

# Longer than a redriven fan-out step can come back (the dead-letter queue keeps 14 days): its retry
# path reads the tombstone to leave the deleted message deleted.
TOMBSTONE_LIFETIME = timedelta(days=15)
MOVES_PER_TRANSACTION = storage.MAX_TRANSACTION_ACTIONS // 2  # a delete and a put each
# Write units a second one user's bulk change may spend: half of what a partition takes (1,000), so the
# user's key is never throttled and their sends and counts updates keep the other half.
BULK_UNITS_PER_SECOND = 500
# What one request's bulk change may spend: 10 s at that pace, so that with its queries and last transaction it
# ends well within 20 s (API Gateway gives up at 29 s) however large the messages are. Ordinary messages (≤ 1 KB)
# meet the message limit first: 1,000 cost 2,000 units to read or see and 4,000 to archive (config.py).
BULK_UNITS_PER_REQUEST = 10 * BULK_UNITS_PER_SECOND
BUSY = "the message is being changed elsewhere; try again"
Progress = dict[str, int | bool]  # a bulk change's answer: {"updated": n, "more": bool}


@dataclass(frozen=True)
class MessageChange:
    """``PATCH /me/messages/{id}``: a new status, a move into or out of the archive, or both."""

    status: str | None
    archived: bool | None


@dataclass(frozen=True)
class ReadAll:
    """``POST /me/messages/read`` and ``/seen``: every message, or those of one channel."""

    channel: str | None


@dataclass(frozen=True)
class ArchiveAll:
    """``POST /me/messages/archive``: every message, or only the read ones, of one channel or all."""

    channel: str | None
    only_read: bool


def change_message(user_id: str, message_id: str, change: MessageChange) -> dict[str, Any]:
    """``PATCH /me/messages/{id}``: a status, a move into or out of the archive, or both."""
    for attempt in range(storage.CONFLICT_RETRIES):
        message = find_message(user_id, message_id)
        now = iso(utc_now())
        try:
            if change.archived is not None and change.archived != message.archived:
                moved = _moved(message, change.archived, now)
                if change.status is not None:
                    moved.set_status(change.status, now if change.status == READ else None)
                with storage.transaction() as transaction:
                    _move(transaction, message, moved)
                return message_json(moved)
            if change.status is None or change.status == message.status:
                return message_json(message)
            old_status = message.status
            message.set_status(change.status, now if change.status == READ else None)
            # One item: a plain conditional UpdateItem (a transaction would cost twice the write units).
            message.update(actions=_status_actions(message), condition=InboxMessage.status == old_status)
            return message_json(message)
        except (TransactWriteError, UpdateError):
            storage.pause_before_retry(attempt)  # changed by another device meanwhile, or a conflict: look again
    raise BusyError(f"status: {BUSY}")


def delete_message(user_id: str, message_id: str) -> None:
    """Remove the message (live or archived) for this user only, leaving a tombstone for the stream."""
    for attempt in range(storage.CONFLICT_RETRIES):
        message = find_message(user_id, message_id)
        try:
            with storage.transaction() as transaction:
                transaction.delete(message, condition=InboxMessage.id.exists())
                transaction.save(Tombstone(user_id, DELETED + message.message_id, expires_at=TOMBSTONE_LIFETIME))
            return
        except TransactWriteError:
            storage.pause_before_retry(attempt)  # archived, restored or deleted meanwhile: look again (404 if gone)
    raise BusyError(f"id: {BUSY}")


def _moved(message: InboxMessage, archived: bool, now: str) -> InboxMessage:
    """The message's copy on the other side of the archive."""
    copy = InboxMessage.from_raw_data(message.serialize())
    copy.id = ARCHIVED + message.message_id if archived else message.message_id
    copy.archived_at = now if archived else None
    copy.restored_at = None if archived else now
    # An archived copy leaves the catch-up; a restored one comes back behind newer ids, so it is marked as stored now.
    copy.stored_id = None if archived else new_id()
    if archived:
        copy.set_status(READ, message.read_at or now)  # archiving marks read
    else:
        copy.set_status(message.status, message.read_at)
    return copy


def _move(transaction: Any, message: InboxMessage, moved: InboxMessage) -> None:
    """Delete and put in one transaction, on the state the copy was made from (else: look again)."""
    seen = InboxMessage.seen_at.does_not_exist() if message.seen_at is None else InboxMessage.seen_at == message.seen_at
    transaction.delete(message, condition=(InboxMessage.status == message.status) & seen)
    transaction.save(moved, condition=InboxMessage.id.does_not_exist())


def _status_actions(message: InboxMessage) -> list[Any]:
    def set_or_remove(attribute: Any, value: str | None) -> Any:
        return attribute.set(value) if value else attribute.remove()

    return [
        InboxMessage.status.set(message.status),
        set_or_remove(InboxMessage.read_at, message.read_at),
        set_or_remove(InboxMessage.seen_at, message.seen_at),
        set_or_remove(InboxMessage.user_status, message.user_status),
        set_or_remove(InboxMessage.user_channel_status, message.user_channel_status),
    ]


def mark_all_read(user_id: str, scope: ReadAll, limit: int) -> Progress:
    """Unread messages (of one channel) become read (and seen), ≤ 100 per transaction, ``limit`` per request."""
    index, hash_value = source(user_id, scope.channel, UNREAD)
    now = iso(utc_now())

    def read(transaction: Any, message: InboxMessage) -> None:
        message.set_status(READ, now)
        transaction.update(message, actions=_status_actions(message), condition=InboxMessage.status == UNREAD)

    return _each_in_transactions(index.query(hash_value), read, storage.MAX_TRANSACTION_ACTIONS, limit)


def mark_all_seen(user_id: str, scope: ReadAll, limit: int) -> Progress:
    """Unseen messages (of one channel) become seen, ``limit`` per request. Unseen ones are all unread: that index is read."""
    index, hash_value = source(user_id, scope.channel, UNREAD)
    unseen = index.query(hash_value, filter_condition=InboxMessage.seen_at.does_not_exist())
    now = iso(utc_now())

    def see(transaction: Any, message: InboxMessage) -> None:
        condition = InboxMessage.seen_at.does_not_exist() & InboxMessage.id.exists()
        transaction.update(message, actions=[InboxMessage.seen_at.set(now)], condition=condition)

    return _each_in_transactions(unseen, see, storage.MAX_TRANSACTION_ACTIONS, limit)


def archive_all(user_id: str, scope: ArchiveAll, limit: int) -> Progress:
    """Live messages, or read ones, of one channel or all, move to the archive (50 per transaction, ``limit`` per request)."""
    index, hash_value = source(user_id, scope.channel, READ if scope.only_read else "all")
    live = index.query(hash_value, range_key_condition=InboxMessage.id < LIVE_END)
    now = iso(utc_now())
    moves: dict[str, InboxMessage] = {}

    def archive(transaction: Any, message: InboxMessage) -> None:
        _move(transaction, message, moves.setdefault(message.id, _moved(message, True, now)))

    return _each_in_transactions(live, archive, MOVES_PER_TRANSACTION, limit, layout=(1, 1))  # deletes, puts


Write = Callable[[Any, InboxMessage], None]


def _each_in_transactions(
    messages: Iterable[InboxMessage], write: Write, per_transaction: int, limit: int, layout: tuple[int, ...] = (1,)
) -> Progress:
    """Apply ``write`` to the messages, ``per_transaction`` at a time, paced, until ``limit`` changed or the
    request's write units are spent; ``more``: some are left for the next request.

    Only messages really changed count toward ``limit``: one another device changed meanwhile (or that an
    index lagging the table still lists) is refused by its write's condition and passed over, never using
    up a request.
    """
    pending = iter(messages)
    changed = 0
    pace = Pace(BULK_UNITS_PER_SECOND)
    while changed < limit:
        chunk = list(islice(pending, min(per_transaction, limit - changed)))
        if not chunk:
            return {"updated": changed, "more": False}
        if pace.spent and pace.spent + storage.transaction_units(chunk, sum(layout)) > BULK_UNITS_PER_REQUEST:
            return {"updated": changed, "more": True}
        changed += _chunk(chunk, write, layout, pace)
    return {"updated": changed, "more": next(pending, None) is not None}


def _chunk(chunk: list[InboxMessage], write: Write, layout: tuple[int, ...], pace: Pace) -> int:
    """One transaction; messages whose condition failed (changed meanwhile) are left out and the rest retried."""
    for attempt in range(storage.CONFLICT_RETRIES):
        if not chunk:
            return 0
        pace.spend(storage.transaction_units(chunk, sum(layout)))
        try:
            with storage.transaction() as transaction:
                for message in chunk:
                    write(transaction, message)
            return len(chunk)
        except TransactWriteError as error:
            remaining = storage.not_refused(chunk, error, layout)
            if len(remaining) == len(chunk):
                storage.pause_before_retry(attempt)
            chunk = remaining
    raise BusyError(f"channel: {BUSY}")
