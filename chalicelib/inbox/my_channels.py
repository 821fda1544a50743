"""``GET /me/channels``: the user's channels, newest latest message first, from their counts."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from chalicelib import broadcast, storage
from chalicelib.core import tenants
from chalicelib.core.cursors import CursorCodec
from chalicelib.inbox.expiry import counts_and_held
from chalicelib.inbox.queries import ChannelQuery, source
from chalicelib.storage import LIVE_END, UNREAD, InboxMessage, my_channel_json, page_json

CHANNEL_FILTERS: dict[str, Callable[[int, int], bool]] = {
    "all": lambda unread, total: total > 0,
    "unread": lambda unread, total: unread > 0,
    "read": lambda unread, total: total > unread,
}


def list_my_channels(user_id: str, query: ChannelQuery, cursors: CursorCodec, retention: timedelta) -> dict[str, Any]:
    """The user's channels, newest latest message first, filtered by read state.

    One GetItem for the counts (and one Query for the expired, `expiry`) and
    one BatchGetItem for the page's latest messages; a latest message that
    was archived or deleted meanwhile is replaced by the channel's newest
    live one (one Query each, rare). Filtered by status, a channel's
    ``latest`` is its newest message of that status (under ``unread``, the
    newest unread one: what the list is about): one Query for each channel
    whose newest message has the other status.
    """
    scope = json.dumps(["me-channels", query.status])
    current, held = counts_and_held(user_id, retention)
    wanted = CHANNEL_FILTERS[query.status]
    ordered = sorted(
        ((current.latest.get(c, ""), c) for c in current.channels if wanted(current.of("u", c), current.of("t", c))),
        reverse=True,
    )
    if query.page.cursor:
        after = cursors.decode(query.page.cursor, user_id, scope)
        ordered = [entry for entry in ordered if entry < (str(after.get("latest", "")), str(after.get("name", "")))]
    page, more = ordered[: query.page.limit], len(ordered) > query.page.limit
    latest = {m.channel: m for m in storage.read_batch(InboxMessage, [(user_id, lid) for lid, _ in page if lid])}
    newest_held: dict[str, str] = {}  # each channel's newest broadcast the user holds (a live, unread message of theirs)
    for entry in held:
        newest_held.setdefault(tenants.plain_channel(entry.channel), entry.id)
    shown_held = {m.channel: m for m in broadcast.messages(user_id, [newest_held[c] for _, c in page if c in newest_held])}
    items = []
    for latest_id, channel in page:
        unread_held = shown_held.get(channel)
        message = _newer(latest.get(channel) or _newest_live(user_id, channel, "all"), unread_held)
        if query.status != "all" and (message is None or message.status != query.status):
            also = unread_held if query.status == UNREAD else None
            message = _newer(_newest_live(user_id, channel, query.status), also) or message
        items.append(
            my_channel_json(
                channel, current.of("u", channel), current.of("t", channel), message, message.id if message else latest_id
            )
        )
    cursor = storage.next_cursor(page, more, lambda e: cursors.encode(user_id, scope, {"latest": e[0], "name": e[1]}))
    return page_json(items, cursor)


def _newer(own: InboxMessage | None, held: InboxMessage | None) -> InboxMessage | None:
    """The newer of the channel's own message and its newest broadcast (an unread one, which every status but "read" shows)."""
    candidates = [m for m in (own, held) if m is not None]
    return max(candidates, key=lambda m: m.id) if candidates else None


def _newest_live(user_id: str, channel: str, status: str) -> InboxMessage | None:
    """The channel's newest live message (of ``status``, unless "all"): one Query."""
    index, hash_value = source(user_id, channel, status)
    found = index.query(hash_value, InboxMessage.id < LIVE_END, scan_index_forward=False, limit=1, page_size=1)
    return next(iter(found), None)
