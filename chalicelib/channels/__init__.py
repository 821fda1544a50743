"""The channel registry: create, list, read, rename, delete (its subscriptions go through the work queue)."""

from chalicelib.channels.registry import (
    CHANNEL_NAME,
    ChannelChanges,
    NewChannel,
    create_channel,
    delete_channel,
    get_channel,
    list_channels,
    update_channel,
)

__all__ = [
    "CHANNEL_NAME",
    "ChannelChanges",
    "NewChannel",
    "create_channel",
    "delete_channel",
    "get_channel",
    "list_channels",
    "update_channel",
]
