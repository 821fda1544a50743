"""A user's preferences: which channels they muted.

The item lives in the inbox table (``prefs``), so a change reaches the
stream like any message change: the stream handler copies the mutes into
the user's counts (the badge leaves muted channels out) and tells every
open tab (``preferences.updated``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.expressions.condition import size

from chalicelib.core.errors import ConflictError
from chalicelib.storage import PREFERENCES, Preferences, preferences_json, refused_as


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
    """Mute or unmute one channel (idempotent: the set already says so, and nothing changes)."""
    names = {change.channel}
    if not change.muted:
        Preferences(user_id).update(actions=[Preferences.muted.delete(names)])
        return {"name": change.channel, "muted": False}
    few = size(Preferences.muted) < MAX_MUTED  # type: ignore[no-untyped-call]
    room = Preferences.muted.does_not_exist() | few | Preferences.muted.contains(change.channel)
    with refused_as(ConflictError(f"name: at most {MAX_MUTED} channels can be muted; unmute one first")):
        Preferences(user_id).update(actions=[Preferences.muted.add(names)], condition=room)
    return {"name": change.channel, "muted": True}
