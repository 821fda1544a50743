"""The broadcasts a user holds and has not changed: three reads, whatever the number of channels or broadcasts.

1. the registers of the user's possible tenants (`store.register_key`)
   name the channels that ever had broadcasts (read with the user's counts
   item: the same BatchGetItem);
2. the user's subscription and ended subscriptions on each such channel
   (one BatchGetItem: both kinds share the subscribers table, 50 channels a
   call), then the index items of those they are or were on,
   with the user's copies item (one consistent BatchGetItem);
3. in memory: the index entries whose number falls in one of the user's
   spans (subscribed with ``fromSeq`` < number, and still, or until
   ``toSeq`` ≥ number), in the same life of the channel, not expired, and
   not among those the user holds a copy of (``materialized``: their own
   item counts and lists them from then on).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib import storage
from chalicelib.broadcast.store import IndexEntry, copied_ids, copies_key, entries_of, index_key, register_key
from chalicelib.core.tenants import SEPARATOR
from chalicelib.storage import PAST, PastSubscriptions, Subscription, UserCounts

OPEN = 1 << 62  # a span still running: every later number


@dataclass(frozen=True)
class Span:
    """Broadcasts numbered in (``after``, ``until``] of the channel's life ``floor``."""

    floor: str
    after: int
    until: int = OPEN
    since: str | None = None  # a subscription older than broadcasts (no floor): the life begun by its id, from 0

    def holds(self, entry: IndexEntry) -> bool:
        life = entry.floor <= self.since if self.since is not None else entry.floor == self.floor
        return life and self.after < entry.seq <= self.until

    @classmethod
    def of(cls, subscription: Subscription) -> Span:
        """A standing subscription's span. One without ``floor`` was written before broadcasts: every broadcast
        of the channel's lives begun by its id (its own; earlier ones ended before broadcasts existed)."""
        if subscription.floor is None:
            return cls("", 0, since=subscription.since)
        return cls(subscription.floor, int(subscription.from_seq))

    @classmethod
    def parse(cls, text: str) -> Span:
        floor, after, until = text.split(":")
        return cls(floor, int(after), int(until))


def register_keys(user_id: str) -> list[str]:
    """The register keys a user's channels may be named in: no tenant's, and the tenant the id may start with."""
    tenant, separator, _ = user_id.partition(SEPARATOR)
    return [register_key(None), *([register_key(tenant)] if separator else [])]


def broadcast_channels(registers: Iterable[dict[str, Any]]) -> list[str]:
    """The channels (as stored) the raw register items name: those that ever had a broadcast."""
    return sorted({channel for item in registers for channel in item.get("channels", {}).get("SS", [])})


def spans_of(user_id: str, channels: list[str]) -> dict[str, list[Span]]:
    """The user's spans on each of ``channels`` (one BatchGetItem: a subscription and an ended ones' item per channel)."""
    spans: dict[str, list[Span]] = {channel: [] for channel in channels}
    for channel, _, found in _standing_and_ended([(channel, user_id) for channel in channels]):
        spans[channel] += found
    return spans


def spans_by_user(channel: str, users: list[str]) -> dict[str, list[Span]]:
    """Each user's spans on one channel (BatchGetItems of 100 keys: their subscriptions and ended ones)."""
    spans: dict[str, list[Span]] = {user: [] for user in users}
    for _, user, found in _standing_and_ended([(channel, user) for user in users]):
        spans[user] += found
    return spans


def _standing_and_ended(pairs: list[tuple[str, str]]) -> Iterator[tuple[str, str, list[Span]]]:
    """(channel, user, spans) of each (channel, user)'s subscription and ended subscriptions item that exists: both
    kinds in the same BatchGetItems (one table)."""
    keys = [key for channel, user in pairs for key in ((channel, user), (PAST + channel, user))]
    for raw in storage.read_raw(Subscription, keys, consistent=True):
        if raw["channel"]["S"].startswith(PAST):
            past = PastSubscriptions.from_raw_data(raw)
            yield past.channel.removeprefix(PAST), past.user_id, [Span.parse(text) for text in past.spans or ()]
        else:
            subscription = Subscription.from_raw_data(raw)
            yield subscription.channel, subscription.user_id, [Span.of(subscription)]


def entries_and_copies(user_id: str, channels: list[str]) -> tuple[list[IndexEntry], frozenset[str]]:
    """Every broadcast of ``channels`` and the ids of those the user holds a copy of: one consistent BatchGetItem
    of the channels' index items and the user's copies item (a copy just written is never shown twice)."""
    by_key = {index_key(channel): channel for channel in channels}
    copies = copies_key(user_id)
    entries: list[IndexEntry] = []
    copied: frozenset[str] = frozenset()
    for item in storage.read_items(UserCounts, "userId", [*by_key, copies]):
        key = item["userId"]["S"]
        if key == copies:
            copied = copied_ids(item)
        else:
            entries += entries_of(by_key[key], item)
    return entries, copied


def held(user_id: str, channels: list[str], now: datetime, retention: timedelta) -> list[IndexEntry]:
    """The broadcasts of ``channels`` the user holds, has no copy of and that have not expired, newest first."""
    if not channels:
        return []
    spans = spans_of(user_id, channels)
    if not any(spans.values()):
        return []
    entries, copied = entries_and_copies(user_id, [c for c in channels if spans[c]])
    shown = (
        entry
        for entry in entries
        if entry.id not in copied
        and any(span.holds(entry) for span in spans[entry.channel])
        and not entry.expired(now, retention)
    )
    return sorted(shown, key=lambda entry: entry.id, reverse=True)


def held_by_users(users: list[str], now: datetime, retention: timedelta) -> dict[str, list[IndexEntry]]:
    """`held` for many users at once (delivery's batch): the registers once, each channel's spans for its
    candidates in BatchGetItems of 100, the index and copies items in one consistent read; users holding
    nothing are left out."""
    keys = {user: register_keys(user) for user in users}
    registers = {
        item["userId"]["S"]: item
        for item in storage.read_items(UserCounts, "userId", sorted({k for ks in keys.values() for k in ks}), consistent=False)
    }
    channels_of = {user: broadcast_channels(registers[k] for k in ks if k in registers) for user, ks in keys.items()}
    spans: dict[str, dict[str, list[Span]]] = {}
    for channel in sorted({c for cs in channels_of.values() for c in cs}):
        for user, found in spans_by_user(channel, [u for u, cs in channels_of.items() if channel in cs]).items():
            if found:
                spans.setdefault(user, {})[channel] = found
    held_map: dict[str, list[IndexEntry]] = {}
    for user, by_channel in spans.items():
        entries, copied = entries_and_copies(user, sorted(by_channel))
        shown = [
            e
            for e in entries
            if e.id not in copied and any(s.holds(e) for s in by_channel[e.channel]) and not e.expired(now, retention)
        ]
        if shown:
            held_map[user] = sorted(shown, key=lambda entry: entry.id, reverse=True)
    return held_map
