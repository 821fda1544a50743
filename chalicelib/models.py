"""PynamoDB models of the service's tables, and the one function that creates them.

Table names, region and endpoint are bound from the settings on first use
(`bind_models`), never at import time, so importing `app` touches no AWS.

Access patterns (docs/design.md explains each):

* ``inbox`` — one item per (receiver, message). Hash ``userId``, range ``id``
  (time-sortable). Three GSIs with ALL projection give every inbox page in
  one Query: ``channel-index`` (``userId#channel``), ``status-index``
  (``userId#status``) and ``channel-status-index`` (``userId#channel#status``),
  each ranged on ``id``. Streams NEW_AND_OLD_IMAGES feed delivery; ``expiresAt``
  is the TTL attribute.
* ``counters`` — one item per (user, channel) with exact ``unread``/``total``
  counts and the latest message; updated in the same transactions that write
  messages or change their status. ``latest-index`` orders a user's channels
  by their latest message id.
* ``channels`` — one item per channel name.
* ``idempotency`` — one item per (caller, Idempotency-Key), expiring after 24 h;
  also the stream handler's effect markers (`EffectMarker`).
* ``connections`` — ``conn#<id>`` items (owner, connect time) and ``user#<id>``
  items holding the set of that user's live connection ids.
* ``subscribers`` (`audience_models`) — one item per (channel, user): hash ``channel``, range
  ``userId``, so an audience send pages a channel's subscribers with Query.
  ``since`` is an id minted when the user subscribed: a send reaches those
  with ``since`` < its own id ("subscribed at the moment of the send").
* ``sends`` — the send log: one item per send (``id``), with ``stored`` added
  in the very transactions that write the inbox items. ``log-index``
  (``log`` = "sends", ranged on ``id``) lists every send newest first,
  ``channel-index`` (``channel``, ``id``) those of one channel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pynamodb.attributes import (
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.audience_models import SendLog, Subscription

if TYPE_CHECKING:
    from chalicelib.config import Settings

RETRY_CONFIGURATION = {"mode": "standard", "total_max_attempts": 4}  # botocore's own retries, per call
UNREAD = "unread"
READ = "read"


class ChannelIndex(GlobalSecondaryIndex["InboxMessage"]):
    class Meta:
        index_name = "channel-index"
        projection = AllProjection()

    user_channel = UnicodeAttribute(hash_key=True, attr_name="userChannel")
    id = UnicodeAttribute(range_key=True)


class StatusIndex(GlobalSecondaryIndex["InboxMessage"]):
    class Meta:
        index_name = "status-index"
        projection = AllProjection()

    user_status = UnicodeAttribute(hash_key=True, attr_name="userStatus")
    id = UnicodeAttribute(range_key=True)


class ChannelStatusIndex(GlobalSecondaryIndex["InboxMessage"]):
    class Meta:
        index_name = "channel-status-index"
        projection = AllProjection()

    user_channel_status = UnicodeAttribute(hash_key=True, attr_name="userChannelStatus")
    id = UnicodeAttribute(range_key=True)


class InboxMessage(Model):
    """One message in one user's inbox."""

    class Meta:
        table_name = "unbound-inbox"
        stream_view_type = "NEW_AND_OLD_IMAGES"

    user_id = UnicodeAttribute(hash_key=True, attr_name="userId")
    id = UnicodeAttribute(range_key=True)
    channel = UnicodeAttribute()
    channel_title = UnicodeAttribute(attr_name="channelTitle")
    title = UnicodeAttribute()
    content = UnicodeAttribute(default="")
    url = UnicodeAttribute(null=True)
    duration = NumberAttribute(default=0)
    status = UnicodeAttribute(default=UNREAD)
    created_at = UnicodeAttribute(attr_name="createdAt")
    read_at = UnicodeAttribute(null=True, attr_name="readAt")
    user_channel = UnicodeAttribute(attr_name="userChannel")
    user_status = UnicodeAttribute(attr_name="userStatus")
    user_channel_status = UnicodeAttribute(attr_name="userChannelStatus")
    expires_at = TTLAttribute(attr_name="expiresAt")

    channel_index = ChannelIndex()
    status_index = StatusIndex()
    channel_status_index = ChannelStatusIndex()

    def set_status(self, status: str, read_at: str | None) -> None:
        """Change status and keep the index keys that embed it in step."""
        self.status = status
        self.read_at = read_at
        self.user_status = f"{self.user_id}#{status}"
        self.user_channel_status = f"{self.user_id}#{self.channel}#{status}"


