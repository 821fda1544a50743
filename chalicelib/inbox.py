"""A user's own inbox: list, read one, change status, mark all read, counts.

The user id always comes from the verified token; another user's message id
answers 404 exactly like a missing one, and cursors are bound to the user.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib import validation as v
from chalicelib.clock import iso, utc_now
from chalicelib.cursors import CursorCodec
from chalicelib.errors import BusyError, NotFoundError, ValidationError
from chalicelib.ids import is_valid_id
from chalicelib.models import READ, UNREAD, ChannelCounter, InboxMessage
from chalicelib.storage_errors import CONDITION_FAILED, cancellation_codes, pause

MAX_TRANSACTION_ACTIONS = 100
BACKOFF_BASE_SECONDS = 0.02
CONFLICT_RETRIES = 5


def message_json(message: InboxMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "channel": message.channel,
        "title": message.title,
        "content": message.content,
        "url": message.url,
        "duration": int(message.duration),
        "status": message.status,
        "createdAt": message.created_at,
        "readAt": message.read_at,
    }


def _source(user_id: str, channel: str | None, status: str) -> tuple[Any, str]:
    """The table or index, and its hash key value, that answers this filter in one Query."""
    if channel and status != "all":
        return InboxMessage.channel_status_index, f"{user_id}#{channel}#{status}"
    if channel:
        return InboxMessage.channel_index, f"{user_id}#{channel}"
    if status != "all":
        return InboxMessage.status_index, f"{user_id}#{status}"
    return InboxMessage, user_id


def list_messages(user_id: str, params: dict[str, str], cursors: CursorCodec) -> dict[str, Any]:
    """Newest first; with ``after``, the newer messages oldest first (catch-up)."""
    channel = v.optional_channel(params)
    status = v.status(params)
    limit = v.limit(params)
    after = params.get("after")
    if after is not None and not is_valid_id(after):
        raise ValidationError("after", "must be a message id")
    scope = json.dumps(["messages", channel, status, after])
    position = after
    if params.get("cursor"):
        position = str(cursors.decode(params["cursor"], user_id, scope).get("id", ""))
    source, hash_value = _source(user_id, channel, status)
    condition: Any = None
    if after is not None:
        condition = InboxMessage.id > position  # catch-up: newer than the last id seen
    elif position is not None:
        condition = InboxMessage.id < position  # the next page of older messages
    page = list(
        source.query(
            hash_value,
            range_key_condition=condition,
            scan_index_forward=after is not None,
            limit=limit + 1,
            page_size=limit + 1,
        )
    )
    items = page[:limit]
    more = len(page) > limit
    next_cursor = cursors.encode(user_id, scope, {"id": items[-1].id}) if more else None
    return {"items": [message_json(m) for m in items], "nextCursor": next_cursor}


def get_message(user_id: str, message_id: str) -> InboxMessage:
    if not is_valid_id(message_id):
        raise NotFoundError(f"message '{message_id}' not found")
    try:
        return InboxMessage.get(user_id, message_id)
    except InboxMessage.DoesNotExist:
        raise NotFoundError(f"message '{message_id}' not found") from None


def set_status(user_id: str, message_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Mark one message read or unread; the channel's unread counter moves with it."""
    v.reject_unknown(body, {"status"})
    new_status = v.require(body, "status")
    if new_status not in (READ, UNREAD):
        raise ValidationError("status", "must be read or unread")
    for attempt in range(CONFLICT_RETRIES):
        message = get_message(user_id, message_id)
        if message.status == new_status:
            return message_json(message)
        old_status = message.status
        message.set_status(new_status, iso(utc_now()) if new_status == READ else None)
        try:
            with TransactWrite(connection=InboxMessage._get_connection().connection) as transaction:
                transaction.update(message, actions=_status_actions(message), condition=InboxMessage.status == old_status)
                delta = -1 if new_status == READ else 1
                transaction.update(ChannelCounter(user_id, message.channel), actions=[ChannelCounter.unread.add(delta)])
            return message_json(message)
        except TransactWriteError:
            pause(attempt, BACKOFF_BASE_SECONDS)  # changed by another device meanwhile, or a conflict: look again
    raise BusyError("status: the message is being changed elsewhere; try again")


