"""The send body's edge: ``POST /messages``, the preview and the ``send`` Lambda's messages become a `SendCommand`.

A send is checked here, once, with every rule that only a send has
(receivers, placeholders, URLs, actions, severity, the Idempotency-Key),
so the domain receives a `SendRequest` whose text is already filled in and
within the limits. Nothing here touches storage: bad input is refused
before anything changes.

``{{name}}`` placeholders are filled from the send's ``data`` by `render`: a
small strict renderer rather than chevron, which HTML-escapes ``{{x}}`` (our
clients render text, never HTML, so escaping would show ``&amp;``), renders
a missing key as a blank (we must answer 400) and has sections and partials
we do not want senders to use. Here a placeholder is only ``{{ name }}``;
values go in as plain text, percent-encoded inside URLs.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from chalicelib.api import validation as v
from chalicelib.core.auth import USER_ID_RULE, is_user_id
from chalicelib.core.clock import iso
from chalicelib.core.errors import ValidationError
from chalicelib.sending import Action, SendCommand, SendRequest

Body = Mapping[str, Any]
SEND_FIELDS = frozenset(
    {"channel", "receivers", "audience", "title", "content", "url", "mobileUrl", "duration", "severity", "actions", "data"}
) | {"tags", "expiresAt"}
# The edge checks the form and the lower bound; the sender, which knows the retention, the upper one.
LATEST_EXPIRY = timedelta(days=3650)


ACTION_FIELDS = {"label", "url"}


def _audience(body: Body, prefix: str) -> tuple[list[str], str | None]:
    """Exactly one of ``receivers`` and ``audience`` (null counts as absent)."""
    audience = body.get("audience")
    if audience is None:
        return valid_receivers(v.require(body, "receivers", prefix), prefix + "receivers"), None
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
    values = {} if body.get("data") is None else valid_data(body["data"], prefix + "data")
    title = render(title, values, prefix + "title", limit=v.MAX_MESSAGE_TITLE)
    content = render(content, values, prefix + "content", limit=v.MAX_CONTENT_BYTES)
    duration = body.get("duration")
    severity = body.get("severity")
    return SendRequest(
        channel=channel,
        receivers=receivers,
        title=valid_message_title(title, prefix + "title"),
        content=valid_content(content, prefix + "content"),
        url=_filled_url(body, "url", values, prefix),
        duration=0 if duration is None else valid_duration(duration, prefix + "duration"),
        audience=audience,
        mobile_url=_filled_url(body, "mobileUrl", values, prefix),
        severity="normal" if severity is None else valid_severity(severity, prefix + "severity"),
        actions=_actions(body.get("actions"), values, prefix + "actions"),
        tags=() if body.get("tags") is None else v.tags(body["tags"], prefix + "tags"),
        expiry=_expiry(body.get("expiresAt"), prefix + "expiresAt"),
    )


def _expiry(value: Any, field: str) -> str | None:
    """``expiresAt``: one minute ahead at least (the sender checks it against the retention)."""
    return None if value is None else iso(v.moment_ahead(value, field, LATEST_EXPIRY))


def _filled_url(body: Body, field: str, values: dict[str, str], prefix: str) -> str | None:
    raw = _optional_text(body, field, prefix)
    if raw is None:
        return None
    return valid_url(render(raw, values, prefix + field, url=True, limit=v.MAX_URL), prefix + field)


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


def send_command(body: Body, key: str | None, *, prefix: str = "", key_field: str = "Idempotency-Key") -> SendCommand:
    if key is not None:
        check_key(key, key_field)
    return SendCommand(send_request(body, prefix), key, body_hash(dict(body)), prefix)


MAX_KEY_LENGTH = 255


KEY_PATTERN = re.compile(f"^[ -~]{{1,{MAX_KEY_LENGTH}}}$")  # printable ASCII: what an HTTP header carries intact


def check_key(key: Any, field: str = "Idempotency-Key") -> str:
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        raise ValidationError(field, f"must be 1 to {MAX_KEY_LENGTH} printable ASCII characters")
    return key


def body_hash(body: dict[str, Any]) -> str:
    """What "the same body" means: the canonical JSON of the request, hashed."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def valid_receivers(value: Any, field: str = "receivers") -> list[str]:
    """Distinct user ids in first-seen order."""
    if not isinstance(value, list):
        raise ValidationError(field, "must be a list of user ids")
    if len(value) > v.MAX_RECEIVER_ENTRIES:
        raise ValidationError(field, f"must have at most {v.MAX_RECEIVERS} distinct user ids")
    distinct: dict[str, None] = {}
    for index, user in enumerate(value):
        if not is_user_id(user):
            raise ValidationError(f"{field}[{index}]", USER_ID_RULE)
        distinct[user] = None
    if not 1 <= len(distinct) <= v.MAX_RECEIVERS:
        raise ValidationError(field, f"must have 1 to {v.MAX_RECEIVERS} distinct user ids")
    return list(distinct)


