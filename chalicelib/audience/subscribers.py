"""Channel subscribers (admin): add, remove, list; and the pages the fan-out worker walks.

One item per (channel, user) keyed for a paged Query, so a channel of
millions is read a page at a time and never scanned. Changes go through
BatchGetItem (100 keys: who is subscribed already, so ``added``/``removed``
count real changes) and transactions that also move the channel's
subscriber count (`chalicelib.broadcast.sequence`). A subscription keeps the id minted when it was added
(``since``): an audience send reaches subscriptions older than its own id;
and the channel's broadcast number then (``fromSeq``): a broadcast reaches
subscriptions that stood when it was stored.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

from pynamodb.exceptions import DeleteError, TransactWriteError

from chalicelib import broadcast, storage
from chalicelib.channels import get_channel
from chalicelib.core.cursors import CursorCodec, Page
from chalicelib.core.errors import BusyError
from chalicelib.core.ids import first_id_at, new_id
from chalicelib.storage import PAST, Channel, PastSubscriptions, Subscription, page_json, subscriber_json

KEYS_PER_BATCH_GET = 100
CURSOR_SCOPE = "subscribers"


@dataclass(frozen=True)
class SubscriberChanges:
    """``POST /channels/{name}/subscribers``: the final state is "remove, then add" (an id in both stays)."""

    add: list[str]
    remove: list[str]


def _subscribed(channel: Channel, users: list[str]) -> tuple[dict[str, Subscription], dict[str, Subscription]]:
    """Who of ``users`` is subscribed to ``channel`` now, with their subscriptions (BatchGetItem, 100 keys a call);
    and the leftovers.

    A subscription older than the channel belongs to a deleted channel of the same name whose
    clean-up has not reached it yet (a leftover): it counts as absent, and adding the user again replaces it.
    """
    found: dict[str, Subscription] = {}
    leftovers: dict[str, Subscription] = {}
    floor = first_id_at(channel.created_at)
    it = iter(users)
    while batch := list(islice(it, KEYS_PER_BATCH_GET)):
        for item in storage.read_batch(Subscription, [(channel.name, user) for user in batch], consistent=True):
            (found if item.since >= floor else leftovers)[item.user_id] = item
    return found, leftovers


def change_subscribers(name: str, changes: SubscriberChanges) -> dict[str, int]:
    """Apply ``remove`` then ``add``; answer how many subscriptions really appeared and went.

    Each transaction (≤ 100 actions) writes its subscriptions and moves the
    channel's subscriber count (`chalicelib.broadcast.sequence`) on the condition
    that no broadcast came between the read and the write; an ended
    subscription that held broadcasts — removed, or a leftover an add replaces —
    is kept as a span the user keeps them by.
    A transaction refused (a broadcast, another admin's change) reads again and
    goes on with what is left, so ``added``/``removed`` count real changes.
    """
    channel = get_channel(name)
    floor = first_id_at(channel.created_at)
    added = removed = 0
    for attempt in range(storage.CONFLICT_RETRIES):
        present, leftovers = _subscribed(channel, changes.add + changes.remove)
        adds = [user for user in changes.add if user not in present]
        ends = [present[user] for user in changes.remove if user in present]
        if not adds and not ends:
            return {"added": added, "removed": removed}
        sequence = broadcast.read_sequence(name, floor)
        since = new_id()
        kept = {user: span for user in adds if user in leftovers and (span := held_span(leftovers[user], sequence))}
        for chunk_ends, chunk_adds in _transactions(ends, adds, kept):
            if not _write_changes(sequence, since, chunk_ends, chunk_adds, kept):
                break
            added, removed = added + len(chunk_adds), removed + len(chunk_ends)
        else:
            return {"added": added, "removed": removed}
        storage.pause_before_retry(attempt)
    raise BusyError("add: the channel's subscriptions keep changing; send the same change again")


def held_span(ended: Subscription, sequence: broadcast.ChannelSequence) -> str | None:
    """The span ``<floor>:<fromSeq>:<toSeq>`` an ended subscription keeps its broadcasts by; None if it held none.

    ``sequence``: the channel's, read now (its lives' last numbers). A subscription without ``floor`` was
    written before broadcasts: it belongs to the last life begun by its id that had any (an earlier one
    ended before broadcasts existed), from its first.
    """
    if ended.floor is None:
        life = sequence.life_of(ended.since)
        if life is None:
            return None
        floor, after, last = life[0], 0, life[1]
    else:
        floor, after, last = ended.floor, int(ended.from_seq), dict(sequence.lives).get(ended.floor, 0)
    return f"{floor}:{after}:{last}" if last > after else None


def _transactions(
    ends: list[Subscription], adds: list[str], kept: dict[str, str]
) -> Iterator[tuple[list[Subscription], list[str]]]:
    """The changes cut into transactions: the sequence item's update, two actions per end, one per add (two for
    an add that keeps a leftover's span)."""
    room = storage.MAX_TRANSACTION_ACTIONS - 1
    while ends or adds:
        taken_ends, ends = ends[: room // 2], ends[room // 2 :]
        space = room - 2 * len(taken_ends)
        taken_adds: list[str] = []
        while adds and space >= (cost := 2 if adds[0] in kept else 1):
            taken_adds.append(adds.pop(0))
            space -= cost
        yield taken_ends, taken_adds


def _write_changes(
    sequence: broadcast.ChannelSequence, since: str, ends: list[Subscription], adds: list[str], kept: dict[str, str]
) -> bool:
    """One transaction of subscription changes; False if refused (read again and retry the rest)."""
    channel, floor = sequence.channel, sequence.floor
    try:
        with storage.transaction() as transaction:
            delta = sequence.add_subscribers(len(adds) - len(ends))
            transaction.update(broadcast.sequence_item(channel), actions=delta, condition=sequence.unmoved())
            for ended in ends:
                transaction.delete(ended, condition=Subscription.since == ended.since)
                if span := held_span(ended, sequence):  # it held broadcasts: the user keeps them
                    _keep(transaction, channel, ended.user_id, span)
            for user in adds:
                subscription = Subscription(channel, user, since=since, from_seq=sequence.seq, floor=floor)
                transaction.save(subscription, condition=Subscription.since.does_not_exist() | (Subscription.since < floor))
                if user in kept:  # it replaces a leftover of a deleted channel of this name that held broadcasts
                    _keep(transaction, channel, user, kept[user])
    except TransactWriteError as error:
        if storage.is_busy(error) or storage.CONDITION_FAILED in storage.cancellation_codes(error):
            return False
        raise
    return True


def _keep(transaction: Any, channel: str, user: str, span: str) -> None:
    past = PastSubscriptions(PAST + channel, user)
    transaction.update(past, actions=[PastSubscriptions.spans.add({span})])


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


def count_life(channel: str, floor: str) -> int:
    """How many users are subscribed to the life of ``channel`` that began at ``floor`` (a counted Query, paged)."""
    # Consistent: a change that landed before the count's read of ``v`` must be in the count (`set_counted`).
    return int(Subscription.count(channel, filter_condition=Subscription.since >= floor, consistent_read=True))


def page_between(channel: str, since: str, before: str, after_user: str | None, size: int) -> tuple[list[str], str | None]:
    """One Query call: users subscribed from id ``since`` to before id ``before``, after ``after_user``;
    and where the next call starts (None: the end).

    ``size`` bounds the subscriptions the call reads (others are read and filtered out), so one call
    costs at most ``size`` × ~0.1 KB of read.
    """
    items, next_user = _subscriptions_between(channel, since, before, after_user, size)
    return [item.user_id for item in items], next_user


def _subscriptions_between(
    channel: str, since: str, before: str, after_user: str | None, size: int
) -> tuple[list[Subscription], str | None]:
    condition = None if after_user is None else Subscription.user_id > after_user
    results = Subscription.query(channel, range_key_condition=condition, filter_condition=_window(since, before), page_size=size)
    items, last_key = storage.one_page(Subscription, results)
    return items, None if last_key is None else str(last_key["userId"]["S"])


def remove_page(channel: str, before: str, after_user: str | None, size: int) -> str | None:
    """Delete one page of subscriptions older than ``before``; the next start, or None at the end.

    A subscription that held broadcasts of the deleted channel is kept first as
    an ended span (to the deleted channel's last broadcast): its user keeps them,
    as they keep the messages stored for them. Run again, the page finds the
    spans written already (a set: adding one twice changes nothing). Each
    delete is conditioned on the subscription still being the old one: a user
    added again to the channel made anew since the page was read keeps their
    new subscription (and the channel's count, which has them, stays right).
    """
    ended, next_user = _subscriptions_between(channel, "", before, after_user, size)
    sequence = broadcast.read_sequence(channel)
    for item in ended:
        if span := held_span(item, sequence):  # an ADD: a span the user's later changes wrote meanwhile stays
            PastSubscriptions(PAST + channel, item.user_id).update(actions=[PastSubscriptions.spans.add({span})])
        try:
            Subscription(channel, item.user_id).delete(condition=Subscription.since < before)
        except DeleteError as error:
            if not storage.condition_failed(error):
                raise
    return next_user
