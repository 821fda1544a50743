"""A user's broadcasts as their own messages: in their counts, their lists and by id.

A broadcast the user holds and has not changed (`held`) is, to every read,
a live, unread, unseen, unpinned message of its channel with the send's
tags: it adds 1 to the channel's unread, total and unseen counts (and to
their critical parts, and to its tags' unread). Its text is its send-log
item, read for the messages a page shows (one BatchGetItem).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from chalicelib import counts, storage
from chalicelib.broadcast.held import broadcast_channels, held, held_by_users, register_keys
from chalicelib.broadcast.store import IndexEntry
from chalicelib.core import tenants
from chalicelib.core.clock import utc_now
from chalicelib.core.config import get_settings
from chalicelib.core.ids import id_time_ms
from chalicelib.counts import TAG, Counts
from chalicelib.sending import build_message, request_of
from chalicelib.storage import InboxMessage, SendLog


def counts_with(stored: Counts, entries: Iterable[IndexEntry]) -> Counts:
    """The user's counts with the broadcasts they hold added, each as an unread, unseen live message."""
    values, latest = dict(stored.values), dict(stored.latest)
    for entry in entries:
        channel = tenants.plain_channel(entry.channel)
        kinds = ("u", "t", "s", *(("cu", "cs") if entry.critical else ()))
        for key in [*((kind, channel) for kind in kinds), *((TAG, tag) for tag in entry.tags)]:
            values[key] = values.get(key, 0) + 1
        latest[channel] = max(latest.get(channel, ""), entry.id)
    return replace(stored, values=values, latest=latest)


def retention() -> timedelta:
    """How long a message is kept (the settings'): a broadcast expires as its copies would have."""
    return get_settings().retention


def read_counts(user_id: str) -> tuple[Counts, list[IndexEntry]]:
    """The user's stored counts, and the broadcasts they hold without a copy of their own, newest first.

    The counts item and the registers come in one BatchGetItem (eventually
    consistent, as the counts read was): a user on no channel that ever had a
    broadcast costs nothing more. The rest only for those who may hold some (`held`).
    """
    stored, registers = counts.read_along(user_id, register_keys(user_id))
    return stored, held(user_id, broadcast_channels(registers.values()), utc_now(), retention())


def counts_adders(users: list[str]) -> dict[str, Callable[[Counts], Counts]]:
    """For delivery's batch: each user's counts with the broadcasts they hold added (users holding none left out)."""
    held = held_by_users(users, utc_now(), retention())
    return {user: functools.partial(counts_with, entries=entries) for user, entries in held.items()}


def held_by(user_id: str) -> list[IndexEntry]:
    """The broadcasts the user holds without a copy of their own, newest first."""
    return read_counts(user_id)[1]


def messages(user_id: str, ids: list[str]) -> list[InboxMessage]:
    """The user's view of each of the broadcasts ``ids`` (one BatchGetItem of their send-log items), in their order."""
    logs = {log.id: log for log in storage.read_batch(SendLog, ids)}
    shown = []
    for message_id in ids:
        if (log := logs.get(message_id)) is not None:
            retained = datetime.fromtimestamp(id_time_ms(log.id) / 1000, tz=UTC) + retention()
            shown.append(build_message(request_of(log), log.channel_title, log.id, user_id, retained))
    return shown


def matching(entries: list[IndexEntry], channel: str | None, status: str, tag: str | None) -> list[IndexEntry]:
    """Those a live list with these filters shows: unread ones, of ``channel`` (plain), with ``tag``."""
    if status not in ("all", "unread"):
        return []
    return [
        entry
        for entry in entries
        if (channel is None or tenants.plain_channel(entry.channel) == channel) and (tag is None or tag in entry.tags)
    ]


def merged(
    user_id: str, own: list[InboxMessage], own_more: bool, candidates: list[IndexEntry], limit: int, *, newest_first: bool = True
) -> tuple[list[InboxMessage], bool]:
    """A page of ``limit`` in id order: the user's own page and the broadcasts in the same id range.

    ``own`` are the first ``limit`` of the own items in the range (``own_more``:
    there are others after them), ``candidates`` every held broadcast in it:
    the first ``limit`` of both together are exact, and there are more when
    either side has some left.
    """
    owned = {m.message_id for m in own}  # a copy is listed as the user's own, never twice
    mixed = [*((m.id, m) for m in own), *((e.id, e) for e in candidates if e.id not in owned)]
    ranked = sorted(mixed, key=lambda pair: pair[0], reverse=newest_first)
    page = ranked[:limit]
    bodies = {m.id: m for m in messages(user_id, [key for key, item in page if isinstance(item, IndexEntry)])}
    items = [
        item if isinstance(item, InboxMessage) else bodies[key]
        for key, item in page
        if isinstance(item, InboxMessage) or key in bodies
    ]
    return items, own_more or len(ranked) > limit


def stored_late(user_id: str, held: list[IndexEntry], below: str, since: str, until: str | None) -> list[InboxMessage]:
    """The catch-up's broadcasts stored late: of ``held``, those with ids below ``below`` stored after ``since``
    (and up to ``until``, where the late page of the user's own ends; None: all), each with its ``storedId``."""
    stored = {e.id: e.stored for e in held if e.id < below and e.stored is not None and since < e.stored <= (until or e.stored)}
    views = messages(user_id, list(stored))
    for view in views:
        view.stored_id = stored[view.message_id]
    return views