def valid_message_title(value: Any, field: str = "title") -> str:
    return v.text(value, field, min_len=1, max_len=v.MAX_MESSAGE_TITLE)


def valid_content(value: Any, field: str = "content") -> str:
    if not isinstance(value, str):
        raise ValidationError(field, "must be a string")
    if len(value.encode("utf-8", "surrogatepass")) > v.MAX_CONTENT_BYTES:
        raise ValidationError(field, f"must be at most {v.MAX_CONTENT_BYTES} bytes of UTF-8")
    return value


def valid_url(value: Any, field: str = "url") -> str:
    if not isinstance(value, str):
        raise ValidationError(field, "must be a string")
    if not 1 <= len(value) <= v.MAX_URL:
        raise ValidationError(field, f"must be 1 to {v.MAX_URL} characters")
    if v.URL_FORBIDDEN.search(value):
        raise ValidationError(field, "must not contain spaces, backslashes or control characters")
    if not v.URL_PATTERN.fullmatch(value):
        raise ValidationError(field, "must be an http(s):// URL or a path starting with /")
    return value


def valid_severity(value: Any, field: str = "severity") -> str:
    if value not in v.SEVERITIES:
        raise ValidationError(field, "must be one of normal, high, critical")
    return str(value)


def valid_duration(value: Any, field: str = "duration") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, "must be an integer number of seconds")
    if not 0 <= value <= v.MAX_DURATION:
        raise ValidationError(field, f"must be 0 to {v.MAX_DURATION} seconds")
    return value


def valid_data(value: Any, field: str = "data") -> dict[str, str]:
    """Template values: an object of strings, numbers or booleans."""
    if not isinstance(value, dict):
        raise ValidationError(field, "must be an object")
    result: dict[str, str] = {}
    for key, item in value.items():
        if isinstance(item, bool):
            result[key] = "true" if item else "false"
        elif isinstance(item, (str, int, float)):
            result[key] = str(item)
        else:
            raise ValidationError(f"{field}.{key}", "must be a string, number or boolean")
    return result


PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}")


def render(template: str, values: dict[str, str], field: str, *, url: bool = False, limit: int | None = None) -> str:
    """Replace every placeholder of ``template``; a missing key is a 400 on ``data.<key>``.

    ``limit`` stops the filling as soon as the text outgrows it: a body of many
    placeholders and one long value would otherwise build gigabytes before any
    length check could refuse it.
    """
    parts: list[str] = []
    size = 0
    position = 0
    for match in PLACEHOLDER.finditer(template):
        key = match.group(1)
        if key not in values:
            raise ValidationError(f"data.{key}", f"is missing (used in {field})")
        value = quote(values[key], safe="") if url else values[key]
        parts += [template[position : match.start()], value]
        size += match.start() - position + len(value)
        position = match.end()
        if limit is not None and size > limit:
            raise ValidationError(field, f"must be at most {limit} characters once placeholders are filled")
    parts.append(template[position:])
    return "".join(parts)
