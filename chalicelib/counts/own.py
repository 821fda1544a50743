"""A user's own change, counted in the transaction that makes it: their next read shows it.

The stream counts what is sent to a user (sends stay free of counter
writes). What the user changes — read, unread, seen, archive, restore,
delete, every mark-all, a mute — and what the app deletes (an expired
message found early, an erased user) is counted by the write itself: its
TransactWriteItems also adds the change's effect to the user's counts
item (one `OwnChange` per transaction), so the answer and the counts move
together, exactly once (a transaction is all-or-nothing).

The stream must then leave those records' deltas out, statelessly (a
replay leaves them out too). A write that counted itself sets a fresh
``counted`` mark on every item it writes (`fresh_mark`), so its record's
new image differs from the old in it; a REMOVE cannot carry a mark, so
every app delete counts itself and the stream counts only the REMOVEs of
DynamoDB's TTL (`counted_at_write`).
"""

from __future__ import annotations

import secrets
from typing import Any

from pynamodb.expressions.operand import Path

from chalicelib.counts.model import add_contribution
from chalicelib.storage import COUNTED, Image, StreamRecord, UserCounts


def fresh_mark() -> str:
    """A ``counted`` value no earlier write of the item carried."""
    return secrets.token_urlsafe(6)


def counted_at_write(record: StreamRecord) -> bool:
    """Whether the write behind this record counted it already (then the stream must not)."""
    if record.event_name == "REMOVE":
        return not record.is_ttl_delete  # every app delete counts itself; TTL's cannot
    mark = record.new_string(COUNTED)
    return mark is not None and mark != record.old_string(COUNTED)


class OwnChange:
    """What one transaction's writes to one user's items do to their counts, written in the same transaction."""

    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
        self.deltas: dict[tuple[str, str], int] = {}
        self.muted: list[Any] = []  # the mutes' copy follows the preferences item

    def item(self, before: Image | None, after: Image | None) -> None:
        """One item goes from ``before`` to ``after`` (None: absent), on a condition that it was ``before``."""
        add_contribution(self.deltas, after)
        add_contribution(self.deltas, before, -1)

    def mute(self, channel: str, muted: bool) -> None:
        self.muted = [Path("muted").add({channel}) if muted else Path("muted").delete({channel})]

    def forget_mutes(self) -> None:
        """The preferences item is deleted."""
        self.muted = [Path("muted").remove()]

    def actions(self) -> list[Any]:
        """The counts item's update; empty when nothing counted changes."""
        actions: list[Any] = [Path(f"{kind}:{channel}").add(n) for (kind, channel), n in sorted(self.deltas.items()) if n]
        actions += self.muted
        return [*actions, Path("v").add(1)] if actions else []

    def write(self, transaction: Any) -> None:
        """Add the counts update to ``transaction`` (last among its updates), if anything counted changes."""
        actions = self.actions()
        if actions:
            transaction.update(UserCounts(self.user_id), actions=actions)
