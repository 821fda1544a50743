"""Channel management (admin only): create, list, read, update, delete."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import DeleteError, PutError, UpdateError

from chalicelib import validation as v
from chalicelib.clock import iso, utc_now
from chalicelib.cursors import CursorCodec
from chalicelib.errors import ConflictError, NotFoundError
from chalicelib.models import Channel
from chalicelib.storage_errors import condition_failed

CURSOR_SCOPE = "channels"


def to_json(channel: Channel) -> dict[str, Any]:
    return {
        "name": channel.name,
        "title": channel.title,
        "description": channel.description,
        "createdAt": channel.created_at,
        "updatedAt": channel.updated_at,
    }


def create_channel(body: dict[str, Any]) -> dict[str, Any]:
    v.reject_unknown(body, {"name", "title", "description"})
    name = v.channel_name(v.require(body, "name"))
    title = v.channel_title(v.require(body, "title"))
    description = v.description(body.get("description") or "")
    now = iso(utc_now())
    channel = Channel(name, title=title, description=description, created_at=now, updated_at=now)
    try:
        channel.save(condition=Channel.name.does_not_exist())
    except PutError as error:
        if condition_failed(error):
            raise ConflictError(f"name: channel '{name}' already exists") from None
        raise
    return to_json(channel)


def get_channel(name: str) -> Channel:
    """The channel called ``name``, or NotFoundError (also for malformed names)."""
    if not v.CHANNEL_NAME.match(name):
        raise NotFoundError(f"channel '{name}' not found")
    try:
        return Channel.get(name)
    except Channel.DoesNotExist:
        raise NotFoundError(f"channel '{name}' not found") from None


def update_channel(name: str, body: dict[str, Any]) -> dict[str, Any]:
    v.reject_unknown(body, {"title", "description"})
    actions: list[Any] = []
    if "title" in body:
        actions.append(Channel.title.set(v.channel_title(body["title"])))
    if "description" in body:
        actions.append(Channel.description.set(v.description(body["description"] or "")))
    channel = get_channel(name)
    if not actions:
        return to_json(channel)
    actions.append(Channel.updated_at.set(iso(utc_now())))
    try:
        channel.update(actions=actions, condition=Channel.name.exists())
    except UpdateError as error:
        if condition_failed(error):
            raise NotFoundError(f"channel '{name}' not found") from None
        raise
    return to_json(channel)


def delete_channel(name: str) -> None:
    channel = get_channel(name)
    try:
        channel.delete(condition=Channel.name.exists())
    except DeleteError as error:
        if condition_failed(error):
            raise NotFoundError(f"channel '{name}' not found") from None
        raise


def list_channels(user_id: str, params: dict[str, str], cursors: CursorCodec) -> dict[str, Any]:
    """A page of channels in table order; the cursor holds the last name."""
    limit = v.limit(params)
    start = None
    if params.get("cursor"):
        position = cursors.decode(params["cursor"], user_id, CURSOR_SCOPE)
        start = {"name": {"S": str(position.get("name", ""))}}
    page = list(Channel.scan(limit=limit + 1, page_size=limit + 1, last_evaluated_key=start))
    items, more = page[:limit], len(page) > limit
    next_cursor = cursors.encode(user_id, CURSOR_SCOPE, {"name": items[-1].name}) if more else None
    return {"items": [to_json(c) for c in items], "nextCursor": next_cursor}
