"""The audience tables' PynamoDB models: channel subscriptions and the send log.

Bound and created with the others (``chalicelib.storage.tables.MODELS``); the
access patterns are described there and in docs/design.md.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

LOG = "sends"  # the one hash key of the send log's log-index


class Subscription(Model):
    """One user subscribed to one channel, since the id ``since`` (minted when added)."""

    class Meta:
        table_name = "unbound-subscribers"

    channel = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute(range_key=True, attr_name="userId")
    since = UnicodeAttribute()


class LogIndex(GlobalSecondaryIndex["SendLog"]):
    class Meta:
        index_name = "log-index"
        projection = AllProjection()

    log = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)


class ChannelLogIndex(GlobalSecondaryIndex["SendLog"]):
    class Meta:
        index_name = "channel-index"
        projection = AllProjection()

    channel = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)


class SendLog(Model):
    """One send: who sent what to whom, and how far its fan-out got.

    ``stored`` grows by a chunk's size in the same conditional update that
    counts the chunk complete, so it equals a recount however often a step
    runs; ``chunks`` is how many chunks of an audience send are complete
    (the resume point of its queue chain).
    """

    class Meta:
        table_name = "unbound-sends"

    id = UnicodeAttribute(hash_key=True)
    log = UnicodeAttribute(default=LOG)
    channel = UnicodeAttribute()
    channel_title = UnicodeAttribute(attr_name="channelTitle")
    channel_since = UnicodeAttribute(attr_name="channelSince", default="")  # audience: its channel's first id
    title = UnicodeAttribute()
    content = UnicodeAttribute(default="")
    url = UnicodeAttribute(null=True)
    mobile_url = UnicodeAttribute(null=True, attr_name="mobileUrl")
    duration = NumberAttribute(default=0)
    severity = UnicodeAttribute(default="normal")
    actions = UnicodeAttribute(null=True)  # JSON, as on the inbox items
    sender = UnicodeAttribute()
    audience = UnicodeAttribute(null=True)
    receivers = NumberAttribute(null=True)
    recipients = NumberAttribute(default=0)
    stored = NumberAttribute(default=0)
    chunks = NumberAttribute(default=0)
    writing = NumberAttribute(null=True)  # the last chunk whose blind write was claimed (the audience worker)
    status = UnicodeAttribute()
    created_at = UnicodeAttribute(attr_name="createdAt")
    completed_at = UnicodeAttribute(null=True, attr_name="completedAt")

    log_index = LogIndex()
    channel_log_index = ChannelLogIndex()
