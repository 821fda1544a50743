"""Repairs an operator runs for one user: recount their counts, or erase their data.

Both work from the items themselves, so they are the answer to any drift
(a stream record that failed for good, a bug) and to an erasure request.
The deployed side calls them with the stack's table settings; locally,
``python -m infra.local recount|forget-user --user U``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pynamodb.exceptions import PutError
from pynamodb.models import Model

from chalicelib import broadcast, counts, storage
from chalicelib.core.errors import BusyError
from chalicelib.counts import GUARD, GUARD_TIME, KINDS, Counts, OwnChange
from chalicelib.inbox.bulk import in_transaction, per_transaction, unchanged
from chalicelib.inbox.preferences import muted_channels
from chalicelib.storage import LIVE_END, PREFERENCES, Connection, InboxMessage, UserCounts


def recount_user(user_id: str) -> dict[str, dict[str, Any]]:
    """Rewrite the user's counts from their items; return ``{channel: {before, after}}`` for each change.

    The new counts keep the stream's guards and are written only if no
    stream batch changed them meanwhile (``v``), else recounted again.
    """
    for attempt in range(storage.CONFLICT_RETRIES):
        current = counts.read(user_id, consistent=True)
        fixed = tally(user_id, current)
        try:
            _save(fixed, current)
        except PutError as error:
            if not storage.condition_failed(error):
                raise
            storage.pause_before_retry(attempt)  # the stream moved them meanwhile: count again
            continue
        return _changes(current, fixed)
    raise BusyError("user: their counts keep changing; run the recount again")


def tally(user_id: str, current: Counts | None = None) -> Counts:
    """What the user's counts must say, from their items (keeping ``current``'s version and stream guards)."""
    values: dict[tuple[str, str], int] = {}
    latest: dict[str, str] = {}
    for item in InboxMessage.query(user_id, InboxMessage.id < LIVE_END, consistent_read=True):
        counts.add_contribution(values, item.serialize())
        latest[item.channel] = max(latest.get(item.channel, ""), item.id)
    version, guards = (current.version, current.guards) if current else (0, {})
    return Counts(user_id, values, latest, frozenset(muted_channels(user_id)), version, guards)


def _save(fixed: Counts, current: Counts) -> None:
    attributes: dict[str, Any] = {"v": {"N": str(current.version + 1)}}
    for shard, (sequence, when) in fixed.guards.items():
        attributes[f"{GUARD}:{shard}"] = {"S": sequence}
        attributes[f"{GUARD_TIME}:{shard}"] = {"N": str(when)}
    if fixed.muted:
        attributes["muted"] = {"SS": sorted(fixed.muted)}
    for (kind, channel), value in fixed.values.items():
        attributes[f"{kind}:{channel}"] = {"N": str(value)}
    for channel, latest in fixed.latest.items():
        attributes[f"l:{channel}"] = {"S": latest}
    storage.put_item(UserCounts, fixed.user_id, attributes, version=current.version)


def _changes(before: Counts, after: Counts) -> dict[str, dict[str, Any]]:
    changes: dict[str, dict[str, Any]] = {}
    for channel in sorted(set(before.channels) | set(after.channels)):
        old = {kind: before.values.get((kind, channel), 0) for kind in KINDS}  # as stored, below 0 too
        new = {kind: after.values.get((kind, channel), 0) for kind in KINDS}
        if old != new:
            changes[channel] = {"before": _shown(old), "after": _shown(new)}
    return changes


def _shown(kinds: dict[str, int]) -> dict[str, int]:
    return {"unread": kinds["u"], "total": kinds["t"], "unseen": kinds["s"]}


def forget_user(user_id: str) -> dict[str, int]:
    """Delete every item that is the user's: inbox (with archive and preferences) and connections; the broadcasts
    they hold are named as copied (and so deleted) on their copies item, which stays for that.

    The inbox items go in transactions that take their counts and mutes off
    the counts item (an app delete counts itself: `counts.own`); its emptied
    channels are then removed. It keeps the user id with the stream's
    guards, so a late replay of their messages' records cannot count them
    again (deleting it here would let a message still on the stream
    recreate it with counts of a message that is gone).
    """
    hidden = broadcast.hide_held(user_id)  # first: a broadcast they hold has no item here, and must not show again
    items = list(InboxMessage.query(user_id, consistent_read=True))
    for start in range(0, len(items), per_transaction(1)):
        in_transaction(items[start : start + per_transaction(1)], _erase, lambda item: True, field="user")
    counts.tidy(counts.read(user_id, consistent=True))
    connections: list[Model] = []
    try:
        registry = Connection.get(f"user#{user_id}")
    except Connection.DoesNotExist:
        registry = None
    if registry is not None:
        for element in registry.connections or set():
            connections.append(Connection(f"conn#{element.split('|', 1)[0]}"))  # id|connectedAt[|exp]
        connections.append(registry)
    return {"messages": len(items) + hidden, "connections": _delete_all(Connection, connections)}


def _erase(transaction: Any, item: InboxMessage, own: OwnChange) -> None:
    """Delete one item of any kind (a message, its archived copy, a tombstone, the preferences) with its counts."""
    own.item(item.serialize(null_check=False), None)
    if item.id == PREFERENCES:
        own.forget_mutes()
    live = item.id < LIVE_END
    transaction.delete(item, condition=unchanged(item) if live else InboxMessage.id.exists())


def _delete_all(model: type[Model], items: Iterable[Model]) -> int:
    """BatchWriteItem in 25s, unprocessed items resent with backoff (`storage.write_batch`)."""
    doomed = list(items)
    storage.write_batch(model, [], doomed)
    return len(doomed)
