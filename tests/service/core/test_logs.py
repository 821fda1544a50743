"""Logs: JSON with ids, never tokens or content."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from typing import Any

from chalicelib.core import logs
from tests.conftest import Api, LambdaClient, TokenFactory
from tests.events import ws_event
from tests.standin import ManagementStandIn


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


def _captured(action: Callable[[], object]) -> list[dict[str, Any]]:
    handler = next(h for h in logging.getLogger("chalicelib").handlers if isinstance(h.formatter, logs.JsonFormatter))
    stream = io.StringIO()
    previous = handler.setStream(stream)  # type: ignore[attr-defined]
    try:
        action()
    finally:
        handler.setStream(previous)  # type: ignore[attr-defined]
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_websocket_connects_refusals_and_disconnects_are_logged_with_the_user(
    lambdas: LambdaClient, standin: ManagementStandIn, token: TokenFactory
) -> None:
    good = token("alice")
    lines = _captured(lambda: lambdas.invoke("ws_connect", ws_event("$connect", "c1=", token=good)))
    assert [(e["message"], e["user_id"], e["connection_id"]) for e in lines] == [("connected", "alice", "c1=")]
    lines = _captured(lambda: lambdas.invoke("ws_disconnect", ws_event("$disconnect", "c1=")))
    assert [(e["message"], e["user_id"]) for e in lines] == [("disconnected", "alice")]
    lines = _captured(lambda: lambdas.invoke("ws_connect", ws_event("$connect", "c2=", token="not-a-jwt")))
    assert [(e["message"], e["user_id"], e["reason"]) for e in lines] == [
        ("connect refused", None, "token: the token is invalid")
    ]
    assert good not in json.dumps(lines) and "not-a-jwt" not in json.dumps(lines)
