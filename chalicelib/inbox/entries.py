"""Lists read through entries beside the messages: the pinned messages, and a tag's messages.

**Pins.** A pin sets the message's ``pinnedAt`` and writes an entry
``pin#<pinnedAt>#<id>`` beside it, in one transaction; a live list's first
page reads the entries (one Query, newest pinned first) and their messages
(one BatchGetItem) and puts them first, and the list's pages leave pinned
messages out. An entry whose message is not in the live inbox (archived,
snoozed) is passed over and stays: the message comes back pinned. Pins
change no count.

**Tags.** A message sent with tags is written with one entry per tag beside
it, ``tag#<tag>#<id>``: a page of ``?tag=x`` is one Query on the tag's
entries and one BatchGetItem of their messages, read from their live keys
(archived, snoozed or deleted ones are passed over; their entries stay
until the message's TTL). The entries never change with the message's
state, so reading, archiving or restoring writes nothing more for tags. A
page looks at ``2 × limit + 2`` entries at most, so it is bounded even when
most are passed over: it may then come short, with a cursor.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import TransactWriteError

from chalicelib import storage
from chalicelib.core.clock import iso, utc_now
from chalicelib.core.errors import BusyError, ConflictError
from chalicelib.inbox.bulk import BUSY
from chalicelib.inbox.expiry import expired
from chalicelib.storage import PIN_ENTRY, TAG_ENTRY, Entry, InboxMessage, entry_key, message_json

if TYPE_CHECKING:
    from chalicelib.inbox.queries import MessageQuery

MAX_PINNED = 20  # live pinned messages per user: the first page carries them all


def pinned_messages(user_id: str, wanted: Callable[[InboxMessage], bool] = lambda m: True) -> list[InboxMessage]:
    """The user's live pinned messages that ``wanted`` keeps, newest pinned first: one Query and one BatchGetItem."""
    entries = list(Entry.query(user_id, Entry.id.startswith(PIN_ENTRY), scan_index_forward=False, limit=4 * MAX_PINNED))
    if not entries:
        return []
    found = {m.id: m for m in storage.read_batch(InboxMessage, [(user_id, e.message_id) for e in entries])}
    shown = []
    for entry in entries:
        message = found.pop(entry.message_id, None)
        if message is not None and message.pinned_at is not None and entry.id == _key(message) and wanted(message):
            shown.append(message)
    return shown


def _key(message: InboxMessage) -> str:
    return entry_key(PIN_ENTRY, str(message.pinned_at), message.message_id)


def set_pinned(message: InboxMessage, pinned: bool) -> dict[str, Any] | None:
    """Pin or unpin a live message (at most `MAX_PINNED` pinned): its ``pinnedAt`` and its entry, in one transaction.

    None when the message changed meanwhile (the caller reads it again).
    """
    if pinned == (message.pinned_at is not None):
        return message_json(message)
    if not message.live:
        raise ConflictError("pinned: only a message in the inbox can be pinned or unpinned; restore or wake it first")
    if pinned and len(pinned_messages(message.user_id)) >= MAX_PINNED:
        raise ConflictError(f"pinned: at most {MAX_PINNED} messages can be pinned; unpin one first")
    after = InboxMessage.from_raw_data(message.serialize())
    after.pinned_at = iso(utc_now()) if pinned else None
    same = InboxMessage.pinned_at.does_not_exist() if message.pinned_at is None else InboxMessage.pinned_at == message.pinned_at
    try:
        with storage.transaction() as transaction:
            action = InboxMessage.pinned_at.set(after.pinned_at) if pinned else InboxMessage.pinned_at.remove()
            transaction.update(message, actions=[action], condition=InboxMessage.id.exists() & same)
            if pinned:
                transaction.save(Entry(message.user_id, _key(after), expires_at=message.expires_at))
            else:
                transaction.delete(Entry(message.user_id, _key(message)))
    except TransactWriteError as error:
        if storage.is_busy(error):
            raise BusyError(f"pinned: {BUSY}") from None
        return None
    return message_json(after)


def matches(query: MessageQuery, message: InboxMessage) -> bool:
    """Whether a live message belongs in the query's list (its channel, status and tag filters)."""
    return (
        message.live
        and query.channel in (None, message.channel)
        and query.status in ("all", message.status)
        and (query.tag is None or query.tag in (message.tags or ()))
    )


def tagged(user_id: str, query: MessageQuery, position: str | None, now: datetime) -> tuple[list[InboxMessage], bool, str | None]:
    """A page of the tag's live messages: them, whether more may follow, and the last entry looked at."""
    assert query.tag is not None
    first = entry_key(TAG_ENTRY, query.tag, "")
    size = 2 * query.page.limit + 2
    condition = Entry.id.between(first, position or first + "~")
    entries = [
        e for e in Entry.query(user_id, condition, scan_index_forward=False, limit=size, page_size=size) if e.id != position
    ]
    found = {m.id: m for m in storage.read_batch(InboxMessage, [(user_id, e.message_id) for e in entries])}
    items: list[InboxMessage] = []
    for index, entry in enumerate(entries):
        message = found.get(entry.message_id)
        if message is None or not matches(query, message) or expired(message, now) or message.pinned_at is not None:
            continue
        if len(items) == query.page.limit:
            return items, True, entries[index - 1].id
        items.append(message)
    more = len(entries) >= size - 1
    return items, more, entries[-1].id if entries else None
