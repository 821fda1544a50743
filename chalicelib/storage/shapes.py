"""The JSON shapes of stored items, shared by HTTP answers and WebSocket frames.

Kept apart from the read side (`inbox`) so that the stream path, which only
needs to serialise a message, imports no query code.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from chalicelib.core import tenants
from chalicelib.core.clock import iso_from_ms
from chalicelib.core.ids import id_time_ms
from chalicelib.storage.audience_tables import SendLog, Subscription
from chalicelib.storage.inbox_tables import InboxMessage
from chalicelib.storage.tables import Channel


def message_json(message: InboxMessage) -> dict[str, Any]:
    """A message; ``tags``, ``expiresAt``, ``pinned`` and ``snoozedUntil`` only when set (older clients see no change)."""
    shape = {
        "id": message.message_id,
        "channel": message.channel,
        "channelTitle": message.channel_title,  # as it was when sent: a re-created channel renames nothing
        "title": message.title,
        "content": message.content,
        "url": message.url,
        "mobileUrl": message.mobile_url,
        "duration": int(message.duration),
        "severity": message.severity,
        "actions": json.loads(message.actions) if message.actions else [],
        "status": message.status,
        "seen": message.seen_at is not None,
        "seenAt": message.seen_at,
        "archived": message.archived,
        "archivedAt": message.archived_at,
        "createdAt": message.created_at,
        "readAt": message.read_at,
    }
    extra = {
        "tags": sorted(message.tags or ()),
        "expiresAt": message.expiry,
        "pinned": message.pinned_at is not None,
        "snoozedUntil": message.snoozed_until,
    }
    return {**shape, **{name: value for name, value in extra.items() if value}}


def my_channel_json(name: str, unread: int, total: int, latest: InboxMessage | None, latest_id: str) -> dict[str, Any]:
    """A ``/me/channels`` entry: its title and latest message come from that message itself."""
    return {
        "name": name,
        "title": latest.channel_title if latest else name,
        "unread": unread,
        "total": total,
        "latest": {
            "id": latest_id,
            "title": latest.title if latest else None,
            "createdAt": latest.created_at if latest else iso_from_ms(id_time_ms(latest_id)),
        },
    }


def preferences_json(muted: Iterable[str]) -> dict[str, Any]:
    return {"channels": {name: {"muted": True} for name in sorted(muted)}}


def channel_json(channel: Channel) -> dict[str, Any]:
    return {
        "name": tenants.plain_channel(channel.name),
        "title": channel.title,
        "description": channel.description,
        "createdAt": channel.created_at,
        "updatedAt": channel.updated_at,
    }


def page_json(items: list[dict[str, Any]], next_cursor: str | None) -> dict[str, Any]:
    return {"items": items, "nextCursor": next_cursor}


# A Lambda function answers at most 6 MB (6,291,456 bytes): a page's items get 5,000,000 of them.
PAGE_BYTES = 5_000_000


def answer_bytes(value: Any) -> int:
    """The bytes ``value`` takes in a Lambda proxy answer.

    Chalice writes the body as JSON with non-ASCII escaped (``é`` → ``\\u00e9``)
    and the answer carries that body as a JSON string again, where only its
    quotes and backslashes are escaped once more (``\\\\u00e9``): 7 bytes a
    character, 14 outside the BMP, whatever the UTF-8 size. Counted on the one
    encoding, without writing the second.
    """
    body = json.dumps(value, separators=(",", ":"))
    return len(body) + 2 + body.count('"') + body.count("\\")


def fitting(items: list[dict[str, Any]], budget: int = PAGE_BYTES) -> int:
    """How many of ``items``, from the first, fit into ``budget`` bytes of an answer (at least one)."""
    total = 0
    for count, item in enumerate(items):
        total += answer_bytes(item) + 1
        if total > budget and count:
            return count
    return len(items)


def send_log_json(entry: SendLog) -> dict[str, Any]:
    """A send as the log shows it: ``audience`` for an audience send, ``receivers`` (a count) otherwise.

    Its channel and sender as its tenant knows them (the stored ones carry the tenant: `chalicelib.core.tenants`).
    """
    tenant = tenants.channel_tenant(entry.channel)
    shape: dict[str, Any] = {
        "id": entry.id,
        "channel": tenants.plain_channel(entry.channel),
        "title": entry.title,
        "sender": tenants.plain_user(entry.sender, tenant),
    }
    if entry.tags:
        shape["tags"] = sorted(entry.tags)
    if entry.expiry:
        shape["expiresAt"] = entry.expiry
    if entry.audience is not None:
        shape["audience"] = entry.audience
    else:
        shape["receivers"] = int(entry.receivers or 0)
    return {
        **shape,
        "recipients": int(entry.recipients),
        "stored": int(entry.stored),
        "status": entry.status,
        "createdAt": entry.created_at,
        "completedAt": entry.completed_at,
    }


def subscriber_json(subscription: Subscription) -> dict[str, Any]:
    user = tenants.plain_user(subscription.user_id, tenants.channel_tenant(subscription.channel))
    return {"userId": user, "subscribedAt": iso_from_ms(id_time_ms(subscription.since))}
