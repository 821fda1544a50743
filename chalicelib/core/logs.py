"""Structured JSON logs with the request id and user id of the current call.

Tokens and message content are never logged: handlers log ids, counts and
codes only, and the formatter copies only whitelisted ``extra`` fields.
"""

from __future__ import annotations

import contextvars
import json
import logging
from typing import Any

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_user_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("user_id", default=None)
EXTRA_FIELDS = (
    "method",
    "path",
    "status",
    "duration_ms",
    "code",
    "attempt",
    "channel",
    "frames",
    "posts",
    "failures",
    "gone",
    "dropped",
    "sequence_number",
    "connection_id",
    "reason",
    "kind",
    "target",
    "send_id",
)
LOGGER_NAMES = ("chalicelib", "inapp")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, ids, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": _request_id.get(),
            "user_id": _user_id.get(),
        }
        for field in EXTRA_FIELDS:
            if hasattr(record, field):
                entry[field] = getattr(record, field)
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__
        return json.dumps(entry, default=str)


def configure() -> None:
    """Attach the JSON handler to the service's loggers, once."""
    for name in LOGGER_NAMES:
        logger = logging.getLogger(name)
        if any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
            continue
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def bind(*, request_id: str | None = None, user_id: str | None = None) -> None:
    if request_id is not None:
        _request_id.set(request_id)
    if user_id is not None:
        _user_id.set(user_id)


def clear() -> None:
    _request_id.set(None)
    _user_id.set(None)
