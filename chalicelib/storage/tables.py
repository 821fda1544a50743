"""PynamoDB models of the service's tables, and the one function that creates them.

Table names, region and endpoint are bound from the settings on first use
(`bind_models`), never at import time, so importing `app` touches no AWS.

Access patterns (docs/design.md explains each):

* ``inbox`` — one item per (receiver, message). Hash ``userId``, range ``id``
  (time-sortable, upper-case). An archived message moves to ``archived#<id>``
  and a deleted one leaves a short-lived tombstone ``deleted#<id>``; the
  user's mutes live at ``prefs``. Every such key sorts after every live id
  (lower case), so "the live inbox" is the range ``id < "a"``. Three sparse
  GSIs with ALL projection give every other page in one Query:
  ``channel-index`` (``userChannel``: live and archived messages),
  ``status-index`` (``userStatus``) and ``channel-status-index``
  (``userChannelStatus``): live messages only, each ranged on ``id``.
  A message stored well after its id was minted (an audience send's chunk,
  a retry, a first attempt that started late, a restore) also carries
  ``storedId``, an id minted when it was stored: the sparse
  ``stored-index`` (``userId``, ``storedId``; keys and ``channel``) lets the
  catch-up find it behind newer ids.
  Streams NEW_AND_OLD_IMAGES feed delivery and the counts; ``expiresAt`` is
  the TTL attribute.
* ``counters`` — one item per user (`counts`): per channel unread, total,
  unseen and their critical parts, the latest id, the user's mutes, and
  the stream sequence number last applied. Only the stream handler writes
  it, from each record's old and new image, so a count is a pure function
  of the items and a replayed record changes nothing.
* ``channels`` — one item per channel name.
* ``idempotency`` — one item per (caller, Idempotency-Key), expiring after 24 h.
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
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

from chalicelib.storage.audience_tables import SendLog, Subscription

if TYPE_CHECKING:
    from chalicelib.core.config import Settings

RETRY_CONFIGURATION = {"mode": "standard", "total_max_attempts": 4}  # botocore's own retries, per call
# Keep-alive connections per table client: delivery's 64 threads (FAN_OUT_WORKERS) each write counts.
# botocore keeps 10 by default, and every call past them opened (and TLS-negotiated) a connection of its own.
MAX_POOL_CONNECTIONS = 68
UNREAD = "unread"
READ = "read"
NORMAL = "normal"
CRITICAL = "critical"
ARCHIVED = "archived#"  # range-key prefixes of the inbox's other items: all sort after every live id
DELETED = "deleted#"
PREFERENCES = "prefs"
LIVE_END = "a"  # live ids are upper-case ULIDs: every one sorts below this


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


class StoredIndex(GlobalSecondaryIndex["InboxMessage"]):
    """Messages stored late, by when they were stored: keys and channel only, so reads and updates never write it."""

    class Meta:
        index_name = "stored-index"
        projection = IncludeProjection(["channel"])

    user_id = UnicodeAttribute(hash_key=True, attr_name="userId")
    stored_id = UnicodeAttribute(range_key=True, attr_name="storedId")


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
    mobile_url = UnicodeAttribute(null=True, attr_name="mobileUrl")
    duration = NumberAttribute(default=0)
    severity = UnicodeAttribute(default=NORMAL)
    actions = UnicodeAttribute(null=True)  # JSON: [{"label", "url"}], at most two
    status = UnicodeAttribute(default=UNREAD)
    created_at = UnicodeAttribute(attr_name="createdAt")
    read_at = UnicodeAttribute(null=True, attr_name="readAt")
    seen_at = UnicodeAttribute(null=True, attr_name="seenAt")
    archived_at = UnicodeAttribute(null=True, attr_name="archivedAt")
    restored_at = UnicodeAttribute(null=True, attr_name="restoredAt")  # back from the archive: not a new message
    user_channel = UnicodeAttribute(attr_name="userChannel")
    user_status = UnicodeAttribute(null=True, attr_name="userStatus")
    user_channel_status = UnicodeAttribute(null=True, attr_name="userChannelStatus")
    expires_at = TTLAttribute(attr_name="expiresAt")
    stored_id = UnicodeAttribute(null=True, attr_name="storedId")  # minted at a late store (see stored-index)

    channel_index = ChannelIndex()
    status_index = StatusIndex()
    channel_status_index = ChannelStatusIndex()
    stored_index = StoredIndex()

    @property
    def message_id(self) -> str:
        """The send's id, whichever item (live or archived) this is."""
        return self.id.removeprefix(ARCHIVED)

    @property
    def archived(self) -> bool:
        return self.id.startswith(ARCHIVED)

    def set_status(self, status: str, read_at: str | None) -> None:
        """Change status and keep the index keys that embed it in step (live messages only: sparse)."""
        self.status = status
        self.read_at = read_at
        if status == READ and self.seen_at is None:
            self.seen_at = read_at  # read implies seen: unseen is always a subset of unread
        live = not self.archived
        self.user_status = f"{self.user_id}#{status}" if live else None
        self.user_channel_status = f"{self.user_id}#{self.channel}#{status}" if live else None


class Tombstone(Model):
    """``deleted#<id>``: announces a deletion on the stream (a REMOVE alone is ambiguous), then expires."""

    class Meta:
        table_name = "unbound-inbox"

    user_id = UnicodeAttribute(hash_key=True, attr_name="userId")
    id = UnicodeAttribute(range_key=True)
    expires_at = TTLAttribute(attr_name="expiresAt")


class Preferences(Model):
    """``prefs``: the channels a user muted. In the inbox table so that changes reach the stream."""

    class Meta:
        table_name = "unbound-inbox"

    user_id = UnicodeAttribute(hash_key=True, attr_name="userId")
    id = UnicodeAttribute(range_key=True, default=PREFERENCES)
    muted = UnicodeSetAttribute(null=True)


class UserCounts(Model):
    """One user's counts (`counts` reads and writes its per-channel attributes by name)."""

    class Meta:
        table_name = "unbound-counters"

    user_id = UnicodeAttribute(hash_key=True, attr_name="userId")


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
    "counters": UserCounts,
    "idempotency": IdempotencyRecord,
    "connections": Connection,
    "subscribers": Subscription,
    "sends": SendLog,
}

# Models that share another model's table: bound with it, never created on their own.
SHARED_TABLES: dict[type[Model], str] = {Tombstone: "inbox", Preferences: "inbox"}

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
        model.Meta.max_pool_connections = MAX_POOL_CONNECTIONS
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
