"""Changing messages in a user's inbox: read/unread one, mark all read.

Every change moves the channel's ``unread`` counter in the same
transaction, guarded by the message's current status, so a change applied
twice (two devices, a retried request) counts once.
"""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import TransactWriteError

from chalicelib import storage
from chalicelib.clock import iso, utc_now
from chalicelib.errors import BusyError
from chalicelib.inbox import get_message, source
from chalicelib.models import READ, UNREAD, ChannelCounter, InboxMessage
from chalicelib.parsing import ReadAll, StatusChange
from chalicelib.views import message_json


def set_status(user_id: str, message_id: str, change: StatusChange) -> dict[str, Any]:
    """Mark one message read or unread; the channel's unread counter moves with it."""
    for attempt in range(storage.CONFLICT_RETRIES):
        message = get_message(user_id, message_id)
        if message.status == change.status:
            return message_json(message)
        old_status = message.status
        message.set_status(change.status, iso(utc_now()) if change.status == READ else None)
        try:
            with storage.transaction() as transaction:
                transaction.update(message, actions=_status_actions(message), condition=InboxMessage.status == old_status)
                delta = -1 if change.status == READ else 1
                transaction.update(ChannelCounter(user_id, message.channel), actions=[ChannelCounter.unread.add(delta)])
            return message_json(message)
        except TransactWriteError:
            storage.pause_before_retry(attempt)  # changed by another device meanwhile, or a conflict: look again
    raise BusyError("status: the message is being changed elsewhere; try again")


def _status_actions(message: InboxMessage) -> list[Any]:
    return [
        InboxMessage.status.set(message.status),
        InboxMessage.read_at.set(message.read_at) if message.read_at else InboxMessage.read_at.remove(),
        InboxMessage.user_status.set(message.user_status),
        InboxMessage.user_channel_status.set(message.user_channel_status),
    ]


def mark_all_read(user_id: str, scope: ReadAll) -> dict[str, int]:
    """Every unread message (of one channel) becomes read, ≤100 actions per transaction."""
    index, hash_value = source(user_id, scope.channel, UNREAD)
    unread = index.query(hash_value, attributes_to_get=["userId", "id", "channel"])
    read_at = iso(utc_now())
    updated = 0
    chunk: list[InboxMessage] = []
    channels: set[str] = set()  # one counter update per channel in the chunk
    for message in unread:
        if len(chunk) + 1 + len(channels | {message.channel}) > storage.MAX_TRANSACTION_ACTIONS:
            updated += _mark_chunk_read(user_id, chunk, read_at)
            chunk, channels = [], set()
        chunk.append(message)
        channels.add(message.channel)
    if chunk:
        updated += _mark_chunk_read(user_id, chunk, read_at)
    return {"updated": updated}


def _mark_chunk_read(user_id: str, chunk: list[InboxMessage], read_at: str) -> int:
    """One transaction: each still-unread message → read, each channel counter −n."""
    for attempt in range(storage.CONFLICT_RETRIES):
        if not chunk:
            return 0
        per_channel: dict[str, int] = {}
        try:
            with storage.transaction() as transaction:
                for message in chunk:
                    message.set_status(READ, read_at)
                    transaction.update(message, actions=_status_actions(message), condition=InboxMessage.status == UNREAD)
                    per_channel[message.channel] = per_channel.get(message.channel, 0) + 1
                for channel, count in per_channel.items():
                    transaction.update(ChannelCounter(user_id, channel), actions=[ChannelCounter.unread.add(-count)])
            return len(chunk)
        except TransactWriteError as error:
            still_unread = storage.not_refused(chunk, error)  # the others were read meanwhile
            if len(still_unread) == len(chunk):
                storage.pause_before_retry(attempt)
            chunk = still_unread
    raise BusyError("channel: the inbox is being changed elsewhere; try again")
