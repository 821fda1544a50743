"""A user's own inbox, read side: list messages, read one, counts, channels.

The user id always comes from the verified token; another user's message id
answers 404 exactly like a missing one, and cursors are bound to the user
and the query. Changing a message's state lives in `message_states`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from chalicelib import storage
from chalicelib.cursors import CursorCodec
from chalicelib.errors import NotFoundError
from chalicelib.ids import is_valid_id
from chalicelib.models import ChannelCounter, InboxMessage
from chalicelib.parsing import ChannelQuery, MessageQuery
from chalicelib.views import counter_json, message_json, page_json


def source(user_id: str, channel: str | None, status: str) -> tuple[Any, str]:
    """The table or index, and its hash key value, that answers this filter in one Query."""
    if channel and status != "all":
        return InboxMessage.channel_status_index, f"{user_id}#{channel}#{status}"
    if channel:
        return InboxMessage.channel_index, f"{user_id}#{channel}"
    if status != "all":
        return InboxMessage.status_index, f"{user_id}#{status}"
    return InboxMessage, user_id


def list_messages(user_id: str, query: MessageQuery, cursors: CursorCodec) -> dict[str, Any]:
    """Newest first; with ``after``, the newer messages oldest first (catch-up)."""
    scope = json.dumps(["messages", query.channel, query.status, query.after])
    position = query.after
    if query.page.cursor:
        position = str(cursors.decode(query.page.cursor, user_id, scope).get("id", ""))
    condition: Any = None
    if query.after is not None:
        condition = InboxMessage.id > position  # catch-up: newer than the last id seen
    elif position is not None:
        condition = InboxMessage.id < position  # the next page of older messages
    index, hash_value = source(user_id, query.channel, query.status)
    size = query.page.limit + 1
    found = index.query(
        hash_value, range_key_condition=condition, scan_index_forward=query.after is not None, limit=size, page_size=size
    )
    items, more = storage.first_page(found, query.page.limit)
    cursor = storage.next_cursor(items, more, lambda m: cursors.encode(user_id, scope, {"id": m.id}))
    return page_json([message_json(m) for m in items], cursor)


def get_message(user_id: str, message_id: str) -> InboxMessage:
    if not is_valid_id(message_id):
        raise NotFoundError(f"message '{message_id}' not found")
    try:
        return InboxMessage.get(user_id, message_id)
    except InboxMessage.DoesNotExist:
        raise NotFoundError(f"message '{message_id}' not found") from None


def unread_count(user_id: str) -> dict[str, Any]:
    channels = {c.channel: int(c.unread) for c in ChannelCounter.query(user_id) if c.unread > 0}
    return {"total": sum(channels.values()), "channels": channels}


CHANNEL_FILTERS: dict[str, Callable[[ChannelCounter], bool]] = {
    "all": lambda c: c.total > 0,
    "unread": lambda c: c.unread > 0,
    "read": lambda c: c.total > c.unread,
}


def list_my_channels(user_id: str, query: ChannelQuery, cursors: CursorCodec) -> dict[str, Any]:
    """The user's channels, newest latest message first, filtered by read state."""
    scope = json.dumps(["me-channels", query.status])
    condition = None
    if query.page.cursor:
        position = str(cursors.decode(query.page.cursor, user_id, scope).get("latest", ""))
        condition = ChannelCounter.latest_id < position
    wanted = CHANNEL_FILTERS[query.status]
    counters = ChannelCounter.latest_index.query(
        user_id, range_key_condition=condition, scan_index_forward=False, page_size=query.page.limit + 1
    )
    items, more = storage.first_page((c for c in counters if wanted(c)), query.page.limit)
    cursor = storage.next_cursor(items, more, lambda c: cursors.encode(user_id, scope, {"latest": c.latest_id}))
    return page_json([counter_json(c) for c in items], cursor)
