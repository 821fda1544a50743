"""Field rules: each checks one value against the API's limits (docs/api.md).

Every failure raises `ValidationError` naming the field; nothing here
touches storage, so bad input changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.channels import CHANNEL_NAME
from chalicelib.core.auth import USER_ID_RULE, is_user_id
from chalicelib.core.clock import utc_now
from chalicelib.core.errors import ValidationError

# Spaces (as both Python and JavaScript regexes know them), controls and backslashes: a browser
# reads "\\" as "/", so "/\\evil.example" would leave the site. openapi.yaml states the same pattern.
_URL_NOT = r"\x00-\x20\x7f-\x9f\\\u00a0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff"
URL_FORBIDDEN = re.compile(f"[{_URL_NOT}]")
URL_PATTERN = re.compile(f"^([hH][tT][tT][pP][sS]?://[^{_URL_NOT}]+|/(?![/\\\\])[^{_URL_NOT}]*)$")
MAX_RECEIVERS = 1000
MAX_RECEIVER_ENTRIES = 10_000
MAX_SUBSCRIBER_IDS = 1000
AUDIENCES = ("subscribers",)
MAX_CHANNEL_TITLE = 100
MAX_DESCRIPTION = 1000
MAX_MESSAGE_TITLE = 200
MAX_CONTENT_BYTES = 16 * 1024
MAX_URL = 2048
MAX_DURATION = 3600
MAX_LIMIT = 100
DEFAULT_LIMIT = 20
STATUSES = ("all", "unread", "read")
MESSAGE_STATUSES = ("unread", "read")
SEVERITIES = ("normal", "high", "critical")
MAX_ACTIONS = 2
MAX_ACTION_LABEL = 40
MAX_TAGS = 5
TAG_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
MIN_AHEAD = timedelta(minutes=1)  # an expiry or a snooze: at least this far ahead
MAX_SNOOZE = timedelta(days=90)


def reject_unknown(body: Mapping[str, Any], allowed: set[str], prefix: str = "") -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ValidationError(prefix + unknown[0], "is not a known field")


def require(body: Mapping[str, Any], field: str, prefix: str = "") -> Any:
    if body.get(field) is None:
        raise ValidationError(prefix + field, "is required")
    return body[field]


def text(value: Any, field: str, *, min_len: int, max_len: int) -> str:
    if not isinstance(value, str):
        raise ValidationError(field, "must be a string")
    if not min_len <= len(value) <= max_len:
        if min_len:
            raise ValidationError(field, f"must be {min_len} to {max_len} characters")
        raise ValidationError(field, f"must be at most {max_len} characters")
    return value


def channel_name(value: Any, field: str = "name") -> str:
    if not isinstance(value, str):
        raise ValidationError(field, "must be a string")
    if not CHANNEL_NAME.fullmatch(value):
        raise ValidationError(field, "must match ^[a-z0-9][a-z0-9_-]{0,63}$")
    return value


def channel_title(value: Any, field: str = "title") -> str:
    return text(value, field, min_len=1, max_len=MAX_CHANNEL_TITLE)


def description(value: Any, field: str = "description") -> str:
    return text(value, field, min_len=0, max_len=MAX_DESCRIPTION)


def user_ids(value: Any, field: str) -> list[str]:
    """A list of at most MAX_SUBSCRIBER_IDS user ids (duplicates allowed, kept once, in first-seen order)."""
    if not isinstance(value, list):
        raise ValidationError(field, "must be a list of user ids")
    if len(value) > MAX_SUBSCRIBER_IDS:
        raise ValidationError(field, f"must have at most {MAX_SUBSCRIBER_IDS} user ids")
    for index, user in enumerate(value):
        if not is_user_id(user):
            raise ValidationError(f"{field}[{index}]", USER_ID_RULE)
    return list(dict.fromkeys(value))


def boolean(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(field, "must be true or false")
    return value


def limit(params: Mapping[str, str]) -> int:
    raw = params.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:  # "²".isdigit() is true
        raise ValidationError("limit", f"must be an integer from 1 to {MAX_LIMIT}")
    return int(raw)


def status(params: Mapping[str, str]) -> str:
    value = params.get("status", "all")
    if value not in STATUSES:
        raise ValidationError("status", "must be one of all, unread, read")
    return value


def optional_channel(params: Mapping[str, str]) -> str | None:
    value = params.get("channel")
    return None if value is None else channel_name(value, "channel")


def tags(value: Any, field: str = "tags") -> tuple[str, ...]:
    """At most five distinct tags, each ``^[a-z0-9][a-z0-9_-]{0,31}$``, sorted."""
    if not isinstance(value, list) or len(value) > MAX_TAGS:
        raise ValidationError(field, f"must be a list of at most {MAX_TAGS} tags")
    for index, tag in enumerate(value):
        if not isinstance(tag, str) or not TAG_NAME.fullmatch(tag):
            raise ValidationError(f"{field}[{index}]", "must match ^[a-z0-9][a-z0-9_-]{0,31}$")
    return tuple(sorted(set(value)))


def optional_tag(params: Mapping[str, str]) -> str | None:
    value = params.get("tag")
    if value is not None and not TAG_NAME.fullmatch(value):
        raise ValidationError("tag", "must match ^[a-z0-9][a-z0-9_-]{0,31}$")
    return value


def moment_ahead(value: Any, field: str, latest: timedelta, now: datetime | None = None) -> datetime:
    """An ISO 8601 time with its offset, from one minute to ``latest`` ahead of now."""
    if not isinstance(value, str) or len(value) > 40:
        raise ValidationError(field, "must be an ISO 8601 time with a time zone, e.g. 2030-01-01T09:00:00Z")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValidationError(field, "must be an ISO 8601 time with a time zone, e.g. 2030-01-01T09:00:00Z")
    ahead = moment - (now or utc_now())
    if not MIN_AHEAD <= ahead <= latest:
        raise ValidationError(field, f"must be from 1 minute to {latest.days} days ahead")
    return moment.astimezone(UTC)


def boolean_param(params: Mapping[str, str], field: str) -> bool:
    """A query parameter of ``true`` or ``false`` (absent: false)."""
    value = params.get(field, "false")
    if value not in ("true", "false"):
        raise ValidationError(field, "must be true or false")
    return value == "true"
