"""Channel subscribers (admin): add, remove, list; and the pages the fan-out worker walks.

One item per (channel, user) keyed for a paged Query, so a channel of
millions is read a page at a time and never scanned. Changes go through
BatchGetItem (100 keys: who is subscribed already, so ``added``/``removed``
count real changes) and BatchWriteItem (25 puts or deletes, unprocessed
items retried). A subscription keeps the id minted when it was added
(``since``): an audience send reaches subscriptions older than its own id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import islice
from typing import Any

from chalicelib import storage
from chalicelib.channels import get_channel
from chalicelib.core.cursors import CursorCodec, Page
from chalicelib.core.ids import first_id_at, new_id
from chalicelib.storage import Channel, Subscription, page_json, subscriber_json

KEYS_PER_BATCH_GET = 100
CURSOR_SCOPE = "subscribers"


@dataclass(frozen=True)
class SubscriberChanges:
    """``POST /channels/{name}/subscribers``: the final state is "remove, then add" (an id in both stays)."""

    add: list[str]
    remove: list[str]


def _subscribed(channel: Channel, users: list[str]) -> set[str]:
    """Which of ``users`` are subscribed to ``channel`` now (BatchGetItem, 100 keys a call).

    A subscription older than the channel belongs to a deleted channel of the same name whose
    clean-up has not reached it yet: it counts as absent, and adding the user again replaces it.
    """
    found: set[str] = set()
    floor = first_id_at(channel.created_at)
    it = iter(users)
    while batch := list(islice(it, KEYS_PER_BATCH_GET)):
        keys = [(channel.name, user) for user in batch]
        found |= {item.user_id for item in storage.read_batch(Subscription, keys) if item.since >= floor}
    return found


def change_subscribers(name: str, changes: SubscriberChanges) -> dict[str, int]:
    """Apply ``remove`` then ``add``; answer how many subscriptions really appeared and went."""
    present = _subscribed(get_channel(name), changes.add + changes.remove)
    since = new_id()
    puts = [Subscription(name, user, since=since) for user in changes.add if user not in present]
    deletes = [Subscription(name, user) for user in changes.remove if user in present]
    storage.write_batch(Subscription, puts, deletes)
    return {"added": len(puts), "removed": len(deletes)}


def list_subscribers(user_id: str, name: str, page: Page, cursors: CursorCodec) -> dict[str, Any]:
    """A page of the channel's subscribers in user id order; the cursor holds the last id."""
    floor = first_id_at(get_channel(name).created_at)
    scope = json.dumps([CURSOR_SCOPE, name])
    condition = None
    if page.cursor:
        condition = Subscription.user_id > str(cursors.decode(page.cursor, user_id, scope).get("user", ""))
    size = page.limit + 1
    found = Subscription.query(
        name, range_key_condition=condition, filter_condition=Subscription.since >= floor, limit=size, page_size=size
    )
    items, more = storage.first_page(found, page.limit)
    cursor = storage.next_cursor(items, more, lambda s: cursors.encode(user_id, scope, {"user": s.user_id}))
    return page_json([subscriber_json(s) for s in items], cursor)


def _window(since: str, before: str) -> Any:
    """Subscribed from id ``since`` to before id ``before``: the moment of a send, within its channel's life."""
    return (Subscription.since >= since) & (Subscription.since < before)


def count_between(channel: str, since: str, before: str) -> int:
    """How many users ``page_between`` would page through from the start (one Query, counted)."""
    return int(Subscription.count(channel, filter_condition=_window(since, before)))


def page_between(channel: str, since: str, before: str, after_user: str | None, size: int) -> tuple[list[str], str | None]:
    """One Query call: users subscribed from id ``since`` to before id ``before``, after ``after_user``;
    and where the next call starts (None: the end).

    ``size`` bounds the subscriptions the call reads (others are read and filtered out), so one call
    costs at most ``size`` × ~0.1 KB of read.
    """
    condition = None if after_user is None else Subscription.user_id > after_user
    results = Subscription.query(channel, range_key_condition=condition, filter_condition=_window(since, before), page_size=size)
    items, last_key = storage.one_page(Subscription, results)
    return [item.user_id for item in items], None if last_key is None else str(last_key["userId"]["S"])


def remove_page(channel: str, before: str, after_user: str | None, size: int) -> str | None:
    """Delete one page of subscriptions older than ``before``; the next start, or None at the end."""
    users, next_user = page_between(channel, "", before, after_user, size)
    storage.write_batch(Subscription, [], [Subscription(channel, user) for user in users])
    return next_user
