"""A user's own inbox, read side: list messages, read one, counts, channels, preferences.

The user id always comes from the verified token; another user's message id
answers 404 exactly like a missing one, and cursors are bound to the user
and the query. Changing a message's state lives in `states`.

Every list is one Query: the live inbox is the range ``id < "a"`` of the
user's partition (or of a sparse index), the archive the ``archived#`` range.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from chalicelib import broadcast, storage
from chalicelib.core.clock import utc_now
from chalicelib.core.cursors import CursorCodec, Page
from chalicelib.core.ids import first_id_at_ms, id_time_ms
from chalicelib.inbox.entries import matches, pinned_messages, tagged
from chalicelib.inbox.expiry import current_counts, expired
from chalicelib.storage import (
    ARCHIVED,
    LIVE_END,
    SNOOZED,
    TAG_ENTRY,
    UNREAD,
    InboxMessage,
    entry_key,
    fitting,
    message_json,
    page_json,
)

if TYPE_CHECKING:
    from chalicelib.broadcast import IndexEntry

ARCHIVE_END = ARCHIVED[:-1] + chr(ord(ARCHIVED[-1]) + 1)  # "archived$": just after every archived id
SNOOZED_END = SNOOZED[:-1] + chr(ord(SNOOZED[-1]) + 1)
# A late store's writes all land within one invocation of the function that minted its storedId, so within
# that function's timeout: the fan-out worker's 120 s is the longest (.chalice/config.json; a test keeps them in step).
LATE_STORE_WINDOW_MS = 125_000  # 5 s more, for clocks and a write still in flight as the timeout strikes
# A message stored unmarked lands within a second of its id and one write attempt (`sending.store_at_once`),
# so two sends at once may land an older id after a newer one: the catch-up reads ids from this much before
# `after`; 5 s more than that second, for clocks and the attempt (a test keeps it above `sending.FRESH_START_MS`).
ORDER_WINDOW_MS = 6_000
LATE_PAGE = 100  # index entries one catch-up request looks at, at most


@dataclass(frozen=True)
class MessageQuery:
    """``GET /me/messages``: a filtered page, or with ``after`` the catch-up after an id.

    ``archived`` lists the archive (newest first, optionally of one channel) instead.
    """

    channel: str | None
    status: str
    after: str | None
    page: Page
    archived: bool = False
    tag: str | None = None
    snoozed: bool = False

    @property
    def pins_first(self) -> bool:
        """A live list's first page: the pinned messages come first (`pins`), and are left out of the rest."""
        return not self.archived and not self.snoozed and self.after is None


@dataclass(frozen=True)
class ChannelQuery:
    """``GET /me/channels``."""

    status: str
    page: Page


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
    """Newest first; with ``after``, the catch-up (`catch_up`); or the archive."""
    if query.after is not None:
        return catch_up(user_id, query, query.after, cursors)
    scope = _scope(query)
    position = None
    if query.page.cursor:
        position = str(cursors.decode(query.page.cursor, user_id, scope).get("id", ""))
    now = utc_now()
    pinned = []
    if query.pins_first and position is None:
        pinned = pinned_messages(user_id, lambda m: matches(query, m) and not expired(m, now))
    if query.tag is not None:
        items, more, last = tagged(user_id, query, position, now)
        # Broadcasts between the cursor and the last entry looked at (below it the next page looks again).
        below, above = (position or "").rpartition("#")[2] or LIVE_END, (last or "").rpartition("#")[2] if more else ""
        candidates = [e for e in _held(user_id, query) if above < e.id < below]
        items, more = broadcast.merged(user_id, items, more, candidates, query.page.limit)
        if items and len(items) == query.page.limit:
            last = entry_key(TAG_ENTRY, query.tag, items[-1].id)
        return _page(user_id, query, pinned, items, more, cursors, last)
    index, hash_value = source(user_id, query.channel, query.status)
    prefix, end = (ARCHIVED, ARCHIVE_END) if query.archived else (SNOOZED, SNOOZED_END) if query.snoozed else ("", LIVE_END)
    condition = InboxMessage.id < (position or end)
    size = query.page.limit + 2
    unpinned = InboxMessage.pinned_at.does_not_exist() if query.pins_first else None
    found = index.query(hash_value, condition, unpinned, scan_index_forward=False, limit=size, page_size=size)
    wanted = (m for m in found if m.id.startswith(prefix) and m.id != position and not expired(m, now))
    items, more = storage.first_page(wanted, query.page.limit)
    if not query.archived and not query.snoozed:  # a broadcast the user has not changed is live: it may be among them
        candidates = [e for e in _held(user_id, query) if position is None or e.id < position]
        items, more = broadcast.merged(user_id, items, more, candidates, query.page.limit)
    return _page(user_id, query, pinned, items, more, cursors)


def _held(user_id: str, query: MessageQuery) -> list[IndexEntry]:
    """The broadcasts the user holds that this list shows (`chalicelib.broadcast`): none in a list of read ones."""
    if query.status not in ("all", UNREAD):
        return []
    return broadcast.matching(broadcast.held_by(user_id), query.channel, query.status, query.tag)


def _page(
    user_id: str,
    query: MessageQuery,
    pinned: list[InboxMessage],
    items: list[InboxMessage],
    more: bool,
    cursors: CursorCodec,
    last: str | None = None,
) -> dict[str, Any]:
    """A page: the pinned messages first (on a live list's first page), then ``items``; a cursor after the last."""
    scope = _scope(query)
    shown = [message_json(m) for m in pinned + items]
    if (kept := fitting(shown)) < len(shown):  # cut short by size: Lambda answers at most 6 MB
        items, shown, more, last = items[: max(0, kept - len(pinned))], shown[:kept], True, None
    if last is not None:  # a tag's entries go on after the last one looked at
        return page_json(shown, cursors.encode(user_id, scope, {"id": last}) if more else None)
    cursor = storage.next_cursor(items, more, lambda m: cursors.encode(user_id, scope, {"id": m.id}))
    return page_json(shown, cursor)


