"""Log lines for a person at a terminal, chosen by the local stack only.

In Lambda the service logs one JSON object per line (`chalicelib.core.logs`), which
CloudWatch Logs Insights can query. On a terminal that is hard to read, so the
local stack swaps the formatter on the service's handlers for `TextFormatter`:
one short line per event, same fields. ``INAPP_LOG_FORMAT=json`` keeps JSON
locally too (to pipe into ``jq``, or to see exactly what Lambda would log).

`TextFormatter` renders what `JsonFormatter` produces, so the whitelist of
fields (no tokens, no message content) stays in one place. JSON escapes
control characters; the text line escapes them too (a newline is printed as
backslash and ``n``), so a value from a request (a path, a token's ``sub``)
can never start a line of its own or recolour the terminal.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from typing import Any

from chalicelib.core.logs import LOGGER_NAMES, JsonFormatter

FORMATS = ("text", "json")
_SHOWN_FIRST = ("time", "level", "logger", "message", "request_id", "user_id", "error")
_REQUEST_FIELDS = ("method", "path", "status", "duration_ms")
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # C0, DEL, C1, and the two Unicode line breaks


class TextFormatter(JsonFormatter):
    """``13:40:47 INFO  POST /messages 202 41.9 ms user=admin`` — one line, no traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = json.loads(super().format(record))
        parts = [entry["time"][-8:], f"{entry['level']:<5}", _headline(entry)]
        if entry.get("user_id"):
            parts.append(f"user={entry['user_id']}")
        shown = set(_SHOWN_FIRST) | (set(_REQUEST_FIELDS) if _is_request(entry) else set())
        parts += [f"{key}={value}" for key, value in entry.items() if key not in shown]
        if record.exc_info and record.exc_info[1] is not None:
            parts.append(f"error={type(record.exc_info[1]).__name__}: {record.exc_info[1]}")
        return _UNPRINTABLE.sub(_escape, " ".join(parts))


def _escape(match: re.Match[str]) -> str:
    r"""``\n``, ``\x1b``, ``\u2028``: as Python writes the character in a string literal."""
    return match.group().encode("unicode_escape").decode("ascii")


def _is_request(entry: dict[str, Any]) -> bool:
    return all(field in entry for field in _REQUEST_FIELDS)


def _headline(entry: dict[str, Any]) -> str:
    if _is_request(entry):
        return f"{entry['method']} {entry['path']} {entry['status']} {entry['duration_ms']} ms"
    return f"{entry['logger']}: {entry['message']}"


def log_format() -> str:
    """``INAPP_LOG_FORMAT`` (``text`` by default); anything else is refused by name."""
    chosen = os.environ.get("INAPP_LOG_FORMAT", "text").strip().lower() or "text"
    if chosen not in FORMATS:
        raise ValueError(f"INAPP_LOG_FORMAT must be one of {', '.join(FORMATS)}, got {chosen!r}")
    return chosen


def install(chosen: str) -> None:
    """One handler per service logger, on stderr, in the chosen format.

    Replaces whatever is attached: `chalicelib.core.logs.configure` adds its JSON
    handler next to the one Chalice itself gives the app's logger (``inapp``),
    which would print every line twice. ``websockets`` and ``asyncio`` (their
    warnings and errors only) get the same one-line format.
    """
    formatter = TextFormatter() if chosen == "text" else JsonFormatter()
    for name in (*LOGGER_NAMES, "websockets", "asyncio"):
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            logger.removeHandler(old)
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(formatter)
        logger.addHandler(handler)
        logger.propagate = False
