"""The WebSocket connection registry, shaped for fan-out cost.

Two kinds of items in one table:

* ``user#<id>`` holds the set of that user's live connections, each element
  ``<connectionId>|<connectedAtMs>|<tokenExp>`` — so finding every connection
  of U users is ⌈U/100⌉ BatchGetItem calls, and what delivery needs to judge
  each comes with it: the connect time (a 410 while ``$connect`` still runs,
  the oldest beyond the cap) and the token's ``exp`` (an expired token's
  connection gets no frame). Elements written before ``exp`` was kept have
  two parts and no expiry but the item's TTL;
* ``conn#<id>`` maps a connection back to its user (and connect time and
  ``exp``) for ``$disconnect`` and ``$default``.

Both carry a TTL of 2 h + margin (API Gateway's hard limit per connection),
so connections whose ``$disconnect`` never came disappear on their own.

A user keeps at most ``max_per_user`` connections: `beyond_cap` names the
oldest ones a new connection displaces, and `lookup` hands delivery only the
newest ``max_per_user`` of a user (more may be stored for a moment: connects
that raced, or a cap lowered since), so one user's sockets add a bounded
number of posts to a batch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from chalicelib import storage
from chalicelib.core.config import DEFAULT_MAX_CONNECTIONS_PER_USER
from chalicelib.core.errors import BusyError
from chalicelib.storage import Connection

logger = logging.getLogger(__name__)

MAX_LIFETIME = timedelta(hours=2)
TTL_MARGIN = timedelta(minutes=10)


@dataclass(frozen=True)
class LiveConnection:
    connection_id: str
    user_id: str
    connected_at_ms: int
    token_expires_at: int | None = None  # the token's ``exp`` (epoch seconds); None for elements from before it was kept

    @property
    def element(self) -> str:
        expiry = "" if self.token_expires_at is None else f"|{self.token_expires_at}"
        return f"{self.connection_id}|{self.connected_at_ms}{expiry}"

    def age_seconds(self, now: float) -> float:
        return now - self.connected_at_ms / 1000

    def expired(self, now: float) -> bool:
        """Its token's ``exp`` has passed: it may get no further message frame."""
        return self.token_expires_at is not None and self.token_expires_at <= now


class Lookup(NamedTuple):
    """`ConnectionRegistry.lookup`'s answer."""

    connections: dict[str, list[LiveConnection]]
    unread: set[str]
    left: dict[str, int]  # users with no live connection: when their last one went (ms)


def _user_key(user_id: str) -> str:
    return f"user#{user_id}"


def _conn_key(connection_id: str) -> str:
    return f"conn#{connection_id}"