class LatestIndex(GlobalSecondaryIndex["ChannelCounter"]):
    class Meta:
        index_name = "latest-index"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True, attr_name="userId")
    latest_id = UnicodeAttribute(range_key=True, attr_name="latestId")


class ChannelCounter(Model):
    """Per user and channel: exact unread/total counts and the latest message."""

    class Meta:
        table_name = "unbound-counters"

    user_id = UnicodeAttribute(hash_key=True, attr_name="userId")
    channel = UnicodeAttribute(range_key=True)
    channel_title = UnicodeAttribute(attr_name="channelTitle", default="")
    unread = NumberAttribute(default=0)
    total = NumberAttribute(default=0)
    latest_id = UnicodeAttribute(attr_name="latestId", default="")
    latest_title = UnicodeAttribute(attr_name="latestTitle", default="")
    latest_created_at = UnicodeAttribute(attr_name="latestCreatedAt", default="")

    latest_index = LatestIndex()


class Channel(Model):
    """A named channel that admins send on."""

    class Meta:
        table_name = "unbound-channels"

    name = UnicodeAttribute(hash_key=True)
    title = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    created_at = UnicodeAttribute(attr_name="createdAt")
    updated_at = UnicodeAttribute(attr_name="updatedAt")


class IdempotencyRecord(Model):
    """The first answer to (caller, Idempotency-Key), kept 24 hours."""

    class Meta:
        table_name = "unbound-idempotency"

    key = UnicodeAttribute(hash_key=True)
    body_hash = UnicodeAttribute(attr_name="bodyHash")
    state = UnicodeAttribute()
    send_ids = UnicodeAttribute(attr_name="sendIds")
    response = UnicodeAttribute(null=True)
    lease_until = NumberAttribute(attr_name="leaseUntil", default=0)
    expires_at = TTLAttribute(attr_name="expiresAt")


class EffectMarker(Model):
    """ "This stream effect was applied": makes a counter correction safe to replay.

    Lives in the idempotency table (same key attribute) and expires after
    the stream's 24 h retention, when no replay can come any more.
    """

    class Meta:
        table_name = "unbound-idempotency"

    key = UnicodeAttribute(hash_key=True)
    expires_at = TTLAttribute(attr_name="expiresAt")


class Connection(Model):
    """``conn#<id>`` → owner and connect time; ``user#<id>`` → live connection ids."""

    class Meta:
        table_name = "unbound-connections"

    pk = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute(null=True, attr_name="userId")
    connected_at = NumberAttribute(null=True, attr_name="connectedAt")
    connections = UnicodeSetAttribute(null=True)
    expires_at = TTLAttribute(attr_name="expiresAt")


MODELS: dict[str, type[Model]] = {
    "inbox": InboxMessage,
    "channels": Channel,
    "counters": ChannelCounter,
    "idempotency": IdempotencyRecord,
    "connections": Connection,
    "subscribers": Subscription,
    "sends": SendLog,
}

# Models that share another model's table: bound with it, never created on their own.
SHARED_TABLES: dict[type[Model], str] = {EffectMarker: "idempotency"}

_bound_to: tuple[Any, ...] | None = None


def bind_models(settings: Settings) -> None:
    """Point every model at its configured table, region and endpoint."""
    global _bound_to
    signature = (tuple(sorted(settings.tables.items())), settings.region, settings.dynamodb_endpoint)
    if signature == _bound_to:
        return
    for model, kind in [*((m, k) for k, m in MODELS.items()), *SHARED_TABLES.items()]:
        model.Meta.table_name = settings.tables[kind]
        model.Meta.region = settings.region
        model.Meta.host = settings.dynamodb_endpoint
        model.Meta.retry_configuration = RETRY_CONFIGURATION  # type: ignore[attr-defined]
        model._connection = None
    _bound_to = signature


def create_tables(settings: Settings) -> None:
    """Create every table (on-demand, streams, TTL) unless it exists.

    The local stack and the tests call this; `infra/` declares the same
    tables for CloudFormation and a test keeps the two in step.
    """
    bind_models(settings)
    for model in MODELS.values():
        if not model.exists():
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
