"""A user's inbox: what they read and what they change.

`queries` lists messages and channels and reads the counts; `states`
marks read, seen, archived and deleted (one or all); `preferences` mutes
channels; `repair` recounts a user's counts or erases a user. Only items
change here: the counts follow from the stream (`chalicelib.counts`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core import lazy

if TYPE_CHECKING:
    from chalicelib.inbox.lookup import find_message as find_message
    from chalicelib.inbox.my_channels import list_my_channels as list_my_channels
    from chalicelib.inbox.preferences import MuteChange as MuteChange
    from chalicelib.inbox.preferences import get_preferences as get_preferences
    from chalicelib.inbox.preferences import set_mute as set_mute
    from chalicelib.inbox.queries import ChannelQuery as ChannelQuery
    from chalicelib.inbox.queries import MessageQuery as MessageQuery
    from chalicelib.inbox.queries import list_messages as list_messages
    from chalicelib.inbox.queries import unread_count as unread_count
    from chalicelib.inbox.snooze import EventBridgeScheduler as EventBridgeScheduler
    from chalicelib.inbox.snooze import WakeScheduler as WakeScheduler
    from chalicelib.inbox.snooze import handle_wake_event as handle_wake_event
    from chalicelib.inbox.snooze import wake as wake
    from chalicelib.inbox.states import ArchiveAll as ArchiveAll
    from chalicelib.inbox.states import MessageChange as MessageChange
    from chalicelib.inbox.states import ReadAll as ReadAll
    from chalicelib.inbox.states import archive_all as archive_all
    from chalicelib.inbox.states import change_message as change_message
    from chalicelib.inbox.states import delete_message as delete_message
    from chalicelib.inbox.states import mark_all_read as mark_all_read
    from chalicelib.inbox.states import mark_all_seen as mark_all_seen

if not TYPE_CHECKING:
    __getattr__, __dir__, __all__ = lazy.exports(
        __name__,
        {
            "my_channels": ("list_my_channels",),
            "preferences": ("MuteChange", "get_preferences", "set_mute"),
            "lookup": ("find_message",),
            "queries": ("ChannelQuery", "MessageQuery", "list_messages", "unread_count"),
            "snooze": ("EventBridgeScheduler", "WakeScheduler", "handle_wake_event", "wake"),
            "states": (
                "ArchiveAll",
                "MessageChange",
                "ReadAll",
                "archive_all",
                "change_message",
                "delete_message",
                "mark_all_read",
                "mark_all_seen",
            ),
        },
    )
