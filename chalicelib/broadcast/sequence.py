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

Subscriptions written before broadcasts existed have no ``floor`` and were
never counted in ``n``: a life's ``n`` is trusted only once ``counted:<floor>``
is set — from the start for a channel made since (its item says ``counted``), else by one count
of the life's subscriptions (`set_counted`, a queued step), written on the
condition that no subscription changed meanwhile (``v:<floor>``, which every
change moves). Until then the channel's audience sends go per subscriber.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.operand import Path

from chalicelib import storage
from chalicelib.core.errors import BusyError
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
    counted: bool = True  # ``subscribers`` can be trusted (see above)
    version: int = 0  # how many subscription changes this life has had
    lives: tuple[tuple[str, int], ...] = ()  # every life's (floor, seq) the item holds, oldest first

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
        return [self._subscribers.add(delta), Path(f"v:{self.floor}").add(1)]

    def counted_as(self, total: int) -> tuple[list[Any], Any]:
        """The actions and condition of the life's first count: ``total`` subscribers, if none changed since the read."""
        counted = Path(f"counted:{self.floor}")
        return [self._subscribers.set(total), counted.set(1)], counted.does_not_exist() & _equals(
            Path(f"v:{self.floor}"), self.version
        )

    def life_of(self, since: str) -> tuple[str, int] | None:
        """The (floor, seq) of the life a subscription minted at ``since`` belongs to: the latest begun by then."""
        begun = [life for life in self.lives if life[0] <= since]
        return begun[-1] if begun else None

    def next(self) -> list[Any]:
        """The actions of the next broadcast's number (``seq`` + 1)."""
        return [self._seq.add(1)]


def _equals(path: Path, value: int) -> Any:
    """``path`` holds ``value`` (0: or is absent)."""
    return path == value if value else path.does_not_exist() | (path == 0)


def read_sequence(channel: str, floor: str = "") -> ChannelSequence:
    """The channel's sequence now, in its life ``floor`` (a consistent read: a write conditioned on it follows).
    Without ``floor``: for its ``lives`` alone."""
    item = storage.read_item(UserCounts, sequence_key(channel), consistent=True) or {}

    def number(name: str) -> int:
        return int(item.get(f"{name}:{floor}", {}).get("N", "0"))

    lives = sorted((name.removeprefix("seq:"), int(value["N"])) for name, value in item.items() if name.startswith("seq:"))
    counted = f"counted:{floor}" in item
    return ChannelSequence(channel, floor, number("seq"), number("n"), counted, number("v"), tuple(lives))


def set_counted(channel: str, floor: str, count: Callable[[], int]) -> None:
    """Count the life's subscriptions once (``count``: a Query) and trust ``n`` from then; read again and count
    again while subscriptions change under the count."""
    for attempt in range(storage.CONFLICT_RETRIES):
        sequence = read_sequence(channel, floor)
        if sequence.counted:
            return
        actions, condition = sequence.counted_as(count())
        try:
            sequence_item(channel).update(actions=actions, condition=condition)
            return
        except UpdateError as error:
            if not storage.condition_failed(error):
                raise
        storage.pause_before_retry(attempt)
    raise BusyError(f"count: the subscriptions of {channel} keep changing; the step is retried")


def sequence_item(channel: str) -> UserCounts:
    """The item, as a transaction's update target."""
    return UserCounts(sequence_key(channel))
