"""The parsing edge: request bodies and query strings become typed values.

Each route's input is checked here, once, against the API's limits
(`validation` holds the field rules; a send's body has `send_body`), and the domain modules receive these
frozen values instead of raw dicts. Nothing here touches storage, so bad
input is refused before anything changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.api import validation as v
from chalicelib.audience import SubscriberChanges
from chalicelib.channels import ChannelChanges, NewChannel
from chalicelib.core.cursors import Page
from chalicelib.core.errors import ValidationError
from chalicelib.core.ids import is_valid_id
from chalicelib.inbox import ArchiveAll, ChannelQuery, MessageChange, MessageQuery, MuteChange, ReadAll
from chalicelib.sending import SendLogQuery

Body = Mapping[str, Any]
Params = Mapping[str, str]


def page(params: Params) -> Page:
    return Page(limit=v.limit(params), cursor=params.get("cursor") or None)


def new_channel(body: Body) -> NewChannel:
    v.reject_unknown(body, {"name", "title", "description"})
    return NewChannel(
        name=v.channel_name(v.require(body, "name")),
        title=v.channel_title(v.require(body, "title")),
        description=_description(body.get("description")),
    )


def channel_changes(body: Body) -> ChannelChanges:
    v.reject_unknown(body, {"title", "description"})
    return ChannelChanges(
        title=v.channel_title(body["title"]) if "title" in body else None,
        description=_description(body["description"]) if "description" in body else None,
    )


def _description(value: Any) -> str:
    """``null`` or absent clears it; anything else must be a string."""
    return "" if value is None else v.description(value)


def message_query(params: Params) -> MessageQuery:
    after = params.get("after")
    if after is not None and not is_valid_id(after):
        raise ValidationError("after", "must be a message id")
    archived = params.get("archived", "false")
    if archived not in ("true", "false"):
        raise ValidationError("archived", "must be true or false")
    status = v.status(params)  # checked either way: a bad value is refused, not ignored
    tag = v.optional_tag(params)  # every parameter is checked, even one the list then ignores
    channel = v.optional_channel(params)
    if v.boolean_param(params, "snoozed"):  # every snoozed message, newest first: the lists' filters do not apply
        return MessageQuery(channel=None, status="all", after=None, page=page(params), snoozed=True)
    if archived == "true":  # the archive, newest first: status, tag and after belong to the live inbox
        return MessageQuery(channel=channel, status="all", after=None, page=page(params), archived=True)
    return MessageQuery(
        channel=channel,
        status=status,
        after=after,
        page=page(params),
        tag=None if after is not None else tag,  # the catch-up brings every message since the id
    )


def channel_query(params: Params) -> ChannelQuery:
    return ChannelQuery(status=v.status(params), page=page(params))


def message_change(body: Body) -> MessageChange:
    v.reject_unknown(body, {"status", "archived", "pinned", "snoozedUntil"})
    if not body:
        raise ValidationError("status", "is required unless archived, pinned or snoozedUntil is given")
    for alone in ("pinned", "snoozedUntil"):
        if alone in body and len(body) > 1:
            raise ValidationError(alone, "must be changed on its own")
    if "pinned" in body:
        return MessageChange(status=None, archived=None, pinned=v.boolean(body["pinned"], "pinned"))
    if "snoozedUntil" in body:
        until = body["snoozedUntil"]
        if until is None:
            return MessageChange(status=None, archived=None, wake=True)
        return MessageChange(status=None, archived=None, snooze=v.moment_ahead(until, "snoozedUntil", v.MAX_SNOOZE))
    status = body.get("status")
    if "status" in body and status not in v.MESSAGE_STATUSES:
        raise ValidationError("status", "must be read or unread")
    archived = v.boolean(body["archived"], "archived") if "archived" in body else None
    if archived and status == "unread":
        raise ValidationError("status", "cannot be unread when archiving (archiving marks read)")
    return MessageChange(status=status, archived=archived)


def _scope_channel(body: Body) -> str | None:
    channel = body.get("channel")
    return None if channel is None else v.channel_name(channel, "channel")


def read_all(body: Body) -> ReadAll:
    v.reject_unknown(body, {"channel"})
    return ReadAll(channel=_scope_channel(body))


def archive_all(body: Body) -> ArchiveAll:
    v.reject_unknown(body, {"channel", "status"})
    status = body.get("status")
    if status is not None and status != "read":
        raise ValidationError("status", 'must be "read" (or left out: archive everything)')
    return ArchiveAll(channel=_scope_channel(body), only_read=status == "read")


def mute_change(name: str, body: Body) -> MuteChange:
    v.reject_unknown(body, {"muted"})
    return MuteChange(channel=v.channel_name(name, "name"), muted=v.boolean(v.require(body, "muted"), "muted"))


def subscriber_changes(body: Body) -> SubscriberChanges:
    v.reject_unknown(body, {"add", "remove"})
    add = [] if body.get("add") is None else v.user_ids(body["add"], "add")
    remove = [] if body.get("remove") is None else v.user_ids(body["remove"], "remove")
    added = set(add)
    return SubscriberChanges(add=add, remove=[user for user in remove if user not in added])


def send_log_query(params: Params) -> SendLogQuery:
    return SendLogQuery(channel=v.optional_channel(params), page=page(params))
