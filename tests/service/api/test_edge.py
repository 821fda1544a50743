"""CORS for other web apps embedding the inbox client (INAPP_CORS_ORIGINS)."""

from __future__ import annotations

import pytest

from chalicelib.api.edge import allowed_methods, allowed_origin
from tests.conftest import Api, TokenFactory

ALLOWED = "http://localhost:3000"  # the dev stage's INAPP_CORS_ORIGINS


@pytest.mark.parametrize("path", ["/messages", "/me/messages", "/me/messages/01M87B7Z864SRYNJTHXHH51G00", "/channels/news"])
def test_preflight_allows_configured_origin_and_headers(api: Api, path: str) -> None:
    response = api.call("OPTIONS", path, headers={"Origin": ALLOWED, "Access-Control-Request-Method": "POST"})
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    allowed_headers = {h.lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "idempotency-key", "content-type"} <= allowed_headers
    assert "PATCH" in response.headers["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_preflight_allows_put_so_a_page_of_another_origin_can_mute_a_channel(api: Api, token: TokenFactory) -> None:
    path = "/me/preferences/channels/news"
    preflight = api.call("OPTIONS", path, headers={"Origin": ALLOWED, "Access-Control-Request-Method": "PUT"})
    assert preflight.status_code == 204
    assert "PUT" in preflight.headers["Access-Control-Allow-Methods"].split(",")
    muted = api.call("PUT", path, token=token("u1"), json_body={"muted": True}, headers={"Origin": ALLOWED})
    assert muted.status_code == 200 and muted.headers["Access-Control-Allow-Origin"] == ALLOWED


def test_preflight_allows_every_method_a_route_has() -> None:
    """Derived from the routes, so a route with a new method can never be left out of the preflight."""
    from app import app

    used = {method for entry in app.routes.values() for method in entry}
    assert used == {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
    assert allowed_methods(app.routes) == "DELETE,GET,OPTIONS,PATCH,POST,PUT"


def test_other_origins_get_no_cors_headers(api: Api, token: TokenFactory) -> None:
    preflight = api.call("OPTIONS", "/me/messages", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in preflight.headers
    response = api.call("GET", "/me/unread-count", token=token("u1"), headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_actual_responses_carry_the_origin(api: Api, token: TokenFactory) -> None:
    response = api.call("GET", "/me/unread-count", token=token("u1"), headers={"Origin": ALLOWED})
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert response.headers["Vary"] == "Origin"
    denied = api.call("GET", "/me/unread-count", headers={"Origin": ALLOWED})
    assert denied.status_code == 401 and denied.headers["Access-Control-Allow-Origin"] == ALLOWED


@pytest.mark.parametrize(
    ("origin", "allowed", "expected"),
    [
        ("https://a.example", ("*",), "*"),
        (None, ("*",), "*"),
        ("https://a.example", ("https://a.example", "https://b.example"), "https://a.example"),
        ("https://b.example", ("https://a.example", "https://b.example"), "https://b.example"),
        ("https://c.example", ("https://a.example",), None),
        ("https://a.example", (), None),
    ],
)
def test_allowed_origin(origin: str | None, allowed: tuple[str, ...], expected: str | None) -> None:
    assert allowed_origin(origin, allowed) == expected
