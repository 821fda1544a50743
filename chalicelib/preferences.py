"""A user's preferences: which channels they muted.

The item lives in the inbox table (``prefs``), so a change reaches the
stream like any message change: the stream handler copies the mutes into
the user's counts (the badge leaves muted channels out) and tells every
open tab (``preferences.updated``).
"""

from __future__ import annotations

from typing import Any

from chalicelib.models import PREFERENCES, Preferences
from chalicelib.parsing import MuteChange
from chalicelib.views import preferences_json


def get_preferences(user_id: str) -> dict[str, Any]:
    try:
        muted = Preferences.get(user_id, PREFERENCES, consistent_read=True).muted or set()
    except Preferences.DoesNotExist:
        muted = set()
    return preferences_json(muted)


def set_mute(user_id: str, change: MuteChange) -> dict[str, Any]:
    """Mute or unmute one channel (idempotent: the set already says so, and nothing changes)."""
    names = {change.channel}
    action = Preferences.muted.add(names) if change.muted else Preferences.muted.delete(names)
    Preferences(user_id).update(actions=[action])
    return {"name": change.channel, "muted": change.muted}
