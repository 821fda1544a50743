"""Repairs an operator runs for one user: recount their counters, or erase their data.

Both work from the items themselves, so they are the answer to any drift
(a failed stream record, a bug) and to an erasure request. The deployed
side calls them with the stack's table settings; locally,
``python -m infra.local recount|forget-user --user U``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pynamodb.models import Model

from chalicelib.models import UNREAD, ChannelCounter, Connection, InboxMessage

COUNTED = ["userId", "id", "channel", "channelTitle", "title", "status", "createdAt"]


@dataclass
class Tally:
    """What a channel's counter must say, from the items."""

    unread: int = 0
    total: int = 0
    latest: InboxMessage | None = None

    def add(self, message: InboxMessage) -> None:
        self.total += 1
        self.unread += message.status == UNREAD
        if self.latest is None or message.id > self.latest.id:
            self.latest = message


def recount_user(user_id: str) -> dict[str, dict[str, Any]]:
    """Rewrite every counter of the user from their items; return ``{channel: {before, after}}`` for changes.

    Run it while the user is quiet: a send or a read racing the recount can
    be missed by it (run it again). Channels whose messages are all gone keep
    a counter of zero, which hides them from ``/me/channels``.
    """
    tallies: dict[str, Tally] = {}
    for message in InboxMessage.query(user_id, attributes_to_get=COUNTED):
        tallies.setdefault(message.channel, Tally()).add(message)
    changes: dict[str, dict[str, Any]] = {}
    counters = {c.channel: c for c in ChannelCounter.query(user_id)}
    for channel in sorted(set(tallies) | set(counters)):
        tally = tallies.get(channel, Tally())
        counter = counters.get(channel) or ChannelCounter(user_id, channel)
        before = (int(counter.unread or 0), int(counter.total or 0))
        if before == (tally.unread, tally.total) and channel in counters:
            continue
        _apply(counter, tally)
        counter.save()
        changes[channel] = {"before": dict(zip(("unread", "total"), before, strict=True)), "after": _shown(tally)}
    return changes


def _apply(counter: ChannelCounter, tally: Tally) -> None:
    counter.unread, counter.total = tally.unread, tally.total
    if tally.latest is not None:
        counter.channel_title = tally.latest.channel_title
        counter.latest_id = tally.latest.id
        counter.latest_title = tally.latest.title
        counter.latest_created_at = tally.latest.created_at


def _shown(tally: Tally) -> dict[str, Any]:
    return {"unread": tally.unread, "total": tally.total, "latest": None if tally.latest is None else tally.latest.id}


def forget_user(user_id: str) -> dict[str, int]:
    """Delete every item that is the user's: inbox, counters, connections. Returns how many of each."""
    inbox = _delete_all(InboxMessage, InboxMessage.query(user_id, attributes_to_get=["userId", "id"]))
    counters = _delete_all(ChannelCounter, ChannelCounter.query(user_id, attributes_to_get=["userId", "channel"]))
    connections: list[Model] = []
    try:
        registry = Connection.get(f"user#{user_id}")
    except Connection.DoesNotExist:
        registry = None
    if registry is not None:
        for element in registry.connections or set():
            connections.append(Connection(f"conn#{element.rpartition('|')[0]}"))
        connections.append(registry)
    return {"messages": inbox, "counters": counters, "connections": _delete_all(Connection, connections)}


def _delete_all(model: type[Model], items: Iterable[Model]) -> int:
    """BatchWriteItem in 25s; PynamoDB's batch retries unprocessed items with backoff."""
    deleted = 0
    with model.batch_write() as batch:
        for item in items:
            batch.delete(item)
            deleted += 1
    return deleted
