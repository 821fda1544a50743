"""A user's own copy of a broadcast, written when they first change it: from then on it is an ordinary message.

One transaction writes the copies (each as the broadcast showed it — live,
unread, unseen — or already changed, for a change of "all") with a fresh
``counted`` mark, adds the copies' shares to the user's counts item and the
broadcasts' ids to their copies item (``~m|<user>``, a set per month:
`store.copied_name`; the sets of months past the retention go in the same
write) — on the condition that it names none of them. The reads then leave those broadcasts out and count the copies
instead, and no write can make a second copy (a copy archived, snoozed or
deleted since is still named there). The stream leaves a copy's INSERT
uncounted (the mark) and sends no frame for a live one (``copiedAt``): the
user's devices show the message already. Every later change — read, seen,
archive, delete, snooze, pin — runs on the copy exactly as on any message.
"""

from __future__ import annotations

from collections.abc import Callable

from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.operand import Path

from chalicelib import counts, storage
from chalicelib.broadcast.store import IndexEntry, copied_name, copies_key, stale_copied
from chalicelib.broadcast.views import held_by, matching, messages, retention
from chalicelib.core.clock import iso, utc_now
from chalicelib.counts import OwnChange
from chalicelib.sending import entries_of
from chalicelib.storage import InboxMessage, UserCounts

Change = Callable[[InboxMessage], None]  # what a change of "all" does to a copy before it is written


def write_copy(user_id: str, message_id: str) -> None:
    """Write the user's copy of the broadcast ``message_id`` they hold, as it shows; nothing if one was written meanwhile."""
    _write(user_id, messages(user_id, [message_id]))


def hide_held(user_id: str) -> int:
    """Every broadcast the user holds is named as copied, so none shows again (their data erased): how many."""
    ids = {entry.id for entry in held_by(user_id)}
    if ids:
        storage.update_item(UserCounts, copies_key(user_id), [Path(name).add(named) for name, named in _by_set(ids).items()])
    return len(ids)


def _by_set(ids: set[str]) -> dict[str, set[str]]:
    """``ids`` by the set of the copies item that names them (`store.copied_name`)."""
    sets: dict[str, set[str]] = {}
    for message_id in ids:
        sets.setdefault(copied_name(message_id), set()).add(message_id)
    return sets


def change_all(user_id: str, channel: str | None, change: Change, limit: int) -> tuple[int, bool]:
    """A change of "all" for the broadcasts the user holds (of ``channel``): their copies written already changed.

    At most ``limit`` of them; how many were written, and whether some are left.
    """
    held: list[IndexEntry] = matching(held_by(user_id), channel, "unread", None)
    written = 0
    copies = messages(user_id, [entry.id for entry in held[:limit]])
    for copy in copies:
        change(copy)
    for chunk in _transactions(copies):
        written += _write_held(user_id, chunk)
    return written, len(held) > limit


def _write_held(user_id: str, chunk: list[InboxMessage]) -> int:
    """One transaction of copies; if one was copied meanwhile (another device), the rest, still held, go again."""
    for attempt in range(storage.CONFLICT_RETRIES):
        if not chunk:
            return 0
        if written := _write(user_id, chunk):
            return written
        still = {entry.id for entry in held_by(user_id)}
        chunk = [copy for copy in chunk if copy.message_id in still]
        storage.pause_before_retry(attempt)
    return 0


def _transactions(copies: list[InboxMessage]) -> list[list[InboxMessage]]:
    """The copies cut into transactions: each copy's item and entries, the counts and the copies items, ≤ 100 actions."""
    chunks: list[list[InboxMessage]] = [[]]
    room = storage.MAX_TRANSACTION_ACTIONS - 2
    for copy in copies:
        actions = 1 + (len(entries_of(copy)) if copy.live else 0)
        if room < actions:
            chunks.append([])
            room = storage.MAX_TRANSACTION_ACTIONS - 2
        chunks[-1].append(copy)
        room -= actions
    return [chunk for chunk in chunks if chunk]


def _write(user_id: str, copies: list[InboxMessage]) -> int:
    """One transaction of copies and their counts; how many it wrote (0: written meanwhile by another request)."""
    if not copies:
        return 0
    own, mark, moment = OwnChange(user_id), counts.fresh_mark(), utc_now()
    now = iso(moment)
    sets = _by_set({copy.message_id for copy in copies})
    condition = None
    for message_id in sorted(i for named in sets.values() for i in named):
        absent = ~Path(copied_name(message_id)).contains(message_id)
        condition = absent if condition is None else condition & absent
    named = [Path(name).add(ids) for name, ids in sets.items()]
    # A held broadcast is live, so its set is never stale — but one expiring between the read and now, at a month's
    # turn, could be: a path both added and removed would fail the whole update.
    stale = [Path(name).remove() for name in stale_copied(moment, retention()) if name not in sets]
    try:
        with storage.transaction() as transaction:
            for copy in copies:
                copy.counted, copy.copied_at = mark, now
                own.item(None, copy.serialize())
                transaction.save(copy, condition=InboxMessage.id.does_not_exist())
                for entry in entries_of(copy) if copy.live else []:
                    transaction.save(entry)
            own.write(transaction)
            transaction.update(UserCounts(copies_key(user_id)), actions=[*named, *stale], condition=condition)
    except TransactWriteError as error:
        if storage.CONDITION_FAILED not in storage.cancellation_codes(error):
            raise  # busy: the change fails as any busy write does, and is retried
        return 0
    return len(copies)
