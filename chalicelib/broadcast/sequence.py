"""A channel's broadcast sequence and subscriber count: the one item that orders broadcasts and subscriptions.

The item ``~c|<channel>`` (counters table) holds, per life of the channel
(its first id, ``floor``: a channel deleted and made again under its name
starts afresh), ``seq:<floor>`` — how many broadcasts it has had — and
``n:<floor>`` — how many users are subscribed. A subscription change writes
its subscriptions with ``fromSeq`` = the ``seq`` it read, on the condition
that ``seq`` is still that value, and adds its change to ``n`` in the same
transaction; a broadcast moves ``seq`` from s to s + 1 on the condition that
``seq`` is s and ``n`` is what it read. The two are then ordered on one
item: a user holds broadcast number b exactly when a subscription with
``fromSeq`` < b stood when it was stored, and ``n`` is exactly how many
did — no clocks, no count Query over a million subscribers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.expressions.operand import Path

from chalicelib import storage
from chalicelib.storage import UserCounts

SEQUENCE = "~c|"


def sequence_key(channel: str) -> str:
    return SEQUENCE + channel


@dataclass(frozen=True)
class ChannelSequence:
    """What the item said: the channel's broadcasts (``seq``) and subscribers (``subscribers``) in its life ``floor``."""

    channel: str
    floor: str
    seq: int
    subscribers: int

    @property
    def _seq(self) -> Path:
        return Path(f"seq:{self.floor}")

    @property
    def _subscribers(self) -> Path:
        return Path(f"n:{self.floor}")

    def unmoved(self) -> Any:
        """No broadcast since this was read."""
        return _equals(self._seq, self.seq)

    def still(self) -> Any:
        """No broadcast and no subscription change since this was read."""
        return self.unmoved() & _equals(self._subscribers, self.subscribers)

    def add_subscribers(self, delta: int) -> list[Any]:
        return [self._subscribers.add(delta)]

    def next(self) -> list[Any]:
        """The actions of the next broadcast's number (``seq`` + 1)."""
        return [self._seq.add(1)]


def _equals(path: Path, value: int) -> Any:
    """``path`` holds ``value`` (0: or is absent)."""
    return path == value if value else path.does_not_exist() | (path == 0)


def read_sequence(channel: str, floor: str) -> ChannelSequence:
    """The channel's sequence now (a consistent read: a write conditioned on it follows)."""
    item = storage.read_item(UserCounts, sequence_key(channel), consistent=True) or {}

    def number(name: str) -> int:
        return int(item.get(f"{name}:{floor}", {}).get("N", "0"))

    return ChannelSequence(channel, floor, number("seq"), number("n"))


def sequence_item(channel: str) -> UserCounts:
    """The item, as a transaction's update target."""
    return UserCounts(sequence_key(channel))
