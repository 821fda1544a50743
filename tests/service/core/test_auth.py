"""Tokens, roles and refusals, for every protected route (docs/api.md, Authentication)."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib import service
from chalicelib.core.auth import issue_token
from tests.conftest import SECRET, Api, TokenFactory, assert_error

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
}


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES + USER_ROUTES)
def test_missing_token_is_401(api: Api, channel: str, method: str, path: str, body: Any) -> None:
    response = api.call(method, path, json_body=body)
    assert response.status_code == 401
    assert response.json_body == {"Code": "UnauthorizedError", "Message": "a bearer token is required"}


@pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES + USER_ROUTES)
def test_bad_tokens_are_401(api: Api, channel: str, kind: str, method: str, path: str, body: Any) -> None:
    response = api.call(method, path, token=BAD_TOKENS[kind](), json_body=body)
    assert response.status_code == 401
    assert response.json_body["Code"] == "UnauthorizedError"


def test_expired_token_says_so(api: Api) -> None:
    response = api.call("GET", "/me/unread-count", token=BAD_TOKENS["expired"]())
    assert response.json_body["Message"] == "the token has expired"


def test_non_bearer_scheme_is_401(api: Api) -> None:
    response = api.call("GET", "/me/unread-count", headers={"Authorization": f"Basic {issue_token('u', SECRET)}"})
    assert_error(response, 401, "a bearer token is required")


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
def test_non_admin_is_403_and_changes_nothing(
    api: Api, channel: str, token: TokenFactory, admin_token: str, method: str, path: str, body: Any
) -> None:
    response = api.call(method, path, token=token("u1"), json_body=body)
    assert response.status_code == 403
    assert response.json_body == {"Code": "ForbiddenError", "Message": "this operation needs the admin role"}
    assert api.call("GET", "/channels/news", token=admin_token).json_body["title"] == "News"
    assert api.call("GET", "/me/unread-count", token=token("u")).json_body == {"total": 0, "unseen": 0, "channels": {}}


def test_cognito_groups_claim_grants_admin(api: Api) -> None:
    claims = {"sub": "ops", "exp": int(time.time()) + 600, "cognito:groups": ["admin", "ops"]}
    response = api.call("GET", "/channels", token=jwt.encode(claims, SECRET, algorithm="HS256"))
    assert response.status_code == 200


def test_roles_claim_is_configurable(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INAPP_ROLES_CLAIM", "https://example.com/roles")
    service.reset()
    claims = {"sub": "ops", "exp": int(time.time()) + 600, "https://example.com/roles": "admin"}
    assert api.call("GET", "/channels", token=jwt.encode(claims, SECRET, algorithm="HS256")).status_code == 200
    default_claim = issue_token("ops", SECRET, admin=True)  # `roles` no longer counts
    assert_error(api.call("GET", "/channels", token=default_claim), 403, "this operation needs the admin role")


def test_health_needs_no_token(api: Api) -> None:
    response = api.call("GET", "/health")
    assert (response.status_code, response.json_body) == (200, {"status": "ok"})


# --- JWKS (Cognito / OIDC) -------------------------------------------------


class _JwksHandler(BaseHTTPRequestHandler):
    document: bytes = b"{}"
    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.document)

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def jwks_server(rsa_key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A JWKS endpoint on loopback, and the service pointed at it."""
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    _JwksHandler.document = json.dumps({"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()
    _JwksHandler.hits = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _JwksHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    monkeypatch.setenv("INAPP_JWKS_URL", url)
    monkeypatch.setenv("INAPP_JWT_ISSUER", "https://issuer.example")
    monkeypatch.setenv("INAPP_JWT_AUDIENCE", "inbox-client")
    monkeypatch.setenv("INAPP_CURSOR_SECRET", "cursor-secret-for-jwks-tests")
    service.reset()
    yield url
    server.shutdown()


def _rs256(key: rsa.RSAPrivateKey, **overrides: Any) -> str:
    claims = {
        "sub": "oidc-user",
        "exp": int(time.time()) + 600,
        "iss": "https://issuer.example",
        "aud": "inbox-client",
        "cognito:groups": ["admin"],
        **overrides,
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})


def test_jwks_token_is_accepted_and_keys_are_cached(api: Api, jwks_server: str, rsa_key: Any) -> None:
    for _ in range(3):
        assert api.call("GET", "/channels", token=_rs256(rsa_key)).status_code == 200
    assert _JwksHandler.hits == 1


@pytest.mark.parametrize(
    "overrides",
    [{"iss": "https://evil.example"}, {"aud": "someone-else"}, {"exp": int(time.time()) - 10}],
    ids=["issuer", "audience", "expired"],
)
def test_jwks_token_with_wrong_claims_is_401(api: Api, jwks_server: str, rsa_key: Any, overrides: Any) -> None:
    response = api.call("GET", "/channels", token=_rs256(rsa_key, **overrides))
    expected = "the token has expired" if "exp" in overrides else "the token is invalid"
    assert_error(response, 401, expected)


def test_jwks_mode_refuses_hs256_and_foreign_keys(api: Api, jwks_server: str) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert api.call("GET", "/channels", token=_rs256(other)).status_code == 401
    assert api.call("GET", "/channels", token=issue_token("u", SECRET, admin=True)).status_code == 401
