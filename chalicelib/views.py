"""The JSON shapes of stored items, shared by HTTP answers and WebSocket frames.

Kept apart from the read side (`inbox`) so that the stream path, which only
needs to serialise a message, imports no query code.
"""

from __future__ import annotations

from typing import Any

from chalicelib.models import Channel, ChannelCounter, InboxMessage


def message_json(message: InboxMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "channel": message.channel,
        "channelTitle": message.channel_title,  # as it was when sent: a re-created channel renames nothing
        "title": message.title,
        "content": message.content,
        "url": message.url,
        "duration": int(message.duration),
        "status": message.status,
        "createdAt": message.created_at,
        "readAt": message.read_at,
    }


def counter_json(counter: ChannelCounter) -> dict[str, Any]:
    return {
        "name": counter.channel,
        "title": counter.channel_title,
        "unread": int(counter.unread),
        "total": int(counter.total),
        "latest": {"id": counter.latest_id, "title": counter.latest_title, "createdAt": counter.latest_created_at},
    }


def channel_json(channel: Channel) -> dict[str, Any]:
    return {
        "name": channel.name,
        "title": channel.title,
        "description": channel.description,
        "createdAt": channel.created_at,
        "updatedAt": channel.updated_at,
    }


def page_json(items: list[dict[str, Any]], next_cursor: str | None) -> dict[str, Any]:
    return {"items": items, "nextCursor": next_cursor}
