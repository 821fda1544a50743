"""Tokens, roles and refusals, for every protected route (docs/api.md, Authentication)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib import service
from chalicelib.core.auth import issue_token
from tests.conftest import SECRET, Api, ConnectFactory, LambdaClient, SendFactory, TokenFactory, assert_error
from tests.events import StreamTap
from tests.jwks import CLIENT_ID, ISSUER, JwksServer, access_token, id_token
from tests.standin import ManagementStandIn

ADMIN_ROUTES = [
    ("POST", "/channels", {"name": "x", "title": "X"}),
    ("GET", "/channels", None),
    ("GET", "/channels/news", None),
    ("PATCH", "/channels/news", {"title": "T"}),
    ("DELETE", "/channels/news", None),
    ("POST", "/messages", {"channel": "news", "receivers": ["u"], "title": "t"}),
    ("POST", "/messages/preview", {"channel": "news", "receivers": ["u"], "title": "t"}),
]
USER_ROUTES = [
    ("GET", "/me/channels", None),
    ("GET", "/me/messages", None),
    ("GET", "/me/messages/01M87B7Z864SRYNJTHXHH51G00", None),
    ("PATCH", "/me/messages/01M87B7Z864SRYNJTHXHH51G00", {"status": "read"}),
    ("POST", "/me/messages/read", {}),
    ("GET", "/me/unread-count", None),
]


def _unsigned(claims: dict[str, Any]) -> str:
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


BAD_TOKENS = {
    "expired": lambda: issue_token("u1", SECRET, now=int(time.time()) - 7200, lifetime_seconds=60),
    "alg-none": lambda: _unsigned({"sub": "u1", "exp": int(time.time()) + 600, "roles": ["admin"]}),
    "wrong-key": lambda: issue_token("u1", "another-secret-entirely-0123456789", admin=True),
    "garbage": lambda: "not.a.jwt",
    "no-exp": lambda: jwt.encode({"sub": "u1", "roles": ["admin"]}, SECRET, algorithm="HS256"),
    "no-sub": lambda: jwt.encode({"exp": int(time.time()) + 600}, SECRET, algorithm="HS256"),
    "sub-too-long": lambda: issue_token("u" * 129, SECRET, admin=True),
    "sub-reserved": lambda: issue_token("~c|news", SECRET, admin=True),  # the service's own keys begin with ~
}


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES + USER_ROUTES)
def test_missing_token_is_401(api: Api, channel: str, method: str, path: str, body: Any) -> None:
    response = api.call(method, path, json_body=body)
    assert response.status_code == 401
    assert response.json_body == {"Code": "UnauthorizedError", "Message": "Authorization: a bearer token is required"}


@pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES + USER_ROUTES)
def test_bad_tokens_are_401(api: Api, channel: str, kind: str, method: str, path: str, body: Any) -> None:
    response = api.call(method, path, token=BAD_TOKENS[kind](), json_body=body)
    assert response.status_code == 401
    assert response.json_body["Code"] == "UnauthorizedError"


def test_expired_token_says_so(api: Api) -> None:
    response = api.call("GET", "/me/unread-count", token=BAD_TOKENS["expired"]())
    assert response.json_body["Message"] == "Authorization: the token has expired"


def test_non_bearer_scheme_is_401(api: Api) -> None:
    response = api.call("GET", "/me/unread-count", headers={"Authorization": f"Basic {issue_token('u', SECRET)}"})
    assert_error(response, 401, "Authorization: a bearer token is required")


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
def test_non_admin_is_403_and_changes_nothing(
    api: Api, channel: str, token: TokenFactory, admin_token: str, method: str, path: str, body: Any
) -> None:
    response = api.call(method, path, token=token("u1"), json_body=body)
    assert response.status_code == 403
    assert response.json_body == {"Code": "ForbiddenError", "Message": "Authorization: this operation needs the admin role"}
    assert api.call("GET", "/channels/news", token=admin_token).json_body["title"] == "News"
    assert api.call("GET", "/me/unread-count", token=token("u")).json_body == {"total": 0, "unseen": 0, "channels": {}}


def _hs256(**claims: Any) -> str:
    return jwt.encode({"sub": "ops", "exp": int(time.time()) + 600, **claims}, SECRET, algorithm="HS256")


def test_admin_comes_from_the_configured_roles_claim_only(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """`cognito:groups` grants admin only when it is the configured claim, whatever `roles` says."""
    groups = _hs256(**{"cognito:groups": ["admin", "ops"]})
    assert_error(api.call("GET", "/channels", token=groups), 403, "Authorization: this operation needs the admin role")
    monkeypatch.setenv("INAPP_ROLES_CLAIM", "cognito:groups")
    service.reset()
    assert api.call("GET", "/channels", token=groups).status_code == 200
    roles_only = _hs256(roles=["admin"], **{"cognito:groups": ["ops"]})
    assert_error(api.call("GET", "/channels", token=roles_only), 403, "Authorization: this operation needs the admin role")


@pytest.mark.parametrize("value", ["admin ops", "ops,admin", "ops, admin", ["ops admin"], ["ops,admin"]])
def test_a_role_string_is_one_role_never_split(api: Api, value: Any) -> None:
    assert_error(
        api.call("GET", "/channels", token=_hs256(roles=value)), 403, "Authorization: this operation needs the admin role"
    )


@pytest.mark.parametrize("value", ["admin", ["ops", "admin"]])
def test_a_role_is_a_string_or_an_array_of_strings(api: Api, value: Any) -> None:
    assert api.call("GET", "/channels", token=_hs256(roles=value)).status_code == 200


def test_roles_claim_is_configurable(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INAPP_ROLES_CLAIM", "https://example.com/roles")
    service.reset()
    claims = {"sub": "ops", "exp": int(time.time()) + 600, "https://example.com/roles": "admin"}
    assert api.call("GET", "/channels", token=jwt.encode(claims, SECRET, algorithm="HS256")).status_code == 200
    default_claim = issue_token("ops", SECRET, admin=True)  # `roles` no longer counts
    assert_error(api.call("GET", "/channels", token=default_claim), 403, "Authorization: this operation needs the admin role")


def test_health_needs_no_token(api: Api) -> None:
    response = api.call("GET", "/health")
    assert (response.status_code, response.json_body) == (200, {"status": "ok"})


# --- JWKS (Cognito / OIDC) -------------------------------------------------


@pytest.fixture
def idp(monkeypatch: pytest.MonkeyPatch) -> Iterator[JwksServer]:
    """A JWKS endpoint on loopback, and the service pointed at it as at a Cognito user pool."""
    server = JwksServer()
    monkeypatch.setenv("INAPP_JWKS_URL", server.url)
    monkeypatch.setenv("INAPP_JWT_ISSUER", ISSUER)
    monkeypatch.setenv("INAPP_JWT_AUDIENCE", CLIENT_ID)
    monkeypatch.setenv("INAPP_ROLES_CLAIM", "cognito:groups")
    monkeypatch.setenv("INAPP_CURSOR_SECRET", "cursor-secret-for-jwks-tests")
    service.reset()
    yield server
    server.stop()


def test_jwks_token_is_accepted_and_keys_are_cached(api: Api, idp: JwksServer) -> None:
    for _ in range(3):
        assert api.call("GET", "/channels", token=id_token(idp.key)).status_code == 200
    assert idp.hits == 1


@pytest.mark.parametrize(
    "overrides",
    [{"iss": "https://evil.example"}, {"aud": "someone-else"}, {"exp": int(time.time()) - 10}],
    ids=["issuer", "audience", "expired"],
)
def test_jwks_token_with_wrong_claims_is_401(api: Api, idp: JwksServer, overrides: Any) -> None:
    response = api.call("GET", "/channels", token=id_token(idp.key, **overrides))
    expected = "Authorization: the token has expired" if "exp" in overrides else "Authorization: the token is invalid"
    assert_error(response, 401, expected)


def test_jwks_mode_refuses_hs256_and_foreign_keys(api: Api, idp: JwksServer) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert api.call("GET", "/channels", token=id_token(other)).status_code == 401
    assert api.call("GET", "/channels", token=issue_token("u", SECRET, admin=True)).status_code == 401


def test_a_cognito_access_token_is_checked_by_its_client_id(api: Api, idp: JwksServer) -> None:
    assert api.call("GET", "/me/unread-count", token=access_token(idp.key)).status_code == 200
    other_client = access_token(idp.key, client_id="another-app")
    assert_error(api.call("GET", "/me/unread-count", token=other_client), 401, "Authorization: the token is invalid")
    id_token_without_aud = id_token(idp.key, aud=None)
    assert_error(api.call("GET", "/me/unread-count", token=id_token_without_aud), 401, "Authorization: the token is invalid")


def test_without_an_audience_setting_any_client_of_the_issuer_is_accepted(
    api: Api, idp: JwksServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("INAPP_JWT_AUDIENCE")
    service.reset()
    assert api.call("GET", "/me/unread-count", token=access_token(idp.key, client_id="any")).status_code == 200
    assert api.call("GET", "/me/unread-count", token=id_token(idp.key, aud="any")).status_code == 200
    foreign_issuer = access_token(idp.key, iss="https://cognito-idp.example/other-pool")
    assert_error(api.call("GET", "/me/unread-count", token=foreign_issuer), 401, "Authorization: the token is invalid")


def test_a_missing_auth_setting_fails_requests_with_its_name_and_never_delivery(
    api: Api,
    token: TokenFactory,
    monkeypatch: pytest.MonkeyPatch,
    lambdas: LambdaClient,
    stream: StreamTap,
    standin: ManagementStandIn,
    connect: ConnectFactory,
    send: SendFactory,
    channel: str,
) -> None:
    """A JWKS without its issuer fails the first request, naming the setting; `deliver` verifies no token."""
    connect("u1", "c1=")
    send(["u1"])
    monkeypatch.setenv("INAPP_JWKS_URL", "https://issuer.example/.well-known/jwks.json")
    service.reset()
    response = api.call("GET", "/me/unread-count", token=token("u1"), documented=False)
    assert response.status_code == 500
    assert response.json_body["Message"] == "setting INAPP_JWT_ISSUER is required with INAPP_JWKS_URL"
    assert lambdas.invoke("deliver", stream.batch()).payload == {"batchItemFailures": []}
    assert [frame["type"] for frame in standin.frames("c1=")] == ["message.created"]