def _scope(query: MessageQuery) -> str:
    """What a ``/me/messages`` cursor is bound to: the filters, ``after`` and the archive switch."""
    return json.dumps(["messages", query.channel, query.status, query.after, query.archived, query.tag, query.snoozed])


def catch_up(user_id: str, query: MessageQuery, after: str, cursors: CursorCodec) -> dict[str, Any]:
    """``?after=<last id seen>``, oldest first: what was stored since, behind that id or after it.

    Most messages are stored within a second of minting their id, so
    "stored since ``after``" is the id range above it, widened by
    `ORDER_WINDOW_MS` (one Query): two sends at once may land in either
    order. A message stored late (an audience send's chunk, a retried send) carries an older id than
    messages the client may have seen before it arrived; `stored-index`
    finds those stored since ``after`` was minted, less `LATE_STORE_WINDOW_MS`
    (one Query, and a BatchGetItem when there are any). They come first;
    ones the client already holds may come again: clients de-duplicate by id.
    """
    scope = _scope(query)
    mark = cursors.decode(query.page.cursor, user_id, scope) if query.page.cursor else {}
    limit = query.page.limit
    items: list[InboxMessage] = []
    start = first_id_at_ms(id_time_ms(after) - ORDER_WINDOW_MS)  # where the id range starts; below it, late ones only
    held_now = _held(user_id, query)
    if "id" not in mark:
        floor = str(mark.get("late") or first_id_at_ms(id_time_ms(after) - LATE_STORE_WINDOW_MS))
        items, last = _stored_late(user_id, query, start, floor, after)
        if late := broadcast.stored_late(user_id, held_now, start, floor, last):  # merged in storedId order
            items = sorted([*items, *late], key=lambda m: (m.stored_id or "", m.id))
            items, last = (items[:limit], items[limit - 1].stored_id) if len(items) > limit else (items, last)
        shown = [message_json(m) for m in items]
        if (kept := fitting(shown)) < len(items):  # cut short by size: go on after the last one shown
            return page_json(shown[:kept], cursors.encode(user_id, scope, {"late": items[kept - 1].stored_id}))
        if last is not None:  # more of them may follow
            return page_json(shown, cursors.encode(user_id, scope, {"late": last}))
    position = str(mark.get("id") or start)
    index, hash_value = source(user_id, query.channel, query.status)
    size = limit - len(items) + 3
    found = index.query(
        hash_value, InboxMessage.id.between(position, LIVE_END), scan_index_forward=True, limit=size, page_size=size
    )
    now = utc_now()
    held = (position, after)  # the previous page's last, and the one the client named: it holds both
    newer, more = storage.first_page((m for m in found if m.id not in held and not expired(m, now)), limit - len(items))
    broadcasts = [e for e in reversed(held_now) if e.id > position and e.id not in held]
    newer, more = broadcast.merged(user_id, newer, more, broadcasts, limit - len(items), newest_first=False)
    shown = [message_json(m) for m in items + newer]
    if (kept := fitting(shown)) < len(shown):  # cut short by size (never inside the late ones: they fitted)
        newer, more = newer[: kept - len(items)], True
    cursor = cursors.encode(user_id, scope, {"id": newer[-1].id if newer else position}) if more else None
    return page_json(shown[: len(items) + len(newer)], cursor)


def _stored_late(user_id: str, query: MessageQuery, below: str, floor: str, after: str) -> tuple[list[InboxMessage], str | None]:
    """Live messages with ids below ``below`` (or ``after`` itself) stored since ``floor``: one Query, and a BatchGetItem if any.

    Returns them and where to go on (the last ``storedId`` looked at) when
    more may follow. Late messages with ids from ``below`` on are in the
    index too but filtered out (the id range returns them): the Query looks
    at ``LATE_PAGE`` entries at most, so a page may be short, even empty,
    with a cursor — never an unbounded scan.
    """
    # Live ids only (every other key sorts above any id); and ``after`` itself, which the id range leaves out (the
    # client holds it) but which may have come back since as a new message, woken from a snooze (it keeps its id).
    behind = (InboxMessage.id < below) | (InboxMessage.id == after)
    if query.channel:
        behind &= InboxMessage.channel == query.channel
    found = InboxMessage.stored_index.query(
        user_id, InboxMessage.stored_id > floor, filter_condition=behind, page_size=max(LATE_PAGE, query.page.limit)
    )
    keys, last_evaluated = storage.one_page(InboxMessage, found)
    last = str(last_evaluated["storedId"]["S"]) if last_evaluated else None
    if len(keys) > query.page.limit:
        keys = keys[: query.page.limit]
        last = keys[-1].stored_id
    if not keys:
        return [], last
    stored = storage.read_batch(InboxMessage, [(user_id, k.id) for k in keys])  # archived or deleted meanwhile: not found
    # In stored order, as the Query found them: a page cut short by size goes on after the last one shown.
    now = utc_now()
    shown = (m for m in stored if query.status in ("all", m.status) and not expired(m, now))
    return sorted(shown, key=lambda m: (m.stored_id, m.id)), last


def unread_count(user_id: str, retention: timedelta) -> dict[str, Any]:
    """``{total, unseen, channels}`` from the user's counts item: one GetItem, and one Query for the expired."""
    return current_counts(user_id, retention).summary()
