"""A user's inbox: what they read and what they change.

`queries` lists messages and channels and reads the counts; `states`
marks read, seen, archived and deleted (one or all); `preferences` mutes
channels; `repair` recounts a user's counts or erases a user. Only items
change here: the counts follow from the stream (`chalicelib.counts`).
"""

from chalicelib.inbox.my_channels import list_my_channels
from chalicelib.inbox.preferences import MuteChange, get_preferences, set_mute
from chalicelib.inbox.queries import ChannelQuery, MessageQuery, find_message, list_messages, unread_count
from chalicelib.inbox.snooze import EventBridgeScheduler, WakeScheduler, handle_wake_event, wake
from chalicelib.inbox.states import (
    ArchiveAll,
    MessageChange,
    ReadAll,
    archive_all,
    change_message,
    delete_message,
    mark_all_read,
    mark_all_seen,
)

__all__ = [
    "ArchiveAll",
    "ChannelQuery",
    "EventBridgeScheduler",
    "MessageChange",
    "MessageQuery",
    "MuteChange",
    "ReadAll",
    "WakeScheduler",
    "archive_all",
    "change_message",
    "delete_message",
    "find_message",
    "get_preferences",
    "handle_wake_event",
    "list_messages",
    "list_my_channels",
    "mark_all_read",
    "mark_all_seen",
    "set_mute",
    "unread_count",
    "wake",
]
