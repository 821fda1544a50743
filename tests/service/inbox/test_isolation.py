"""A user only ever sees and changes their own messages (docs/api.md, Authentication); and the same ``sub`` in
two tenants is two users (docs/api.md, Authentication: tenants).

Each test of the first part again across tenants in the second: alice of ``acme`` and alice of ``globex``
receive on a channel of the same name, and neither sees nor changes the other's.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api, SendFactory, TenantTokenFactory, TokenFactory, assert_counts_exact, assert_error


@pytest.fixture
def alice_message(api: Api, channel: str, send: SendFactory) -> str:
    for _ in range(3):
        send(["alice"], title="for alice")
    return str(send(["alice"], title="alice's latest")["id"])


def _alice_state(api: Api, token: TokenFactory) -> Any:
    alice = token("alice")
    return (
        api.call("GET", "/me/messages?limit=100", token=alice).json_body,
        api.call("GET", "/me/unread-count", token=alice).json_body,
        api.call("GET", "/me/channels", token=alice).json_body,
    )


def test_bob_cannot_read_or_change_alices_message(api: Api, token: TokenFactory, alice_message: str) -> None:
    before = _alice_state(api, token)
    bob = token("bob")
    get = api.call("GET", f"/me/messages/{alice_message}", token=bob)
    assert (get.status_code, get.json_body) == (
        404,
        {"Code": "NotFoundError", "Message": f"message_id: message '{alice_message}' not found"},
    )
    patch = api.call("PATCH", f"/me/messages/{alice_message}", token=bob, json_body={"status": "read"})
    assert patch.status_code == 404
    assert api.call("POST", "/me/messages/read", token=bob).json_body == {"updated": 0, "more": False}
    assert _alice_state(api, token) == before


@pytest.mark.parametrize("path", ["/me/messages?limit=1", "/me/channels?limit=1", "/me/messages?limit=1&status=unread"])
def test_alices_cursor_is_refused_for_bob(
    api: Api, token: TokenFactory, alice_message: str, path: str, send: SendFactory, admin_token: str
) -> None:
    api.call("POST", "/channels", token=admin_token, json_body={"name": "ops", "title": "Ops"})
    send(["alice", "bob"], channel="ops")
    send(["bob"], channel="news")
    cursor = api.call("GET", path, token=token("alice")).json_body["nextCursor"]
    assert cursor
    response = api.call("GET", f"{path}&cursor={cursor}", token=token("bob"))
    assert response.status_code == 400
    assert response.json_body["Message"] == "cursor: is not valid for this query"


def test_bob_sees_only_his_own_lists(api: Api, token: TokenFactory, alice_message: str, send: SendFactory) -> None:
    mine = send(["bob"], title="for bob")["id"]
    bob = token("bob")
    assert [m["id"] for m in api.call("GET", "/me/messages", token=bob).json_body["items"]] == [mine]
    assert api.call("GET", "/me/unread-count", token=bob).json_body == {"total": 1, "unseen": 1, "channels": {"news": 1}}
    assert [c["total"] for c in api.call("GET", "/me/channels", token=bob).json_body["items"]] == [1]
    after = api.call("GET", "/me/messages?after=00000000000000000000000000", token=bob).json_body["items"]
    assert [m["id"] for m in after] == [mine]


def test_user_id_in_the_body_or_query_is_ignored(api: Api, token: TokenFactory, alice_message: str) -> None:
    response = api.call("GET", "/me/messages?userId=alice&user=alice", token=token("bob"))
    assert response.json_body["items"] == []
    response = api.call("POST", "/me/messages/read", token=token("bob"), json_body={"userId": "alice"})
    assert_error(response, 400, "userId: is not a known field")
    assert _alice_state(api, token)[1]["total"] == 4


# Across tenants

A, B = "acme", "globex"


@pytest.fixture
def sent(api: Api, tenant_token: TenantTokenFactory) -> dict[str, list[str]]:
    """``news`` in both tenants; four messages to acme's alice, one to globex's alice: their ids, oldest first."""
    ids: dict[str, list[str]] = {A: [], B: []}
    for tenant, count in ((A, 4), (B, 1)):
        admin = tenant_token("admin-1", tenant, admin=True)
        assert api.call("POST", "/channels", token=admin, json_body={"name": "news", "title": "News"}).status_code == 201
        for i in range(count):
            body = {"channel": "news", "receivers": ["alice"], "title": f"{tenant} {i}"}
            ids[tenant].append(api.send_message(admin, body).json_body["id"])
    return ids


def _state(api: Api, token: str) -> Any:
    return (
        api.call("GET", "/me/messages?limit=100", token=token).json_body,
        api.call("GET", "/me/messages?limit=100&archived=true", token=token).json_body,
        api.call("GET", "/me/unread-count", token=token).json_body,
        api.call("GET", "/me/channels", token=token).json_body,
        api.call("GET", "/me/preferences", token=token).json_body,
    )


def test_each_tenants_alice_sees_only_her_own_messages(api: Api, tenant_token: TenantTokenFactory, sent: Any) -> None:
    for tenant, titles in ((A, ["acme 3", "acme 2", "acme 1", "acme 0"]), (B, ["globex 0"])):
        alice = tenant_token("alice", tenant)
        page = api.call("GET", "/me/messages", token=alice).json_body
        assert [(m["id"], m["title"], m["channel"]) for m in page["items"]] == [
            (i, t, "news") for i, t in zip(reversed(sent[tenant]), titles, strict=True)]  # fmt: skip
        total = len(titles)
        assert api.unread_count(alice) == {"total": total, "unseen": total, "channels": {"news": total}}
        (mine,) = api.call("GET", "/me/channels", token=alice).json_body["items"]
        assert (mine["name"], mine["unread"], mine["total"], mine["latest"]["id"]) == ("news", total, total, sent[tenant][-1])
        caught_up = api.call("GET", "/me/messages?after=00000000000000000000000000&limit=100", token=alice).json_body
        assert [m["id"] for m in caught_up["items"]] == sent[tenant]
    assert_counts_exact(f"{A}|alice", f"{B}|alice")


CHANGES = [
    ("GET", "{id}", None),
    ("PATCH", "{id}", {"status": "read"}),
    ("PATCH", "{id}", {"archived": True}),
    ("DELETE", "{id}", None),
]


@pytest.mark.parametrize(("method", "path", "body"), CHANGES)
def test_another_tenants_message_id_is_not_found_and_nothing_changes(
    api: Api, tenant_token: TenantTokenFactory, sent: Any, method: str, path: str, body: Any
) -> None:
    acme, globex = tenant_token("alice", A), tenant_token("alice", B)
    before = _state(api, acme), _state(api, globex)
    message_id = sent[A][0]
    response = api.call(method, "/me/messages/" + path.format(id=message_id), token=globex, json_body=body)
    assert_error(response, 404, f"message_id: message '{message_id}' not found")
    assert (_state(api, acme), _state(api, globex)) == before


@pytest.mark.parametrize(
    ("path", "body", "answer"),
    [
        ("/me/messages/read", {}, {"updated": 1, "more": False}),
        ("/me/messages/read", {"channel": "news"}, {"updated": 1, "more": False}),
        ("/me/messages/seen", {}, {"updated": 1, "more": False}),
        ("/me/messages/archive", {}, {"updated": 1, "more": False}),
    ],
)
def test_a_bulk_change_in_one_tenant_leaves_the_other_as_it_was(
    api: Api, tenant_token: TenantTokenFactory, sent: Any, path: str, body: Any, answer: Any
) -> None:
    acme = tenant_token("alice", A)
    before = _state(api, acme)
    assert api.call("POST", path, token=tenant_token("alice", B), json_body=body).json_body == answer
    assert _state(api, acme) == before
    assert_counts_exact(f"{A}|alice", f"{B}|alice")


def test_muting_a_channel_in_one_tenant_mutes_nothing_in_the_other(api: Api, tenant_token: TenantTokenFactory, sent: Any) -> None:
    acme, globex = tenant_token("alice", A), tenant_token("alice", B)
    muted = api.call("PUT", "/me/preferences/channels/news", token=globex, json_body={"muted": True}).json_body
    assert muted == {"name": "news", "muted": True}
    assert api.call("GET", "/me/preferences", token=globex).json_body == {"channels": {"news": {"muted": True}}}
    assert api.call("GET", "/me/preferences", token=acme).json_body == {"channels": {}}
    assert api.unread_count(acme) == {"total": 4, "unseen": 4, "channels": {"news": 4}}


@pytest.mark.parametrize(
    "path",
    ["/me/messages?limit=1", "/me/channels?limit=1", "/me/messages?limit=1&status=unread", "/me/messages?limit=1&channel=news"],
)
def test_a_cursor_of_one_tenants_alice_is_refused_for_the_others(
    api: Api, tenant_token: TenantTokenFactory, sent: Any, path: str
) -> None:
    for tenant in (A, B):
        admin = tenant_token("admin-1", tenant, admin=True)
        api.call("POST", "/channels", token=admin, json_body={"name": "ops", "title": "Ops"})
        for name in ("ops", "news"):
            api.send_message(admin, {"channel": name, "receivers": ["alice"], "title": "more"})
    for tenant in (A, B):
        alice = tenant_token("alice", tenant)
        cursor = api.call("GET", path, token=alice).json_body["nextCursor"]
        assert cursor
        other = tenant_token("alice", B if tenant == A else A)
        assert_error(api.call("GET", f"{path}&cursor={cursor}", token=other), 400, "cursor: is not valid for this query")


def test_the_same_idempotency_key_in_two_tenants_makes_two_sends(api: Api, tenant_token: TenantTokenFactory, sent: Any) -> None:
    body = {"channel": "news", "receivers": ["alice"], "title": "keyed"}
    answers = {t: api.send_message(tenant_token("admin-1", t, admin=True), body, key="k-1") for t in (A, B)}
    assert [r.status_code for r in answers.values()] == [202, 202] and answers[A].json_body != answers[B].json_body
    again = api.send_message(tenant_token("admin-1", A, admin=True), body, key="k-1")
    assert (again.status_code, again.json_body) == (202, answers[A].json_body)  # replayed in its own tenant only
    for tenant in (A, B):
        latest = api.call("GET", "/me/messages?limit=1", token=tenant_token("alice", tenant)).json_body["items"][0]
        assert (latest["id"], latest["title"]) == (answers[tenant].json_body["id"], "keyed")
