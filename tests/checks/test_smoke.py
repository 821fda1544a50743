"""``make smoke`` (infra/checks/smoke.py): green against a running stack, and it can fail."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.core.auth import issue_token
from infra.checks import smoke
from infra.checks import target as targets
from tests.conftest import SECRET


def test_the_smoke_check_passes_against_the_local_stack(stack: Any) -> None:
    lines: list[str] = []
    smoke.check(targets.target_from_banner(stack.output()), smoke.Steps(lines.append))
    assert [line.split()[0] for line in lines] == ["ok"] * len(lines)
    assert any("frame message.created" in line for line in lines)
    assert all(line.rstrip().endswith("ms") for line in lines)  # every step says how long it took


def test_a_miss_stops_the_check_and_names_the_step(stack: Any) -> None:
    target = targets.target_from_banner(stack.output())
    wrong_key = issue_token("alice", "not-the-stack-secret-0123456789abcdef")
    lines: list[str] = []
    with pytest.raises(targets.SmokeError, match="GET /me/unread-count"):
        smoke.check(targets.Target(target.http_url, target.ws_url, target.admin_token, wrong_key), smoke.Steps(lines.append))
    assert lines[-1].split()[0] == "FAIL" and "HTTP 401" in lines[-1]


def test_a_deployed_target_needs_all_four_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INAPP_HTTP_URL", "https://abc.execute-api.us-east-1.amazonaws.com/api/")
    monkeypatch.setenv("INAPP_WS_URL", "wss://def.execute-api.us-east-1.amazonaws.com/api")
    monkeypatch.delenv("INAPP_ADMIN_TOKEN", raising=False)
    monkeypatch.delenv("INAPP_USER_TOKEN", raising=False)
    with pytest.raises(targets.SmokeError, match="INAPP_ADMIN_TOKEN, INAPP_USER_TOKEN"):
        targets.target_from_env()
    monkeypatch.setenv("INAPP_ADMIN_TOKEN", issue_token("admin", SECRET, admin=True))
    monkeypatch.setenv("INAPP_USER_TOKEN", issue_token("carol", SECRET))
    target = targets.target_from_env()
    assert target is not None and target.http_url.endswith("/api") and target.user_id == "carol"