def _status_actions(message: InboxMessage) -> list[Any]:
    return [
        InboxMessage.status.set(message.status),
        InboxMessage.read_at.set(message.read_at) if message.read_at else InboxMessage.read_at.remove(),
        InboxMessage.user_status.set(message.user_status),
        InboxMessage.user_channel_status.set(message.user_channel_status),
    ]


def mark_all_read(user_id: str, body: dict[str, Any]) -> dict[str, int]:
    """Every unread message (of one channel) becomes read, ≤100 actions per transaction."""
    v.reject_unknown(body, {"channel"})
    channel = None if body.get("channel") is None else v.channel_name(body["channel"], "channel")
    source, hash_value = _source(user_id, channel, UNREAD)
    unread = list(source.query(hash_value, attributes_to_get=["userId", "id", "channel"]))
    read_at = iso(utc_now())
    updated = 0
    chunk: list[InboxMessage] = []
    channels: set[str] = set()  # one counter update per channel in the chunk
    for message in unread:
        if len(chunk) + 1 + len(channels | {message.channel}) > MAX_TRANSACTION_ACTIONS:
            updated += _mark_chunk_read(user_id, chunk, read_at)
            chunk, channels = [], set()
        chunk.append(message)
        channels.add(message.channel)
    if chunk:
        updated += _mark_chunk_read(user_id, chunk, read_at)
    return {"updated": updated}


def _mark_chunk_read(user_id: str, chunk: list[InboxMessage], read_at: str) -> int:
    """One transaction: each still-unread message → read, each channel counter −n."""
    for attempt in range(CONFLICT_RETRIES):
        if not chunk:
            return 0
        per_channel: dict[str, int] = {}
        try:
            with TransactWrite(connection=InboxMessage._get_connection().connection) as transaction:
                for message in chunk:
                    message.set_status(READ, read_at)
                    transaction.update(message, actions=_status_actions(message), condition=InboxMessage.status == UNREAD)
                    per_channel[message.channel] = per_channel.get(message.channel, 0) + 1
                for channel, count in per_channel.items():
                    transaction.update(ChannelCounter(user_id, channel), actions=[ChannelCounter.unread.add(-count)])
            return len(chunk)
        except TransactWriteError as error:
            reasons = cancellation_codes(error)
            already_read = {i for i, code in enumerate(reasons[: len(chunk)]) if code == CONDITION_FAILED}
            chunk = [m for i, m in enumerate(chunk) if i not in already_read]
            if not already_read:
                pause(attempt, BACKOFF_BASE_SECONDS)
    raise BusyError("channel: the inbox is being changed elsewhere; try again")


def unread_count(user_id: str) -> dict[str, Any]:
    channels = {c.channel: int(c.unread) for c in ChannelCounter.query(user_id) if c.unread > 0}
    return {"total": sum(channels.values()), "channels": channels}


def counter_json(counter: ChannelCounter) -> dict[str, Any]:
    return {
        "name": counter.channel,
        "title": counter.channel_title,
        "unread": int(counter.unread),
        "total": int(counter.total),
        "latest": {"id": counter.latest_id, "title": counter.latest_title, "createdAt": counter.latest_created_at},
    }


CHANNEL_FILTERS: dict[str, Callable[[ChannelCounter], bool]] = {
    "all": lambda c: c.total > 0,
    "unread": lambda c: c.unread > 0,
    "read": lambda c: c.total > c.unread,
}


def list_my_channels(user_id: str, params: dict[str, str], cursors: CursorCodec) -> dict[str, Any]:
    """The user's channels, newest latest message first, filtered by read state."""
    status = v.status(params)
    limit = v.limit(params)
    scope = json.dumps(["me-channels", status])
    condition = None
    if params.get("cursor"):
        position = str(cursors.decode(params["cursor"], user_id, scope).get("latest", ""))
        condition = ChannelCounter.latest_id < position
    wanted = CHANNEL_FILTERS[status]
    query = ChannelCounter.latest_index.query(
        user_id, range_key_condition=condition, scan_index_forward=False, page_size=limit + 1
    )
    page: list[ChannelCounter] = []
    for counter in query:
        if wanted(counter):
            page.append(counter)
            if len(page) > limit:
                break
    items = page[:limit]
    more = len(page) > limit
    next_cursor = cursors.encode(user_id, scope, {"latest": items[-1].latest_id}) if more else None
    return {"items": [counter_json(c) for c in items], "nextCursor": next_cursor}
