"""JSON text from outside: parsed with a depth limit, and checked to encode back (no lone surrogates).

Both edges read JSON from callers, the HTTP bodies and the WebSocket frames:
this is the one place that turns such text into values or a `ValidationError`.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.core.errors import ValidationError

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
    """A request body as a JSON object; an empty body is ``{}`` (white space alone is not JSON: refused as any)."""
    if not raw:
        return {}
    value = loads(raw)
    if not isinstance(value, dict):
        raise ValidationError("body", "must be a JSON object")
    return value
