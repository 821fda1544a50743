"""Tenants on the admin routes and the ``send`` Lambda (docs/api.md, Authentication: tenants).

Two tenants on one deployment, the same admin ``sub`` and the same channel name in both:
each sees and changes only its own, and every answer shows the plain names.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from chalicelib.core.auth import issue_token
from chalicelib.core.errors import ValidationError
from chalicelib.storage.audience_tables import LOG_KEYS, SendLog, Subscription
from chalicelib.storage.inbox_tables import InboxMessage
from chalicelib.storage.tables import Channel, IdempotencyRecord
from tests.conftest import SECRET, Api, CallCounter, LambdaClient, TenantTokenFactory, TokenFactory, Worker, assert_error

A, B = "acme", "globex"
CURSOR_REFUSED = "cursor: is not valid for this query"


@pytest.fixture
def admins(tenant_token: TenantTokenFactory) -> dict[str, str]:
    """The same admin ``sub`` in both tenants."""
    return {tenant: tenant_token("admin-1", tenant, admin=True) for tenant in (A, B)}


@pytest.fixture
def news(api: Api, admins: dict[str, str]) -> dict[str, Any]:
    """A channel ``news`` in each tenant, each with its own title."""
    made = {}
    for tenant in (A, B):
        response = api.call("POST", "/channels", token=admins[tenant], json_body={"name": "news", "title": f"{tenant} news"})
        assert response.status_code == 201
        made[tenant] = response.json_body
    return made


def _get(api: Api, token: str, path: str) -> Any:
    response = api.call("GET", path, token=token)
    assert response.status_code == 200, response.json_body
    return response.json_body


def test_the_same_channel_name_in_two_tenants_is_two_channels(api: Api, admins: dict[str, str], news: dict[str, Any]) -> None:
    assert [news[A]["name"], news[B]["name"], news[A]["title"], news[B]["title"]] == ["news", "news", "acme news", "globex news"]
    for tenant in (A, B):
        assert _get(api, admins[tenant], "/channels") == {"items": [news[tenant]], "nextCursor": None}
        assert _get(api, admins[tenant], "/channels/news") == news[tenant]
    changed = api.call("PATCH", "/channels/news", token=admins[A], json_body={"title": "Renamed"}).json_body
    assert changed["title"] == "Renamed" and _get(api, admins[B], "/channels/news") == news[B]
    again = api.call("POST", "/channels", token=admins[A], json_body={"name": "news", "title": "x"})
    assert_error(again, 409, "name: channel 'news' already exists")
    assert api.call("DELETE", "/channels/news", token=admins[A]).status_code == 204
    assert _get(api, admins[B], "/channels") == {"items": [news[B]], "nextCursor": None}
    assert _get(api, admins[A], "/channels") == {"items": [], "nextCursor": None}


OTHER_TENANTS_CHANNEL = [
    ("GET", "/channels/ops", None, "name: channel 'ops' not found"),
    ("PATCH", "/channels/ops", {"title": "Taken"}, "name: channel 'ops' not found"),
    ("DELETE", "/channels/ops", None, "name: channel 'ops' not found"),
    ("POST", "/channels/ops/subscribers", {"add": ["alice"]}, "name: channel 'ops' not found"),
    ("GET", "/channels/ops/subscribers", None, "name: channel 'ops' not found"),
    ("POST", "/messages", {"channel": "ops", "receivers": ["alice"], "title": "t"}, "channel: channel 'ops' not found"),
    ("POST", "/messages/preview", {"channel": "ops", "receivers": ["alice"], "title": "t"}, "channel: channel 'ops' not found"),
    ("GET", "/messages?channel=ops", None, None),
]


@pytest.mark.parametrize(("method", "path", "body", "message"), OTHER_TENANTS_CHANNEL)
def test_another_tenants_channel_is_not_found_and_stays_as_it_was(
    api: Api, admins: dict[str, str], method: str, path: str, body: Any, message: str | None
) -> None:
    ops = api.call("POST", "/channels", token=admins[A], json_body={"name": "ops", "title": "Ops"}).json_body
    assert api.call("POST", "/channels/ops/subscribers", token=admins[A], json_body={"add": ["bob"]}).status_code == 200
    response = api.call(method, path, token=admins[B], json_body=body)
    if message is None:
        assert (response.status_code, response.json_body) == (200, {"items": [], "nextCursor": None})
    else:
        assert_error(response, 404, message)
    assert _get(api, admins[A], "/channels/ops") == ops
    assert [s["userId"] for s in _get(api, admins[A], "/channels/ops/subscribers")["items"]] == ["bob"]
    assert list(InboxMessage.scan()) == []


def test_subscribers_of_the_same_channel_name_are_each_tenants_own(
    api: Api, admins: dict[str, str], news: dict[str, Any]
) -> None:
    def change(tenant: str, body: dict[str, Any]) -> Any:
        return api.call("POST", "/channels/news/subscribers", token=admins[tenant], json_body=body).json_body

    assert change(A, {"add": ["alice", "bob"]}) == {"added": 2, "removed": 0}
    assert change(B, {"add": ["alice"]}) == {"added": 1, "removed": 0}  # not "already there": another tenant's alice
    assert change(B, {"remove": ["alice", "bob"]}) == {"added": 0, "removed": 1}
    assert [s["userId"] for s in _get(api, admins[A], "/channels/news/subscribers")["items"]] == ["alice", "bob"]
    assert _get(api, admins[B], "/channels/news/subscribers") == {"items": [], "nextCursor": None}


def test_deleting_a_channel_clears_its_tenants_subscriptions_only(
    api: Api, admins: dict[str, str], news: dict[str, Any], worker: Worker
) -> None:
    for tenant in (A, B):
        body = {"add": ["alice", "a|b"]}  # a sub may hold the separator: it is still one user of this tenant
        assert api.call("POST", "/channels/news/subscribers", token=admins[tenant], json_body=body).status_code == 200
    assert api.call("DELETE", "/channels/news", token=admins[A]).status_code == 204
    worker.drain()
    assert sorted((s.channel, s.user_id) for s in Subscription.scan()) == [
        ("globex|news", "globex|alice"),
        ("globex|news", "globex|a|b"),
    ]
    assert [s["userId"] for s in _get(api, admins[B], "/channels/news/subscribers")["items"]] == ["alice", "a|b"]
    assert_error(api.call("GET", "/channels/news/subscribers", token=admins[A]), 404, "name: channel 'news' not found")


@pytest.mark.parametrize("name", ["acme|news", "globex|news", "|news", "news|"])
def test_a_name_holding_the_separator_reaches_no_channel(
    api: Api, admins: dict[str, str], news: dict[str, Any], name: str
) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        response = api.call(method, f"/channels/{name}", token=admins[A], json_body={"title": "x"} if method == "PATCH" else None)
        assert_error(response, 404, f"name: channel '{name}' not found")
    assert [_get(api, admins[t], "/channels/news") for t in (A, B)] == [news[A], news[B]]


def test_a_send_and_its_log_are_its_tenants_only(api: Api, admins: dict[str, str], news: dict[str, Any]) -> None:
    sent = api.send_message(admins[A], {"channel": "news", "receivers": ["alice"], "title": "Hi"}).json_body
    assert set(sent) == {"id", "channel", "receivers"} and (sent["channel"], sent["receivers"]) == ("news", 1)
    entry = _get(api, admins[A], f"/messages/{sent['id']}")
    assert {k: entry[k] for k in ("id", "channel", "title", "sender", "receivers", "status")} == {
        "id": sent["id"], "channel": "news", "title": "Hi", "sender": "admin-1", "receivers": 1, "status": "done"}  # fmt: skip
    assert _get(api, admins[A], "/messages") == {"items": [entry], "nextCursor": None}
    assert _get(api, admins[A], "/messages?channel=news") == {"items": [entry], "nextCursor": None}
    for path in ("/messages", "/messages?channel=news"):
        assert _get(api, admins[B], path) == {"items": [], "nextCursor": None}
    assert_error(api.call("GET", f"/messages/{sent['id']}", token=admins[B]), 404, f"send_id: send '{sent['id']}' not found")


def test_an_audience_send_reaches_its_tenants_subscribers_only(
    api: Api, admins: dict[str, str], news: dict[str, Any], worker: Worker, tenant_token: TenantTokenFactory
) -> None:
    api.call("POST", "/channels/news/subscribers", token=admins[A], json_body={"add": ["alice"]})
    api.call("POST", "/channels/news/subscribers", token=admins[B], json_body={"add": ["carol"]})
    sent = api.send_message(admins[A], {"channel": "news", "audience": "subscribers", "title": "All"}).json_body
    assert (sent["channel"], sent["status"]) == ("news", "queued")
    worker.drain()
    assert [m["title"] for m in _get(api, tenant_token("alice", A), "/me/messages")["items"]] == ["All"]
    for user, tenant in (("alice", B), ("carol", B), ("carol", A)):
        assert _get(api, tenant_token(user, tenant), "/me/messages")["items"] == []
    entry = _get(api, admins[A], f"/messages/{sent['id']}")
    assert (entry["status"], entry["recipients"], entry["stored"], entry["audience"]) == ("done", 1, 1, "subscribers")
    assert _get(api, admins[B], "/messages") == {"items": [], "nextCursor": None}


@pytest.mark.parametrize("path", ["/channels?limit=1", "/messages?limit=1", "/channels/news/subscribers?limit=1"])
def test_a_cursor_of_one_tenant_is_refused_in_the_other(
    api: Api, admins: dict[str, str], news: dict[str, Any], path: str
) -> None:
    for tenant in (A, B):
        api.call("POST", "/channels", token=admins[tenant], json_body={"name": "ops", "title": "Ops"})
        api.call("POST", "/channels/news/subscribers", token=admins[tenant], json_body={"add": ["a", "b"]})
        for _ in range(2):
            api.send_message(admins[tenant], {"channel": "news", "receivers": ["a"], "title": "t"})
    cursor = _get(api, admins[A], path)["nextCursor"]
    assert cursor
    assert_error(api.call("GET", f"{path}&cursor={cursor}", token=admins[B]), 400, CURSOR_REFUSED)


# --- the send Lambda ------------------------------------------------------------------


def test_the_send_lambda_sends_into_the_events_tenant(
    api: Api, admins: dict[str, str], news: dict[str, Any], lambdas: LambdaClient, tenant_token: TenantTokenFactory
) -> None:
    one = lambdas.invoke("send", {"tenant": A, "channel": "news", "receivers": ["alice"], "title": "one"}).payload
    batch = {"tenant": B, "messages": [{"channel": "news", "receivers": ["alice"], "title": "two"}]}
    (two,) = lambdas.invoke("send", batch).payload
    assert (one["channel"], two["channel"]) == ("news", "news")
    for tenant, sent, title in ((A, one, "one"), (B, two, "two")):
        (message,) = _get(api, tenant_token("alice", tenant), "/me/messages")["items"]
        assert (message["id"], message["channel"], message["title"], message["channelTitle"]) == (
            sent["id"], "news", title, f"{tenant} news")  # fmt: skip
        assert [e["id"] for e in _get(api, admins[tenant], "/messages")["items"]] == [sent["id"]]


def test_the_send_lambdas_idempotency_keys_are_per_tenant(api: Api, news: dict[str, Any], lambdas: LambdaClient) -> None:
    event = {"channel": "news", "receivers": ["alice"], "title": "once", "idempotencyKey": "evt-1"}
    first = lambdas.invoke("send", {**event, "tenant": A}).payload
    other = lambdas.invoke("send", {**event, "tenant": B}).payload
    assert first != other and lambdas.invoke("send", {**event, "tenant": A}).payload == first
    assert [len(list(InboxMessage.query(f"{t}|alice"))) for t in (A, B)] == [1, 1]


SEND = {"channel": "news", "receivers": ["a"], "title": "t"}
REQUIRED = "tenant: is required: tenants are on (INAPP_TENANT_CLAIM is set)"
MALFORMED = "tenant: must match ^[a-z0-9][a-z0-9_-]{0,63}$"


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (SEND, REQUIRED),
        ({"messages": [SEND]}, REQUIRED),
        ({"detail-type": "x", "detail": SEND}, REQUIRED),
        *(({"tenant": bad, **SEND}, MALFORMED) for bad in ("Acme", "acme|x", "", ["acme"], None, 7, "a" * 65, "-a")),
        ({"tenant": A, "messages": [{"tenant": B, **SEND}]}, "messages[0].tenant: is not a known field"),
        ({"tenant": "\ud800", **SEND}, "tenant: must be valid Unicode (no lone surrogates)"),
    ],
)
def test_a_missing_or_malformed_tenant_is_refused_naming_it_and_writes_nothing(
    api: Api, news: dict[str, Any], event: dict[str, Any], message: str
) -> None:
    from app import send

    with pytest.raises(ValidationError, match=re.escape(message)) as caught:
        send(event, None)
    assert str(caught.value) == message
    assert list(InboxMessage.scan()) == [] and list(SendLog.scan()) == []


def test_with_tenants_off_the_send_lambda_refuses_a_tenant(api: Api, channel: str) -> None:
    from app import send

    message = "tenant: is not accepted: tenants are off (INAPP_TENANT_CLAIM is not set)"
    with pytest.raises(ValidationError, match=re.escape(message)):
        send({"tenant": A, "channel": "news", "receivers": ["a"], "title": "t"}, None)
    assert list(InboxMessage.scan()) == [] and [c.name for c in Channel.scan()] == ["news"]


# --- tokens without a tenant, and a deployment without tenants ----------------------------------


def _routes() -> list[tuple[str, str]]:
    """Every route that checks a token, its path parameters filled in."""
    from app import app

    open_paths = {"/health", "/", "/admin", "/static/{name}", "/openapi.json", "/inapp-inbox.js"}
    filled = {"{name}": "news", "{message_id}": "01M80000000000000000000000", "{send_id}": "01M80000000000000000000000"}
    routes = []
    for path, methods in app.routes.items():
        for method in methods:
            if path not in open_paths and method != "OPTIONS":
                for param, value in filled.items():
                    path = path.replace(param, value)
                routes.append((method, path))
    return sorted(routes)


@pytest.mark.parametrize(
    ("claim", "message"),
    [
        (None, "Authorization: the token's tenant claim (the tenant) is required"),
        *((bad, f"Authorization: the token's tenant claim (the tenant) {MALFORMED.removeprefix('tenant: ')}")
          for bad in ("Acme", "a|b", "", "é", "a" * 65, 7, ["acme"], {"id": "acme"}, True)),
    ],
)  # fmt: skip
def test_every_route_refuses_a_token_without_a_valid_tenant_claim_with_401_naming_it(
    api: Api, tenant_token: TenantTokenFactory, news: dict[str, Any], claim: Any, message: str
) -> None:
    import jwt

    token = jwt.decode(tenant_token("admin-1", A, admin=True), options={"verify_signature": False})
    token.pop("tenant")
    if claim is not None:
        token["tenant"] = claim
    signed = jwt.encode(token, SECRET, algorithm="HS256")
    for method, path in _routes():
        assert_error(api.call(method, path, token=signed, json_body={}), 401, message)
    assert [c.name for c in Channel.scan()] == ["acme|news", "globex|news"] and list(SendLog.scan()) == []


def test_with_tenants_off_every_stored_key_is_the_plain_name(
    api: Api, token: TokenFactory, lambdas: LambdaClient, worker: Worker
) -> None:
    """No tenant anywhere, even for a ``sub`` holding ``|`` and a token carrying a tenant claim (ignored)."""
    admin = issue_token("admin-1", SECRET, admin=True, tenant=A)
    api.call("POST", "/channels", token=admin, json_body={"name": "news", "title": "News"})
    api.call("POST", "/channels/news/subscribers", token=admin, json_body={"add": ["a|b"]})
    sent = api.send_message(admin, {"channel": "news", "receivers": ["a|b"], "title": "t"}, key="k").json_body
    lambdas.invoke("send", {"channel": "news", "audience": "subscribers", "title": "all"})
    worker.drain()
    assert [c.name for c in Channel.scan()] == ["news"]
    assert [(s.channel, s.user_id) for s in Subscription.scan()] == [("news", "a|b")]
    assert {(m.user_id, m.channel, m.user_channel) for m in InboxMessage.scan()} == {("a|b", "news", "a|b#news")}
    assert {(e.log, e.channel, e.sender) for e in SendLog.scan()} <= {
        (k, "news", s) for k in LOG_KEYS for s in ("admin-1", "lambda")
    }
    assert sorted(json.loads(r.key)[0] for r in IdempotencyRecord.scan()) == ["lambda:send", "user:admin-1"]
    assert api.call("GET", "/channels/news/subscribers", token=admin).json_body["items"][0]["userId"] == "a|b"
    assert api.call("GET", f"/messages/{sent['id']}", token=admin).json_body["sender"] == "admin-1"
    assert len(api.call("GET", "/me/messages", token=token("a|b")).json_body["items"]) == 2


COSTED = [
    ("POST", "/channels", {"name": "ops", "title": "Ops"}),
    ("GET", "/channels", None),
    ("GET", "/channels/news", None),
    ("PATCH", "/channels/news", {"title": "N"}),
    ("POST", "/channels/news/subscribers", {"add": ["alice", "bob"]}),
    ("GET", "/channels/news/subscribers", None),
    ("POST", "/messages", {"channel": "news", "receivers": ["alice", "bob"], "title": "t"}),
    ("GET", "/messages", None),
    ("GET", "/messages?channel=news", None),
    ("GET", "/me/messages", None),
    ("GET", "/me/unread-count", None),
    ("GET", "/me/channels", None),
    ("PUT", "/me/preferences/channels/news", {"muted": True}),
    ("POST", "/me/messages/read", {}),
]


def _costs(api: Api, tokens: dict[str, str], calls: CallCounter) -> list[dict[str, int]]:
    api.call("POST", "/channels", token=tokens["admin"], json_body={"name": "news", "title": "News"})
    api.settle_counts = False  # the stream's own calls are not the route's
    observed = []
    for method, path, body in COSTED:
        api.counts.catch_up()
        calls.reset()
        response = api.call(
            method, path, token=tokens["admin" if path.startswith(("/channels", "/messages")) else "alice"], json_body=body
        )
        assert response.status_code < 300, (path, response.json_body)
        observed.append(dict(calls.calls))
    return observed


def test_tenants_on_or_off_every_route_makes_the_very_same_dynamodb_calls(
    api: Api, request: pytest.FixtureRequest, token: TokenFactory
) -> None:
    """Off is the single-tenant deployment as it was (tests/service/storage/test_costs.py pins its budgets); on adds
    no call either: the tenant lives in the keys. Both runs in one table set, the second in another tenant."""
    off = _costs(api, {"admin": token("admin-1", admin=True), "alice": token("alice")}, request.getfixturevalue("dynamodb_calls"))
    tenant_token: TenantTokenFactory = request.getfixturevalue("tenant_token")
    calls = request.getfixturevalue("dynamodb_calls")
    on = _costs(api, {"admin": tenant_token("admin-1", A, admin=True), "alice": tenant_token("alice", A)}, calls)
    assert on == off
    assert off[COSTED.index(("GET", "/me/unread-count", None))] == {"BatchGetItem": 1, "Query": 1}  # as test_costs pins it


def test_a_sub_of_the_longest_length_is_still_a_user_of_its_tenant(
    api: Api, admins: dict[str, str], news: dict[str, Any], tenant_token: TenantTokenFactory
) -> None:
    """The tenant adds to the stored id, never to what a caller may send: 128 characters stay the limit of a ``sub``."""
    longest = "u" * 128
    assert api.send_message(admins[A], {"channel": "news", "receivers": [longest], "title": "t"}).status_code == 202
    assert [m["title"] for m in _get(api, tenant_token(longest, A), "/me/messages")["items"]] == ["t"]
    too_long = api.send_message(admins[A], {"channel": "news", "receivers": [longest + "u"], "title": "t"})
    assert_error(too_long, 400, "receivers[0]: must be a user id of 1 to 128 characters, not beginning with ~")
