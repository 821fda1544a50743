"""Every 4xx message starts with the field it is about (docs/api.md, "Errors"): a sweep of each kind of bad input.

Found by reading the answers: the 401s, the 403 and the 404s named no field at all ("the token is invalid",
"channel 'x' not found"), and a batch's conflicting Idempotency-Key named two.
"""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.core.auth import issue_token
from tests.conftest import SECRET, Api, LambdaClient
from tests.events import ws_event
from tests.standin import ManagementStandIn

UNKNOWN_ID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
ADMIN = issue_token("admin-1", SECRET, admin=True)
USER = issue_token("u1", SECRET)
EXPIRED = issue_token("u1", SECRET, lifetime_seconds=-60)
SEND = {"channel": "news", "receivers": ["u1"], "title": "Hi"}

# (method, path, token, body, extra headers) → (status, the field the message starts with)
CASES: list[tuple[str, str, str | None, Any, dict[str, str], int, str]] = [
    ("GET", "/me/unread-count", None, None, {}, 401, "Authorization"),
    ("GET", "/me/unread-count", "not-a-jwt", None, {}, 401, "Authorization"),
    ("GET", "/me/unread-count", EXPIRED, None, {}, 401, "Authorization"),
    ("GET", "/channels", USER, None, {}, 403, "Authorization"),
    ("GET", "/channels/nope", ADMIN, None, {}, 404, "name"),
    ("PATCH", "/channels/nope", ADMIN, {"title": "T"}, {}, 404, "name"),
    ("DELETE", "/channels/nope", ADMIN, None, {}, 404, "name"),
    ("GET", "/channels/nope/subscribers", ADMIN, None, {}, 404, "name"),
    ("POST", "/channels/nope/subscribers", ADMIN, {"add": ["a"]}, {}, 404, "name"),
    ("POST", "/channels", ADMIN, {"name": "news", "title": "Again"}, {}, 409, "name"),
    ("POST", "/channels", ADMIN, {"name": "Bad Name", "title": "T"}, {}, 400, "name"),
    ("POST", "/channels", ADMIN, "{not json", {}, 400, "body"),
    ("POST", "/messages", ADMIN, {**SEND, "channel": "nope"}, {}, 404, "channel"),
    ("POST", "/messages", ADMIN, {**SEND, "colour": "red"}, {}, 400, "colour"),
    ("POST", "/messages", ADMIN, {**SEND, "title": "another body"}, {"Idempotency-Key": "k"}, 409, "Idempotency-Key"),
    ("POST", "/messages/preview", ADMIN, {**SEND, "channel": "nope"}, {}, 404, "channel"),
    ("GET", f"/messages/{UNKNOWN_ID}", ADMIN, None, {}, 404, "send_id"),
    ("GET", f"/me/messages/{UNKNOWN_ID}", USER, None, {}, 404, "message_id"),
    ("PATCH", f"/me/messages/{UNKNOWN_ID}", USER, {"status": "read"}, {}, 404, "message_id"),
    ("DELETE", f"/me/messages/{UNKNOWN_ID}", USER, None, {}, 404, "message_id"),
    ("PATCH", f"/me/messages/{UNKNOWN_ID}", USER, {"status": "gone"}, {}, 400, "status"),
    ("GET", "/me/messages?limit=0", USER, None, {}, 400, "limit"),
    ("GET", "/me/channels?cursor=abc.def", USER, None, {}, 400, "cursor"),
    ("PUT", "/me/preferences/channels/news", USER, {"muted": "yes"}, {}, 400, "muted"),
    ("GET", "/static/app.py", None, None, {}, 404, "name"),
    ("PUT", "/channels", ADMIN, None, {}, 405, "method"),
    ("POST", "/channels", ADMIN, {"name": "x", "title": "X"}, {"Content-Type": "text/plain"}, 415, "Content-Type"),
]


@pytest.mark.parametrize(
    ("method", "path", "bearer", "body", "headers", "status", "field"),
    CASES,
    ids=[f"{c[5]} {c[0]} {c[1]} {c[6]}" for c in CASES],
)
def test_each_4xx_message_starts_with_its_field(
    api: Api,
    channel: str,
    method: str,
    path: str,
    bearer: str | None,
    body: Any,
    headers: dict[str, str],
    status: int,
    field: str,
) -> None:
    if "Idempotency-Key" in headers:
        assert api.send_message(ADMIN, SEND, key=headers["Idempotency-Key"]).status_code == 202
    raw = body if isinstance(body, str) else None
    documented = status not in (405, 415)  # Chalice's own answers, before any route: not in openapi.yaml
    response = api.call(
        method, path, token=bearer, json_body=None if raw else body, raw=raw, headers=headers, documented=documented
    )
    assert response.status_code == status, response.json_body
    assert response.json_body["Message"].startswith(f"{field}: "), response.json_body


def test_the_websocket_handshake_names_the_token_parameter(lambdas: LambdaClient, standin: ManagementStandIn) -> None:
    refused = lambdas.invoke("ws_connect", ws_event("$connect", "c1=", token="not-a-jwt")).payload
    assert (refused["statusCode"], refused["body"]) == (401, "token: the token is invalid")
