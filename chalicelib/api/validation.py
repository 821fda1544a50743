"""Field rules: each checks one value against the API's limits (docs/api.md).

Every failure raises `ValidationError` naming the field; nothing here
touches storage, so bad input changes nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from chalicelib.core.errors import ValidationError

CHANNEL_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
# Spaces (as both Python and JavaScript regexes know them), controls and backslashes: a browser
# reads "\\" as "/", so "/\\evil.example" would leave the site. openapi.yaml states the same pattern.
_URL_NOT = r"\x00-\x20\x7f-\x9f\\\u00a0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff"
URL_FORBIDDEN = re.compile(f"[{_URL_NOT}]")
URL_PATTERN = re.compile(f"^([hH][tT][tT][pP][sS]?://[^{_URL_NOT}]+|/(?![/\\\\])[^{_URL_NOT}]*)$")
MAX_RECEIVERS = 1000
MAX_RECEIVER_ENTRIES = 10_000
MAX_USER_ID = 128
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


MAX_JSON_DEPTH = 32


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # Python's json accepts NaN and Infinity; JSON does not


def loads(raw: bytes | str, field: str = "body") -> Any:
    """Strict JSON: no NaN/Infinity, nesting ≤ 32, every string encodable as UTF-8.

    Python's parser raises RecursionError (not ValueError) on deep nesting and
    decodes ``"\\ud800"`` to a lone surrogate that cannot be stored: both are
    bad input, refused here as a 400 instead of failing later as a 500.
    """
    try:
        value = json.loads(raw, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ValidationError(field, "is not valid JSON") from None
    check_encodable(value, field)
    return value


def check_encodable(value: Any, root: str, path: str = "", depth: int = 0) -> None:
    """Refuse nesting deeper than MAX_JSON_DEPTH and strings with lone surrogates, naming where.

    ``path`` is the field inside the document (``title``, ``receivers[2]``); ``root`` names the
    document itself when the problem is at its top.
    """
    where = path or root
    if depth > MAX_JSON_DEPTH:
        raise ValidationError(where, f"is nested deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, str):
        _encodable(value, where)
    elif isinstance(value, dict):
        for key, item in value.items():
            _encodable(key, where)
            check_encodable(item, root, f"{path}.{key}" if path else key, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_encodable(item, root, f"{where}[{index}]", depth + 1)


def _encodable(text: str, field: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(field, "must be valid Unicode (no lone surrogates)") from None


def parse_json_object(raw: bytes | str | None) -> dict[str, Any]:
    """A request body as a JSON object; an empty body is ``{}``."""
    if raw is None or (isinstance(raw, (bytes, str)) and not raw.strip()):
        return {}
    value = loads(raw)
    if not isinstance(value, dict):
        raise ValidationError("body", "must be a JSON object")
    return value


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


def receivers(value: Any, field: str = "receivers") -> list[str]:
    """Distinct user ids in first-seen order."""
    if not isinstance(value, list):
        raise ValidationError(field, "must be a list of user ids")
    if len(value) > MAX_RECEIVER_ENTRIES:
        raise ValidationError(field, f"must have at most {MAX_RECEIVERS} distinct user ids")
    distinct: dict[str, None] = {}
    for index, user in enumerate(value):
        if not isinstance(user, str) or not 1 <= len(user) <= MAX_USER_ID:
            raise ValidationError(f"{field}[{index}]", "must be a user id of 1 to 128 characters")
        distinct[user] = None
    if not 1 <= len(distinct) <= MAX_RECEIVERS:
        raise ValidationError(field, f"must have 1 to {MAX_RECEIVERS} distinct user ids")
    return list(distinct)


def user_ids(value: Any, field: str) -> list[str]:
    """A list of at most MAX_SUBSCRIBER_IDS user ids (duplicates allowed, kept once, in first-seen order)."""
    if not isinstance(value, list):
        raise ValidationError(field, "must be a list of user ids")
    if len(value) > MAX_SUBSCRIBER_IDS:
        raise ValidationError(field, f"must have at most {MAX_SUBSCRIBER_IDS} user ids")
    for index, user in enumerate(value):
        if not isinstance(user, str) or not 1 <= len(user) <= MAX_USER_ID:
            raise ValidationError(f"{field}[{index}]", "must be a user id of 1 to 128 characters")
    return list(dict.fromkeys(value))


def message_title(value: Any, field: str = "title") -> str:
    return text(value, field, min_len=1, max_len=MAX_MESSAGE_TITLE)


def content(value: Any, field: str = "content") -> str:
    if not isinstance(value, str):
        raise ValidationError(field, "must be a string")
    if len(value.encode("utf-8", "surrogatepass")) > MAX_CONTENT_BYTES:
        raise ValidationError(field, f"must be at most {MAX_CONTENT_BYTES} bytes of UTF-8")
    return value


def url(value: Any, field: str = "url") -> str:
    if not isinstance(value, str):
        raise ValidationError(field, "must be a string")
    if not 1 <= len(value) <= MAX_URL:
        raise ValidationError(field, f"must be 1 to {MAX_URL} characters")
    if URL_FORBIDDEN.search(value):
        raise ValidationError(field, "must not contain spaces, backslashes or control characters")
    if not URL_PATTERN.fullmatch(value):
        raise ValidationError(field, "must be an http(s):// URL or a path starting with /")
    return value


def severity(value: Any, field: str = "severity") -> str:
    if value not in SEVERITIES:
        raise ValidationError(field, "must be one of normal, high, critical")
    return str(value)


def boolean(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(field, "must be true or false")
    return value


def duration(value: Any, field: str = "duration") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, "must be an integer number of seconds")
    if not 0 <= value <= MAX_DURATION:
        raise ValidationError(field, f"must be 0 to {MAX_DURATION} seconds")
    return value


def data(value: Any, field: str = "data") -> dict[str, str]:
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
