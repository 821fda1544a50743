"""`make run` in each auth mode: HS256 with demo tokens, or your provider's JWKS with none minted."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from infra.local.running import RunningStack, client_env
from tests.conftest import SECRET
from tests.e2e import ROOT
from tests.jwks import CLIENT_ID, ISSUER, JwksServer, access_token, id_token


@pytest.fixture(scope="module")
def idp() -> Iterator[JwksServer]:
    server = JwksServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def jwks_stack(idp: JwksServer) -> Iterator[RunningStack]:
    """The stack pointed at a Cognito-like user pool: its keys, its issuer, its app client, its groups."""
    cognito = {
        "INAPP_JWKS_URL": idp.url,
        "INAPP_JWT_ISSUER": ISSUER,
        "INAPP_JWT_AUDIENCE": CLIENT_ID,
        "INAPP_ROLES_CLAIM": "cognito:groups",
    }
    running = RunningStack(SECRET, cognito)
    yield running
    running.stop()


def test_the_stack_starts_in_jwks_mode_and_says_why_it_minted_no_tokens(jwks_stack: RunningStack) -> None:
    printed = jwks_stack.output()
    assert "tokens come from your identity provider, so this stack minted none" in printed
    assert "Traceback" not in printed and "export ADMIN=" not in printed


def test_in_jwks_mode_the_providers_access_and_id_tokens_work(jwks_stack: RunningStack, idp: JwksServer) -> None:
    status, body = jwks_stack.http("GET", "/me/unread-count", access_token(idp.key))
    assert (status, body) == (200, {"total": 0, "unseen": 0, "channels": {}})
    status, _ = jwks_stack.http("POST", "/channels", id_token(idp.key), {"name": "ops", "title": "Ops"})
    assert status == 201
    status, _ = jwks_stack.http("GET", "/me/unread-count", access_token(idp.key, client_id="another-app"))
    assert status == 401


def test_in_jwks_mode_the_cli_says_it_mints_no_tokens(jwks_stack: RunningStack) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "infra.local", "token", "carol"],
        cwd=ROOT,
        env={**client_env(jwks_stack.state_file), "INAPP_JWT_SECRET": SECRET},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "this command mints none" in result.stderr


def test_jwks_without_an_issuer_stops_the_start_naming_the_setting(idp: JwksServer) -> None:
    with pytest.raises(RuntimeError, match="stack exited early") as raised:
        RunningStack(SECRET, {"INAPP_JWKS_URL": idp.url})
    assert "error: setting INAPP_JWT_ISSUER is required with INAPP_JWKS_URL" in str(raised.value)
    assert "Traceback" not in str(raised.value)
