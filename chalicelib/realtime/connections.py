"""The WebSocket connection registry, shaped for fan-out cost.

Two kinds of items in one table:

* ``user#<id>`` holds the set of that user's live connections, each element
  ``<connectionId>|<connectedAtMs>`` — so finding every connection of U users
  is ⌈U/100⌉ BatchGetItem calls, and the connect time needed to judge a 410
  comes with it;
* ``conn#<id>`` maps a connection back to its user for ``$disconnect``.

Both carry a TTL of 2 h + margin (API Gateway's hard limit per connection),
so connections whose ``$disconnect`` never came disappear on their own.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from chalicelib import storage
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

    @property
    def element(self) -> str:
        return f"{self.connection_id}|{self.connected_at_ms}"

    def age_seconds(self, now: float) -> float:
        return now - self.connected_at_ms / 1000


def _user_key(user_id: str) -> str:
    return f"user#{user_id}"


def _conn_key(connection_id: str) -> str:
    return f"conn#{connection_id}"


def _parse(user_id: str, element: str) -> LiveConnection | None:
    connection_id, _, connected = element.rpartition("|")
    if not connection_id or not connected.isdigit():
        return None
    return LiveConnection(connection_id, user_id, int(connected))


class ConnectionRegistry:
    """Stores, finds and forgets WebSocket connections."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock

    def _now(self) -> float:
        return self._clock()

    def connect(self, connection_id: str, user_id: str, connected_at_ms: int) -> None:
        """Register a connection: both items in one transaction."""
        live = LiveConnection(connection_id, user_id, connected_at_ms)
        expires = datetime.now(UTC) + MAX_LIFETIME + TTL_MARGIN

        def register() -> None:  # the user's item is shared by their tabs: two connecting at once conflict
            with storage.transaction() as transaction:
                transaction.save(
                    Connection(_conn_key(connection_id), user_id=user_id, connected_at=connected_at_ms, expires_at=expires)
                )
                transaction.update(
                    Connection(_user_key(user_id)),
                    actions=[Connection.connections.add({live.element}), Connection.expires_at.set(expires)],
                )

        storage.retrying_conflicts(register)

    def disconnect(self, connection_id: str) -> str | None:
        """Forget a connection on ``$disconnect``; its user's id, or None for an unknown id."""
        try:
            item = Connection.get(_conn_key(connection_id))
        except Connection.DoesNotExist:
            return None
        if item.user_id is not None and item.connected_at is not None:
            self.forget(LiveConnection(connection_id, item.user_id, int(item.connected_at)))
        return item.user_id

    def forget(self, live: LiveConnection) -> None:
        """Remove a gone connection from its user's set and drop its item."""

        def unregister() -> None:
            with storage.transaction() as transaction:
                transaction.delete(Connection(_conn_key(live.connection_id)))
                transaction.update(Connection(_user_key(live.user_id)), actions=[Connection.connections.delete({live.element})])

        storage.retrying_conflicts(unregister)

    def lookup(self, user_ids: list[str]) -> tuple[dict[str, list[LiveConnection]], set[str]]:
        """Every live connection of these users (⌈U/100⌉ BatchGetItem), and the users whose read still failed.

        One user's trouble stays theirs: a throttled hundred is reported, the others are found.
        """
        found: dict[str, list[LiveConnection]] = {}
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
                for element in item.connections or set():
                    live = _parse(user_id, element)
                    if live is not None and live.connected_at_ms >= oldest_ms:
                        found.setdefault(user_id, []).append(live)
        return found, unread
