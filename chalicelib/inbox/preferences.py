"""A user's preferences: which channels they muted.

The item lives in the inbox table (``prefs``), so a change reaches the
stream like any message change, which tells every open tab
(``preferences.updated``). The badge leaves muted channels out, from a copy
of the mutes in the user's counts item: a change writes both in one
transaction (and marks the item ``counted``, so the stream leaves the copy
alone), so the answer and the next count agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import size

from chalicelib import counts, storage
from chalicelib.core.errors import ConflictError
from chalicelib.counts import OwnChange
from chalicelib.storage import PREFERENCES, Preferences, preferences_json


@dataclass(frozen=True)
class MuteChange:
    """``PUT /me/preferences/channels/{name}``."""

    channel: str
    muted: bool


def muted_channels(user_id: str) -> set[str]:
    try:
        return Preferences.get(user_id, PREFERENCES, consistent_read=True).muted or set()
    except Preferences.DoesNotExist:
        return set()


def get_preferences(user_id: str) -> dict[str, Any]:
    return preferences_json(muted_channels(user_id))


MAX_MUTED = 100  # keeps the preferences item, and the copy in the counts item, small


def set_mute(user_id: str, change: MuteChange) -> dict[str, Any]:
    """Mute or unmute one channel, and its copy in the counts (idempotent: the sets already say so)."""
    names = {change.channel}
    own = OwnChange(user_id)
    own.mute(change.channel, change.muted)
    actions: list[Any] = [Preferences.muted.add(names) if change.muted else Preferences.muted.delete(names)]
    actions.append(Preferences.counted.set(counts.fresh_mark()))
    few = size(Preferences.muted) < MAX_MUTED  # type: ignore[no-untyped-call]
    room = Preferences.muted.does_not_exist() | few | Preferences.muted.contains(change.channel)

    def write() -> None:
        with storage.transaction() as transaction:
            transaction.update(Preferences(user_id), actions=actions, condition=room if change.muted else None)
            own.write(transaction)

    try:
        storage.retrying_conflicts(write)
    except TransactWriteError as error:
        if storage.CONDITION_FAILED in storage.cancellation_codes(error):
            raise ConflictError(f"name: at most {MAX_MUTED} channels can be muted; unmute one first") from None
        raise
    return {"name": change.channel, "muted": change.muted}
