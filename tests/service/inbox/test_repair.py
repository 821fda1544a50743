"""Repairs: a user's counters recounted from their items, and a user's data erased."""

from __future__ import annotations

import pytest
from pynamodb.expressions.operand import Path

from chalicelib.inbox.repair import forget_user, recount_user
from chalicelib.storage import dynamo as storage
from chalicelib.storage.inbox_tables import InboxMessage, UserCounts
from chalicelib.storage.tables import Connection
from tests.conftest import Api, ConnectFactory, SendFactory, TokenFactory


def _state(api: Api, token: TokenFactory, user: str) -> tuple[object, object]:
    return (
        api.call("GET", "/me/unread-count", token=token(user)).json_body,
        api.call("GET", "/me/channels", token=token(user)).json_body["items"],
    )


def test_recount_repairs_any_drift_and_reports_it(
    api: Api, admin_token: str, channel: str, send: SendFactory, token: TokenFactory
) -> None:
    first, _, last = send(["alice"]), send(["alice"]), send(["alice"], title="Newest")
    api.call("PATCH", f"/me/messages/{first['id']}", token=token("alice"), json_body={"status": "read"})
    truth = _state(api, token, "alice")  # the stream has caught up: run a recount only then
    storage.update_item(UserCounts, "alice", [Path("u:news").add(-5), Path("t:news").add(-3)])
    assert _state(api, token, "alice") != truth  # drifted: the channel even vanished from /me/channels

    changes = recount_user("alice")

    before, after = {"unread": -3, "total": 0, "unseen": 2}, {"unread": 2, "total": 3, "unseen": 2}
    assert changes == {"news": {"before": before, "after": after}}
    assert _state(api, token, "alice") == truth
    assert truth[1][0]["latest"]["id"] == last["id"]
    assert recount_user("alice") == {}  # nothing left to correct
    send(["alice"])
    assert _state(api, token, "alice")[0]["total"] == 3  # the stream goes on from the recount


def test_recount_zeroes_a_counter_whose_messages_are_all_gone(
    api: Api, channel: str, send: SendFactory, token: TokenFactory
) -> None:
    sent = send(["alice"])
    _state(api, token, "alice")
    storage.update_item(UserCounts, "alice", [Path("t:news").add(5)])  # a count left behind by a bug
    InboxMessage.get("alice", sent["id"]).delete()
    _state(api, token, "alice")
    assert recount_user("alice")["news"]["after"] == {"unread": 0, "total": 0, "unseen": 0}
    assert _state(api, token, "alice") == ({"total": 0, "unseen": 0, "channels": {}}, [])


def test_forget_user_erases_their_messages_counters_and_connections_only(
    api: Api, channel: str, send: SendFactory, token: TokenFactory, connect: ConnectFactory
) -> None:
    for number in range(30):  # more than one BatchWriteItem of 25
        send(["alice", "bob"], title=f"m{number}")
    connect("alice", "a1=", "a2=")
    connect("bob", "b1=")
    _state(api, token, "alice")

    api.call("PUT", "/me/preferences/channels/news", token=token("alice"), json_body={"muted": True})

    assert forget_user("alice") == {"messages": 31, "connections": 3}  # the messages and the preferences

    assert list(InboxMessage.query("alice")) == []
    assert api.call("GET", "/me/unread-count", token=token("alice")).json_body == {"total": 0, "unseen": 0, "channels": {}}
    left = storage.read_item(UserCounts, "alice", consistent=True) or {}
    assert set(left) == {"userId", "g:stream", "gt:stream", "v"}  # no channel, no mute; the stream keeps its guard
    assert {c.pk for c in Connection.scan()} == {"user#bob", "conn#b1="}
    assert len(list(InboxMessage.query("bob"))) == 30
    assert api.call("GET", "/me/unread-count", token=token("bob")).json_body == {
        "total": 30,
        "unseen": 30,
        "channels": {"news": 30},
    }


def test_forget_user_leaves_no_broadcast_they_held_to_show(
    api: Api, admin_token: str, channel: str, token: TokenFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib import service

    monkeypatch.setenv("INAPP_BROADCAST_THRESHOLD", "0")
    service.reset()
    api.call("POST", "/channels/news/subscribers", token=admin_token, json_body={"add": ["alice", "bob"]})
    body = {"channel": "news", "audience": "subscribers", "title": "All"}
    sent = [api.call("POST", "/messages", token=admin_token, json_body=body).json_body["id"] for _ in range(2)]
    api.change_message(token("alice"), sent[0], {"status": "read"})  # one copied, one held as a broadcast
    assert forget_user("alice") == {"messages": 2, "connections": 0}
    assert (api.message_ids(token("alice")), api.unread_count(token("alice"))["total"]) == ([], 0)
    assert api.message_ids(token("bob")) == sent[::-1]
