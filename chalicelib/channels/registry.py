"""Channels (admin only): create, list, read, update, delete."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from chalicelib import storage
from chalicelib.core import tenants
from chalicelib.core.clock import iso, utc_now
from chalicelib.core.cursors import CursorCodec, Page
from chalicelib.core.errors import BusyError, ConflictError, NotFoundError
from chalicelib.core.ids import new_id
from chalicelib.storage import UNSUBSCRIBE, Channel, Step, WorkQueue, channel_json, page_json

CURSOR_SCOPE = "channels"


CHANNEL_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")  # what `validation` checks and `get_channel` expects


@dataclass(frozen=True)
class NewChannel:
    name: str
    title: str
    description: str


@dataclass(frozen=True)
class ChannelChanges:
    """A PATCH: None means "leave as it is"."""

    title: str | None
    description: str | None


def _not_found(name: str, field: str = "name") -> NotFoundError:
    """``field``: where the name came from — the path's ``name``, or a send's ``channel``."""
    return NotFoundError(f"{field}: channel '{tenants.plain_channel(name)}' not found")


def create_channel(new: NewChannel) -> dict[str, Any]:
    now = iso(utc_now())
    channel = Channel(new.name, title=new.title, description=new.description, created_at=now, updated_at=now, counted=True)
    with storage.refused_as(ConflictError(f"name: channel '{tenants.plain_channel(new.name)}' already exists")):
        channel.save(condition=Channel.name.does_not_exist())
    return channel_json(channel)


def get_channel(name: str, field: str = "name") -> Channel:
    """The channel called ``name``, or NotFoundError naming ``field`` (also for malformed names).

    ``name`` as stored: with tenants on, ``<tenant>|<name>`` (`chalicelib.core.tenants`).
    """
    if not CHANNEL_NAME.fullmatch(tenants.plain_channel(name)):
        raise _not_found(name, field)
    try:
        return Channel.get(name)
    except Channel.DoesNotExist:
        raise _not_found(name, field) from None


def update_channel(name: str, changes: ChannelChanges) -> dict[str, Any]:
    actions: list[Any] = []
    if changes.title is not None:
        actions.append(Channel.title.set(changes.title))
    if changes.description is not None:
        actions.append(Channel.description.set(changes.description))
    channel = get_channel(name)
    if not actions:
        return channel_json(channel)
    actions.append(Channel.updated_at.set(iso(utc_now())))
    with storage.refused_as(_not_found(name)):
        channel.update(actions=actions, condition=Channel.name.exists())
    return channel_json(channel)


def delete_channel(name: str, queue: WorkQueue) -> None:
    """Delete the channel; its subscriptions go asynchronously (queued first, so none can be left behind)."""
    channel = get_channel(name)
    try:
        queue.put(Step(UNSUBSCRIBE, name, before=new_id()))
    except Exception as error:  # botocore's ClientError or a connection error: nothing was queued
        raise BusyError("name: the channel's subscriptions could not be queued for removal; retry") from error
    with storage.refused_as(_not_found(name)):
        channel.delete(condition=Channel.name.exists())


def list_channels(user_id: str, page: Page, cursors: CursorCodec, tenant: str | None = None) -> dict[str, Any]:
    """A page of channels in table order; the cursor holds the last name.

    With tenants on, only ``tenant``'s: the Scan filters the others out (it reads past them, so listing
    channels costs the reads of every tenant's channels; channels are few, and only admins list them).
    """
    start = None
    if page.cursor:
        position = cursors.decode(page.cursor, user_id, CURSOR_SCOPE)
        start = {"name": {"S": str(position.get("name", ""))}}
    own = None if tenant is None else Channel.name.startswith(tenants.scoped(tenant, ""))
    size = page.limit + 1
    found = Channel.scan(own, limit=size, page_size=size, last_evaluated_key=start)
    items, more = storage.first_page(found, page.limit)
    cursor = storage.next_cursor(items, more, lambda c: cursors.encode(user_id, CURSOR_SCOPE, {"name": c.name}))
    return page_json([channel_json(c) for c in items], cursor)
