"""Audience sends and channel subscribers.

`worker` stores an audience send chunk by chunk through the SQS work
queue, each step safe to run twice; `subscribers` adds, removes and lists
a channel's subscribers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core import lazy

if TYPE_CHECKING:
    from chalicelib.audience.subscribers import SubscriberChanges as SubscriberChanges
    from chalicelib.audience.subscribers import change_subscribers as change_subscribers
    from chalicelib.audience.subscribers import list_subscribers as list_subscribers
    from chalicelib.audience.worker import AudienceWorker as AudienceWorker

if not TYPE_CHECKING:
    __getattr__, __dir__, __all__ = lazy.exports(
        __name__,
        {
            "subscribers": ("SubscriberChanges", "change_subscribers", "list_subscribers"),
            "worker": ("AudienceWorker",),
        },
    )
