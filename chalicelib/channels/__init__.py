"""The channel registry: create, list, read, rename, delete (its subscriptions go through the work queue)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core import lazy

if TYPE_CHECKING:
    from chalicelib.channels.registry import CHANNEL_NAME as CHANNEL_NAME
    from chalicelib.channels.registry import ChannelChanges as ChannelChanges
    from chalicelib.channels.registry import NewChannel as NewChannel
    from chalicelib.channels.registry import create_channel as create_channel
    from chalicelib.channels.registry import delete_channel as delete_channel
    from chalicelib.channels.registry import get_channel as get_channel
    from chalicelib.channels.registry import list_channels as list_channels
    from chalicelib.channels.registry import update_channel as update_channel

if not TYPE_CHECKING:
    __getattr__, __dir__, __all__ = lazy.exports(
        __name__,
        {
            "registry": (
                "CHANNEL_NAME",
                "ChannelChanges",
                "NewChannel",
                "create_channel",
                "delete_channel",
                "get_channel",
                "list_channels",
                "update_channel",
            ),
        },
    )