def _number(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _parse(user_id: str, element: str) -> LiveConnection | None:
    """``id|connectedAtMs|exp``, or ``id|connectedAtMs`` as elements were written before ``exp`` was kept."""
    head, _, last = element.rpartition("|")
    connection_id, sep, connected = head.rpartition("|")
    if sep and connection_id and _number(connected) and _number(last):
        return LiveConnection(connection_id, user_id, int(connected), int(last))
    if not head or not _number(last):
        return None
    return LiveConnection(head, user_id, int(last))


def _newest_first(live: LiveConnection) -> tuple[int, str]:
    return -live.connected_at_ms, live.connection_id


class ConnectionRegistry:
    """Stores, finds and forgets WebSocket connections."""

    def __init__(self, clock: Callable[[], float] = time.time, max_per_user: int = DEFAULT_MAX_CONNECTIONS_PER_USER) -> None:
        self._clock = clock
        self.max_per_user = max_per_user

    def _now(self) -> float:
        return self._clock()

    def connect(self, live: LiveConnection) -> None:
        """Register a connection: both items in one transaction."""
        expires = datetime.now(UTC) + MAX_LIFETIME + TTL_MARGIN
        item = Connection(
            _conn_key(live.connection_id),
            user_id=live.user_id,
            connected_at=live.connected_at_ms,
            token_expires_at=live.token_expires_at,
            expires_at=expires,
        )

        def register() -> None:  # the user's item is shared by their tabs: two connecting at once conflict
            with storage.transaction() as transaction:
                transaction.save(item)
                transaction.update(
                    Connection(_user_key(live.user_id)),
                    actions=[Connection.connections.add({live.element}), Connection.expires_at.set(expires)],
                )

        storage.retrying_conflicts(register)

    def find(self, connection_id: str) -> LiveConnection | None:
        """One connection by its id (``$disconnect``, ``$default``), or None when it is unknown or forgotten."""
        try:
            item = Connection.get(_conn_key(connection_id))
        except Connection.DoesNotExist:
            return None
        if item.user_id is None or item.connected_at is None:
            return None
        expiry = None if item.token_expires_at is None else int(item.token_expires_at)
        return LiveConnection(connection_id, item.user_id, int(item.connected_at), expiry)

    def disconnect(self, connection_id: str) -> str | None:
        """Forget a connection on ``$disconnect``; its user's id, or None for an unknown id."""
        live = self.find(connection_id)
        if live is not None:
            self.forget(live)
        return None if live is None else live.user_id

    def beyond_cap(self, live: LiveConnection) -> list[LiveConnection]:
        """The user's oldest connections that a newly registered one pushes beyond ``max_per_user`` (one consistent read)."""
        try:
            item = Connection.get(_user_key(live.user_id), consistent_read=True)
        except Connection.DoesNotExist:
            return []
        others = [c for c in self._parsed(live.user_id, item.connections) if c.connection_id != live.connection_id]
        keep = self.max_per_user - 1  # the new one stays
        return sorted(others, key=_newest_first)[keep:] if len(others) > keep else []

    def forget(self, live: LiveConnection) -> None:
        """Remove a gone connection from its user's set and drop its item."""

        def unregister() -> None:
            with storage.transaction() as transaction:
                transaction.delete(Connection(_conn_key(live.connection_id)))
                gone: list[Any] = [Connection.connections.delete({live.element}), Connection.left_at.set(int(self._now() * 1000))]
                transaction.update(Connection(_user_key(live.user_id)), actions=gone)

        storage.retrying_conflicts(unregister)

    def lookup(self, user_ids: list[str]) -> Lookup:
        """The live connections of these users, at most ``max_per_user`` each, the newest (⌈U/100⌉ BatchGetItem);
        the users whose read still failed; and when each user without one lost their last (``left``).

        One user's trouble stays theirs: a throttled hundred is reported, the others are found.
        """
        found: dict[str, list[LiveConnection]] = {}
        left: dict[str, int] = {}
        unread: set[str] = set()
        oldest_ms = (self._now() - (MAX_LIFETIME + TTL_MARGIN).total_seconds()) * 1000
        users = list(dict.fromkeys(user_ids))
        for start in range(0, len(users), storage.BATCH_GET_KEYS):
            hundred = users[start : start + storage.BATCH_GET_KEYS]
            try:
                items = storage.read_batch(Connection, [_user_key(u) for u in hundred])
            except BusyError:
                unread.update(hundred)
                continue
            for item in items:
                user_id = item.pk.removeprefix("user#")
                recent = [live for live in self._parsed(user_id, item.connections) if live.connected_at_ms >= oldest_ms]
                if recent:
                    found[user_id] = sorted(recent, key=_newest_first)[: self.max_per_user]
                elif item.left_at is not None:
                    left[user_id] = int(item.left_at)
        return Lookup(found, unread, left)

    def online(self, after: str | None, size: int) -> tuple[dict[str, list[LiveConnection]], str | None]:
        """One Scan page of the table (``size`` items read): the users online in it with their live connections,
        as `lookup` finds them, and where the next page starts (None: the end). Its cost follows the
        connections, whatever the number of users or subscribers."""
        oldest_ms = (self._now() - (MAX_LIFETIME + TTL_MARGIN).total_seconds()) * 1000
        start = None if after is None else {"pk": {"S": after}}
        results = Connection.scan(Connection.pk.startswith("user#"), page_size=size, last_evaluated_key=start)
        items, last = storage.one_page(Connection, results)
        found: dict[str, list[LiveConnection]] = {}
        for item in items:
            user_id = item.pk.removeprefix("user#")
            recent = [live for live in self._parsed(user_id, item.connections) if live.connected_at_ms >= oldest_ms]
            if recent:
                found[user_id] = sorted(recent, key=_newest_first)[: self.max_per_user]
        return found, None if last is None else str(last["pk"]["S"])

    @staticmethod
    def _parsed(user_id: str, elements: set[str] | None) -> list[LiveConnection]:
        return [live for live in (_parse(user_id, element) for element in elements or set()) if live is not None]
