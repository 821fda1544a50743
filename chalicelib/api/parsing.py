"""The parsing edge: request bodies and query strings become typed values.

Each route's input is checked here, once, against the API's limits
(`validation` holds the field rules), and the domain modules receive these
frozen values instead of raw dicts. Nothing here touches storage, so bad
input is refused before anything changes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.api import validation as v
from chalicelib.core.errors import ValidationError
from chalicelib.core.ids import is_valid_id
from chalicelib.core.templating import render
from chalicelib.sending import idempotency

Body = Mapping[str, Any]
Params = Mapping[str, str]


@dataclass(frozen=True)
class Page:
    """``?limit&cursor``: the cursor is still opaque; the domain checks it against the caller."""

    limit: int
    cursor: str | None


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


@dataclass(frozen=True)
class MessageQuery:
    """``GET /me/messages``: a filtered page, or with ``after`` the catch-up after an id.

    ``archived`` lists the archive (newest first, optionally of one channel) instead.
    """

    channel: str | None
    status: str
    after: str | None
    page: Page
    archived: bool = False


@dataclass(frozen=True)
class ChannelQuery:
    """``GET /me/channels``."""

    status: str
    page: Page


@dataclass(frozen=True)
class MessageChange:
    """``PATCH /me/messages/{id}``: a new status, a move into or out of the archive, or both."""

    status: str | None
    archived: bool | None


@dataclass(frozen=True)
class ReadAll:
    """``POST /me/messages/read`` and ``/seen``: every message, or those of one channel."""

    channel: str | None


@dataclass(frozen=True)
class ArchiveAll:
    """``POST /me/messages/archive``: every message, or only the read ones, of one channel or all."""

    channel: str | None
    only_read: bool


@dataclass(frozen=True)
class MuteChange:
    """``PUT /me/preferences/channels/{name}``."""

    channel: str
    muted: bool


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
    if archived == "true":  # the archive, newest first: status and after belong to the live inbox
        return MessageQuery(channel=v.optional_channel(params), status="all", after=None, page=page(params), archived=True)
    return MessageQuery(
        channel=v.optional_channel(params),
        status=status,
        after=after,
        page=page(params),
        archived=archived == "true",
    )


def channel_query(params: Params) -> ChannelQuery:
    return ChannelQuery(status=v.status(params), page=page(params))


def message_change(body: Body) -> MessageChange:
    v.reject_unknown(body, {"status", "archived"})
    if not body:
        raise ValidationError("status", "is required unless archived is given")
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


@dataclass(frozen=True)
class SubscriberChanges:
    """``POST /channels/{name}/subscribers``: the final state is "remove, then add" (an id in both stays)."""

    add: list[str]
    remove: list[str]


def subscriber_changes(body: Body) -> SubscriberChanges:
    v.reject_unknown(body, {"add", "remove"})
    add = [] if body.get("add") is None else v.user_ids(body["add"], "add")
    remove = [] if body.get("remove") is None else v.user_ids(body["remove"], "remove")
    added = set(add)
    return SubscriberChanges(add=add, remove=[user for user in remove if user not in added])


@dataclass(frozen=True)
class SendLogQuery:
    """``GET /messages``: the send log, of one channel or all."""

    channel: str | None
    page: Page


def send_log_query(params: Params) -> SendLogQuery:
    return SendLogQuery(channel=v.optional_channel(params), page=page(params))


SEND_FIELDS = frozenset(
    {"channel", "receivers", "audience", "title", "content", "url", "mobileUrl", "duration", "severity", "actions", "data"}
)
ACTION_FIELDS = {"label", "url"}


@dataclass(frozen=True)
class Action:
    """A button on the message: the first is the primary one."""

    label: str
    url: str


@dataclass(frozen=True)
class SendRequest:
    """A validated send, placeholders already filled: ``receivers``, or ``audience`` (then no receivers)."""

    channel: str
    receivers: list[str]
    title: str
    content: str
    url: str | None
    duration: int
    audience: str | None = None
    mobile_url: str | None = None
    severity: str = "normal"
    actions: tuple[Action, ...] = ()

    def stored_fields(self) -> dict[str, Any]:
        """What the inbox items and the send-log item both store of the send, by model attribute name."""
        return {
            "channel": self.channel,
            "title": self.title,
            "content": self.content,
            "url": self.url,
            "mobile_url": self.mobile_url,
            "duration": self.duration,
            "severity": self.severity,
            "actions": self.actions_json(),
        }

    def actions_json(self) -> str | None:
        """The actions as stored on the inbox and send-log items (None when there are none)."""
        if not self.actions:
            return None
        return json.dumps([{"label": a.label, "url": a.url} for a in self.actions], separators=(",", ":"))


def _audience(body: Body, prefix: str) -> tuple[list[str], str | None]:
    """Exactly one of ``receivers`` and ``audience`` (null counts as absent)."""
    audience = body.get("audience")
    if audience is None:
        return v.receivers(v.require(body, "receivers", prefix), prefix + "receivers"), None
    if body.get("receivers") is not None:
        raise ValidationError(prefix + "audience", "cannot be given together with receivers")
    if audience not in v.AUDIENCES:
        raise ValidationError(prefix + "audience", 'must be "subscribers"')
    return [], str(audience)


def _optional_text(body: Body, field: str, prefix: str) -> str | None:
    value = body.get(field)
    if value is not None and not isinstance(value, str):
        raise ValidationError(prefix + field, "must be a string")
    return value


def send_request(body: Body, prefix: str = "") -> SendRequest:
    """A ``POST /messages`` body; ``prefix`` names its place in a batch (``messages[3].``).

    Limits are checked on the text after placeholders are filled.
    """
    v.reject_unknown(body, set(SEND_FIELDS), prefix)
    channel = v.channel_name(v.require(body, "channel", prefix), prefix + "channel")
    receivers, audience = _audience(body, prefix)
    title = _optional_text(body, "title", prefix)
    if title is None:
        raise ValidationError(prefix + "title", "is required")
    content = _optional_text(body, "content", prefix) or ""
    # Always filled: a placeholder without a value is a 400 even when no `data` was sent at all.
    values = {} if body.get("data") is None else v.data(body["data"], prefix + "data")
    title = render(title, values, prefix + "title", limit=v.MAX_MESSAGE_TITLE)
    content = render(content, values, prefix + "content", limit=v.MAX_CONTENT_BYTES)
    duration = body.get("duration")
    severity = body.get("severity")
    return SendRequest(
        channel=channel,
        receivers=receivers,
        title=v.message_title(title, prefix + "title"),
        content=v.content(content, prefix + "content"),
        url=_filled_url(body, "url", values, prefix),
        duration=0 if duration is None else v.duration(duration, prefix + "duration"),
        audience=audience,
        mobile_url=_filled_url(body, "mobileUrl", values, prefix),
        severity="normal" if severity is None else v.severity(severity, prefix + "severity"),
        actions=_actions(body.get("actions"), values, prefix + "actions"),
    )


def _filled_url(body: Body, field: str, values: dict[str, str], prefix: str) -> str | None:
    raw = _optional_text(body, field, prefix)
    if raw is None:
        return None
    return v.url(render(raw, values, prefix + field, url=True, limit=v.MAX_URL), prefix + field)


def _actions(value: Any, values: dict[str, str], field: str) -> tuple[Action, ...]:
    """Up to two ``{label, url}`` buttons, placeholders filled in both."""
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > v.MAX_ACTIONS:
        raise ValidationError(field, f"must be a list of at most {v.MAX_ACTIONS} actions")
    actions = []
    for index, action in enumerate(value):
        where = f"{field}[{index}]"
        if not isinstance(action, dict):
            raise ValidationError(where, "must be an object with label and url")
        v.reject_unknown(action, ACTION_FIELDS, where + ".")
        label = _optional_text(action, "label", where + ".")
        if label is None:
            raise ValidationError(where + ".label", "is required")
        label = render(label, values, where + ".label", limit=v.MAX_ACTION_LABEL)
        label = v.text(label, where + ".label", min_len=1, max_len=v.MAX_ACTION_LABEL)
        url = _filled_url(action, "url", values, where + ".")
        if url is None:
            raise ValidationError(where + ".url", "is required")
        actions.append(Action(label=label, url=url))
    return tuple(actions)


@dataclass(frozen=True)
class SendCommand:
    """A send as either edge hands it over: the request, its Idempotency-Key, and the body's hash.

    ``prefix`` is where it sat in a ``send`` batch (``messages[3].``), for error messages.
    """

    request: SendRequest
    key: str | None
    body_hash: str
    prefix: str = ""


def send_command(body: Body, key: str | None, *, prefix: str = "", key_field: str = "Idempotency-Key") -> SendCommand:
    if key is not None:
        idempotency.check_key(key, key_field)
    return SendCommand(send_request(body, prefix), key, idempotency.body_hash(dict(body)), prefix)
