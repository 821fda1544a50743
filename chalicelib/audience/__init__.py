"""Audience sends and channel subscribers.

`worker` stores an audience send chunk by chunk through the SQS work
queue, each step safe to run twice; `subscribers` adds, removes and lists
a channel's subscribers.
"""

from chalicelib.audience.subscribers import SubscriberChanges, change_subscribers, list_subscribers
from chalicelib.audience.worker import AudienceWorker

__all__ = [
    "AudienceWorker",
    "SubscriberChanges",
    "change_subscribers",
    "list_subscribers",
]
