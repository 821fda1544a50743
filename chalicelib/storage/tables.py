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
* ``subscribers`` (`audience_tables`) — one item per (channel, user): hash ``channel``, range
  ``userId``, so an audience send pages a channel's subscribers with Query.
  ``since`` is an id minted when the user subscribed: a send reaches those
  with ``since`` < its own id ("subscribed at the moment of the send").
* ``sends`` — the send log: one item per send (``id``), written after its
  receivers' inbox items; an audience send's chunks add to ``stored`` in the
  conditional update that moves its ``chunks`` (`sending.progress`). ``log-index``
  (``log`` = ``sends#<k>``, one of 8 buckets picked by a CRC-32 of the id, ranged
  on ``id``) lists every send newest first by merging the buckets' Queries: one
  key for all sends would be one partition taking every send's write (1,000
  WRU/s). ``channel-index`` (``channel``, ``id``) lists those of one channel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pynamodb.attributes import (
    BooleanAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.models import Model

from chalicelib.storage.audience_tables import PastSubscriptions, SendLog, Subscription
from chalicelib.storage.inbox_tables import Entry, InboxMessage, InboxOneAttempt, Preferences, Tombstone, UserCounts

if TYPE_CHECKING:
    from chalicelib.core.config import Settings

RETRY_CONFIGURATION = {"mode": "standard", "total_max_attempts": 4}  # botocore's own retries, per call
# Keep-alive connections per table client: delivery's 64 threads (POST_WORKERS) each write counts.
# botocore keeps 10 by default, and every call past them opened (and TLS-negotiated) a connection of its own.
MAX_POOL_CONNECTIONS = 68


class Channel(Model):
    """A named channel that admins send on."""

    class Meta:
        table_name = "unbound-channels"

    name = UnicodeAttribute(hash_key=True)
    title = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    created_at = UnicodeAttribute(attr_name="createdAt")
    updated_at = UnicodeAttribute(attr_name="updatedAt")
    # Made since broadcasts exist: every subscription moved its subscriber count (`chalicelib.broadcast.sequence`).
    # Absent on older channels: their count is trusted once counted.
    counted = BooleanAttribute(null=True)


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
    """``conn#<id>`` → owner, connect time and token expiry; ``user#<id>`` → live connection ids."""

    class Meta:
        table_name = "unbound-connections"

    pk = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute(null=True, attr_name="userId")
    connected_at = NumberAttribute(null=True, attr_name="connectedAt")
    token_expires_at = NumberAttribute(null=True, attr_name="tokenExp")  # the token's ``exp``: no frame after it
    connections = UnicodeSetAttribute(null=True)
    left_at = NumberAttribute(null=True, attr_name="leftAt")  # ms: when one of the user's connections last went
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
SHARED_TABLES: dict[type[Model], str] = {
    Tombstone: "inbox",
    Preferences: "inbox",
    InboxOneAttempt: "inbox",
    Entry: "inbox",
    PastSubscriptions: "subscribers",
}

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
