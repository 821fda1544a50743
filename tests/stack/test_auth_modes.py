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


@pytest.fixture(scope="module")
def tenant_stack() -> Iterator[RunningStack]:
    """The stack with tenants on: its own tokens are tenant ``team-a``'s (``INAPP_LOCAL_TENANT``)."""
    running = RunningStack(SECRET, {"INAPP_TENANT_CLAIM": "org", "INAPP_LOCAL_TENANT": "team-a"})
    yield running
    running.stop()


def test_with_tenants_on_the_stacks_tokens_carry_its_tenant_and_a_message_reaches_only_that_tenant(
    tenant_stack: RunningStack,
) -> None:
    import json

    from chalicelib.core.auth import issue_token

    assert "Tenants on (org claim): these tokens are tenant 'team-a'." in tenant_stack.output()
    tokens = tenant_stack.exports()
    status, channels = tenant_stack.http("GET", "/channels", tokens["ADMIN"])
    assert (status, [c["name"] for c in channels["items"]]) == (200, ["deploys"])  # seeded in the stack's tenant
    other_alice = issue_token("alice", SECRET, tenant="team-b", tenant_claim="org")
    with tenant_stack.socket(tokens["ALICE"]) as mine, tenant_stack.socket(other_alice) as theirs:
        body = {"channel": "deploys", "receivers": ["alice"], "title": "only team-a"}
        assert tenant_stack.http("POST", "/messages", tokens["ADMIN"], body)[0] == 202
        frame = json.loads(mine.recv(timeout=10))
        assert (frame["type"], frame["message"]["title"], frame["message"]["channel"]) == (
            "message.created",
            "only team-a",
            "deploys",
        )
        with pytest.raises(TimeoutError):
            theirs.recv(timeout=1)
    assert tenant_stack.http("GET", "/me/messages", other_alice) == (200, {"items": [], "nextCursor": None})
    status, refused = tenant_stack.http("GET", "/me/messages", issue_token("alice", SECRET))
    assert (status, refused["Message"]) == (401, "Authorization: the token's org claim (the tenant) is required")


def test_with_tenants_on_the_cli_mints_tokens_of_the_stacks_tenant(tenant_stack: RunningStack) -> None:
    import jwt

    env = {**client_env(tenant_stack.state_file), "INAPP_JWT_SECRET": SECRET}
    for extra, tenant in (([], "team-a"), (["--tenant", "team-b"], "team-b")):
        printed = subprocess.run(
            [sys.executable, "-m", "infra.local", "token", "carol", *extra],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True,
        ).stdout.strip()  # fmt: skip
        assert jwt.decode(printed, SECRET, algorithms=["HS256"])["org"] == tenant
    sent = subprocess.run(
        [sys.executable, "-m", "infra.local", "send", "--channel", "deploys", "--to", "carol", "--title", "cli"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    carol = jwt.encode({**jwt.decode(printed, SECRET, algorithms=["HS256"]), "org": "team-a"}, SECRET, algorithm="HS256")
    assert [m["title"] for m in tenant_stack.http("GET", "/me/messages", carol)[1]["items"]] == ["cli"]
