"""The audience tables' PynamoDB models: channel subscriptions and the send log.

Bound and created with the others (``chalicelib.storage.tables.MODELS``); the
access patterns are described there and in docs/design.md.
"""

from __future__ import annotations

import heapq
import zlib
from typing import TYPE_CHECKING

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.core import tenants

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pynamodb.expressions.condition import Condition

# The log-index hash key is one of LOG_BUCKETS values, ``sends#<k>``, not one constant: one key value takes
# at most 1,000 write units a second (a partition's cap), a throttled GSI throttles the table's own writes,
# and ids rise with time, so new sends all land at the top of a key's range, where no split for heat helps.
# 8 keys take 8,000 WRU/s, twice what a new on-demand table (and each GSI) serves at first (4,000), so the
# table throttles before any one bucket does, even with the buckets' uneven share. Reads pay for it: a page
# of the whole log is 8 Queries (`newest_sends`); 16 or 32 would double or quadruple that for write room
# that only a table warmed past 8,000 WRU/s could use.
LOG_BUCKETS = 8
LOG_KEYS = tuple(f"sends#{k}" for k in range(LOG_BUCKETS))


def log_keys(tenant: str | None = None) -> tuple[str, ...]:
    """The log-index hash keys of a tenant's sends (``<tenant>|sends#<k>``), or of the only tenant's."""
    return LOG_KEYS if tenant is None else tuple(tenants.scoped(tenant, key) for key in LOG_KEYS)


def log_key(send_id: str, tenant: str | None = None) -> str:
    """The log-index hash key of a send: CRC-32 of its id picks the bucket, the same in every process (not ``hash()``)."""
    return log_keys(tenant)[zlib.crc32(send_id.encode("ascii")) % LOG_BUCKETS]


class Subscription(Model):
    """One user subscribed to one channel, since the id ``since`` (minted when added).

    ``from_seq`` is the channel's broadcast sequence when the subscription was
    written (`chalicelib.broadcast`): the user holds the channel's broadcasts
    numbered above it. ``floor`` is the channel's first id then (a channel
    deleted and made again under the same name starts a new sequence).
    """

    class Meta:
        table_name = "unbound-subscribers"

    channel = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute(range_key=True, attr_name="userId")
    since = UnicodeAttribute()
    from_seq = NumberAttribute(default=0, attr_name="fromSeq")
    floor = UnicodeAttribute(null=True)


PAST = "~h|"  # the partition of a channel's ended subscriptions: ``~h|<channel>``


class PastSubscriptions(Model):
    """A user's ended subscriptions to one channel, each ``<floor>:<fromSeq>:<toSeq>``: the broadcasts they keep."""

    class Meta:
        table_name = "unbound-subscribers"

    channel = UnicodeAttribute(hash_key=True)  # PAST + the channel
    user_id = UnicodeAttribute(range_key=True, attr_name="userId")
    spans = UnicodeSetAttribute(null=True)


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
    log = UnicodeAttribute()  # log_key(id): no default, so a writer that forgets it fails on save
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
    tags = UnicodeSetAttribute(null=True)
    expiry = UnicodeAttribute(null=True)  # the send's own expiresAt
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


def _newest(index: LogIndex | ChannelLogIndex, key: str, condition: Condition | None, size: int) -> Iterator[SendLog]:
    return index.query(key, range_key_condition=condition, scan_index_forward=False, limit=size, page_size=size)


def newest_sends(before: str | None, size: int, channel: str | None = None, tenant: str | None = None) -> Iterator[SendLog]:
    """Sends newest first, below the id ``before`` if given: one channel's (channel-index) or all of ``tenant``'s.

    All of them are each log bucket's ``size`` newest, merged: any send among the ``size`` newest overall
    is among its own bucket's ``size`` newest, so the first ``size`` merged are exact and a cursor on the
    last id neither skips nor repeats a send across buckets.
    """
    condition = None if before is None else SendLog.id < before
    if channel:
        return _newest(SendLog.channel_log_index, channel, condition, size)
    buckets = [_newest(SendLog.log_index, key, condition, size) for key in log_keys(tenant)]
    return heapq.merge(*buckets, key=lambda entry: entry.id, reverse=True)
