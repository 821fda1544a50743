"""Broadcast on read: an audience send to a large channel stored once, per-user state written on first change.

`sequence` orders a channel's broadcasts and subscription changes on one
item (who holds which broadcast, exactly); `store` writes a broadcast;
`held` finds the broadcasts a user holds; `views` merges them into the
user's counts and lists; `copies` writes a user's own copy of one when the
user first changes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core import lazy

if TYPE_CHECKING:
    from chalicelib.broadcast.copies import change_all as change_all
    from chalicelib.broadcast.copies import hide_held as hide_held
    from chalicelib.broadcast.copies import write_copy as write_copy
    from chalicelib.broadcast.frames import BroadcastFrames as BroadcastFrames
    from chalicelib.broadcast.sequence import ChannelSequence as ChannelSequence
    from chalicelib.broadcast.sequence import read_sequence as read_sequence
    from chalicelib.broadcast.sequence import sequence_item as sequence_item
    from chalicelib.broadcast.sequence import set_counted as set_counted
    from chalicelib.broadcast.store import Broadcaster as Broadcaster
    from chalicelib.broadcast.store import IndexEntry as IndexEntry
    from chalicelib.broadcast.views import counts_adders as counts_adders
    from chalicelib.broadcast.views import counts_with as counts_with
    from chalicelib.broadcast.views import held_by as held_by
    from chalicelib.broadcast.views import matching as matching
    from chalicelib.broadcast.views import merged as merged
    from chalicelib.broadcast.views import messages as messages
    from chalicelib.broadcast.views import read_counts as read_counts
    from chalicelib.broadcast.views import stored_late as stored_late

if not TYPE_CHECKING:
    __getattr__, __dir__, __all__ = lazy.exports(
        __name__,
        {
            "copies": ("change_all", "hide_held", "write_copy"),
            "frames": ("BroadcastFrames",),
            "sequence": ("ChannelSequence", "read_sequence", "sequence_item", "set_counted"),
            "store": ("Broadcaster", "IndexEntry"),
            "views": ("counts_adders", "counts_with", "held_by", "matching", "merged", "messages", "read_counts", "stored_late"),
        },
    )
