"""Small pieces: ids, cursors, templating, settings, logs."""

from __future__ import annotations

import io
import json
import logging
import threading
from typing import Any

import pytest

from chalicelib import logs
from chalicelib.config import load_settings
from chalicelib.cursors import CursorCodec
from chalicelib.errors import ConfigurationError, ValidationError
from chalicelib.ids import IdGenerator, id_time_ms, is_valid_id
from chalicelib.templating import render


def test_ids_in_one_millisecond_are_strictly_increasing() -> None:
    generator = IdGenerator(clock=lambda: 1_790_000_000_000)
    minted = [generator.new_id() for _ in range(1000)]
    assert minted == sorted(minted) and len(set(minted)) == 1000
    assert all(is_valid_id(i) and id_time_ms(i) == 1_790_000_000_000 for i in minted)


def test_ids_follow_the_clock_and_survive_a_clock_step_back() -> None:
    now = [1000]
    generator = IdGenerator(clock=lambda: now[0])
    first = generator.new_id()
    now[0] = 999  # the clock went backwards: ids still increase
    second = generator.new_id()
    now[0] = 2000
    third = generator.new_id()
    assert first < second < third
    assert id_time_ms(third) == 2000


def test_ids_are_unique_across_threads() -> None:
    generator = IdGenerator()
    minted: list[str] = []

    def mint() -> None:
        minted.extend(generator.new_id() for _ in range(500))

    threads = [threading.Thread(target=mint) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(minted)) == 2000


def test_cursor_round_trip_and_binding() -> None:
    codec = CursorCodec("secret")
    cursor = codec.encode("alice", "scope", {"id": "X"})
    assert codec.decode(cursor, "alice", "scope") == {"id": "X"}
    for user, scope in (("bob", "scope"), ("alice", "other")):
        with pytest.raises(ValidationError, match="cursor: is not valid for this query"):
            codec.decode(cursor, user, scope)
    with pytest.raises(ValidationError):
        CursorCodec("another secret").decode(cursor, "alice", "scope")
    for garbage in ("", "abc", "a.b.c", "ünïcode.x", "e30.AAAA"):
        with pytest.raises(ValidationError):
            codec.decode(garbage, "alice", "scope")


def test_render_is_strict_and_plain() -> None:
    assert render("{{a}}-{{ b }}", {"a": "<x>", "b": "y"}, "title") == "<x>-y"
    assert render("/p/{{a}}", {"a": "a b/c"}, "url", url=True) == "/p/a%20b%2Fc"
    assert render("{{#section}}x{{/section}}", {}, "title") == "{{#section}}x{{/section}}"
    with pytest.raises(ValidationError, match=r"data\.missing: is missing \(used in content\)"):
        render("{{missing}}", {}, "content")


def test_missing_table_setting_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INAPP_INBOX_TABLE")
    with pytest.raises(ConfigurationError, match="INAPP_INBOX_TABLE is required"):
        load_settings()


def test_missing_secret_and_jwks_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INAPP_JWT_SECRET")
    with pytest.raises(ConfigurationError, match="INAPP_JWT_SECRET or INAPP_JWKS_URL"):
        load_settings()


def test_bad_retention_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INAPP_RETENTION_DAYS", "a year")
    with pytest.raises(ConfigurationError, match="INAPP_RETENTION_DAYS must be an integer"):
        load_settings()


def test_ws_endpoint_from_api_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INAPP_WS_API_ID", "abc123")
    monkeypatch.setenv("INAPP_WS_STAGE", "api")
    assert load_settings().ws_management_endpoint == "https://abc123.execute-api.us-east-1.amazonaws.com/api"


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


def test_request_logs_never_contain_tokens_or_content(api: Any, channel: str, admin_token: str) -> None:
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


def test_secret_can_come_from_an_ssm_secure_string(monkeypatch: pytest.MonkeyPatch, aws: None) -> None:
    import boto3

    boto3.client("ssm", region_name="us-east-1").put_parameter(
        Name="/inapp/test/secret", Value="from-ssm-0123456789abcdef", Type="SecureString"
    )
    monkeypatch.delenv("INAPP_JWT_SECRET")
    monkeypatch.setenv("INAPP_SECRET_PARAMETER", "/inapp/test/secret")
    settings = load_settings()
    assert settings.jwt_secret == settings.cursor_secret == "from-ssm-0123456789abcdef"
    monkeypatch.setenv("INAPP_JWKS_URL", "https://issuer.example/.well-known/jwks.json")
    with_jwks = load_settings()
    assert with_jwks.jwt_secret is None and with_jwks.cursor_secret == "from-ssm-0123456789abcdef"
