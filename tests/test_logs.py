"""Logs: JSON with ids, never tokens or content."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

from chalicelib import logs
from tests.conftest import Api


def test_logs_are_json_with_ids_and_whitelisted_extras() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("tests.logs")
    logger.addHandler(handler)
    try:
        logs.bind(request_id="req-1", user_id="u-1")
        logger.warning("hello", extra={"status": 200, "token": "SECRET", "content": "private"})
    finally:
        logger.removeHandler(handler)
        logs.clear()
    entry: dict[str, Any] = json.loads(stream.getvalue())
    assert (entry["message"], entry["request_id"], entry["user_id"], entry["status"]) == ("hello", "req-1", "u-1", 200)
    assert "token" not in entry and "content" not in entry


def test_request_logs_never_contain_tokens_or_content(api: Api, channel: str, admin_token: str) -> None:
    handler = next(h for h in logging.getLogger("chalicelib").handlers if isinstance(h.formatter, logs.JsonFormatter))
    stream = io.StringIO()
    previous = handler.setStream(stream)  # type: ignore[attr-defined]
    try:
        body = {"channel": "news", "receivers": ["u1"], "title": "t", "content": "very private words"}
        api.call("POST", "/messages", token=admin_token, json_body=body)
    finally:
        handler.setStream(previous)  # type: ignore[attr-defined]
    captured = stream.getvalue()
    lines = [json.loads(line) for line in captured.splitlines()]
    assert any(
        line.get("path") == "/messages" and line.get("status") == 202 and line.get("user_id") == "admin-1" for line in lines
    )
    assert admin_token not in captured and "very private words" not in captured
