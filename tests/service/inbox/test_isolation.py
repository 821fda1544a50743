"""A user only ever sees and changes their own messages (docs/api.md, Authentication)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api, SendFactory, TokenFactory, assert_error


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
