"""Inbox states beyond read/unread: seen, archive, delete, severity, mutes — over HTTP and on the socket."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import (
    Api,
    ConnectFactory,
    LambdaClient,
    SendFactory,
    TokenFactory,
    assert_counts_exact,
    assert_error,
    deliver_and_replay,
)
from tests.events import StreamTap
from tests.faults import dynamodb_faults
from tests.standin import ManagementStandIn

# --- archive -----------------------------------------------------------------------------


def test_archiving_moves_a_message_out_of_every_list_into_the_archive_and_marks_it_read(
    api: Api, channel: str, send: SendFactory, token: TokenFactory
) -> None:
    alice = token("alice")
    kept, archived = send(["alice"])["id"], send(["alice"])["id"]
    moved = api.change_message(alice, archived, {"archived": True})
    assert (moved["id"], moved["archived"], moved["status"]) == (archived, True, "read")
    assert moved["archivedAt"] and moved["readAt"] and moved["seen"]
    for query in ("", "?status=unread", "?channel=news", "?channel=news&status=unread", f"?after={kept}"):
        assert archived not in api.message_ids(alice, query), query
    assert api.message_ids(alice, "?archived=true") == api.message_ids(alice, "?archived=true&channel=news") == [archived]
    assert api.call("GET", f"/me/messages/{archived}", token=alice).json_body == moved
    assert api.unread_count(alice) == {"total": 1, "unseen": 1, "channels": {"news": 1}}
    (news,) = api.call("GET", "/me/channels", token=alice).json_body["items"]
    assert (news["total"], news["latest"]["id"]) == (1, kept)
    assert api.change_message(alice, archived, {"archived": True}) == moved  # again: nothing changes
    assert_counts_exact("alice")


def test_restoring_brings_it_back_as_it_was_not_as_a_new_message(
    api: Api, channel: str, send: SendFactory, token: TokenFactory
) -> None:
    alice = token("alice")
    sent = send(["alice"])["id"]
    original = api.call("GET", f"/me/messages/{sent}", token=alice).json_body
    api.change_message(alice, sent, {"archived": True})
    api.change_message(alice, sent, {"status": "unread"})  # an archived message can be marked unread again
    restored = api.change_message(alice, sent, {"archived": False})
    assert (restored["archived"], restored["archivedAt"], restored["status"]) == (False, None, "unread")
    assert (restored["createdAt"], restored["title"]) == (original["createdAt"], original["title"])
    assert api.message_ids(alice) == [sent] and api.message_ids(alice, "?archived=true") == []
    assert api.unread_count(alice) == {"total": 1, "unseen": 0, "channels": {"news": 1}}  # it was seen once: it stays seen
    assert_counts_exact("alice")


def test_archive_all_takes_every_or_only_the_read_messages_of_one_channel_or_all(
    api: Api, ops: str, send: SendFactory, token: TokenFactory
) -> None:
    alice = token("alice")
    news = [send(["alice"])["id"] for _ in range(3)]
    ops_ids = [send(["alice"], channel="ops")["id"] for _ in range(2)]
    api.change_message(alice, news[0], {"status": "read"})
    api.change_message(alice, ops_ids[0], {"status": "read"})
    archive = "/me/messages/archive"
    read_ops = {"status": "read", "channel": ops}
    assert api.call("POST", archive, token=alice, json_body=read_ops).json_body == {"updated": 1, "more": False}
    assert api.call("POST", archive, token=alice, json_body={"status": "read"}).json_body == {"updated": 1, "more": False}
    assert sorted(api.message_ids(alice, "?archived=true")) == sorted([news[0], ops_ids[0]])
    assert api.call("POST", archive, token=alice, json_body={"channel": "news"}).json_body == {"updated": 2, "more": False}
    assert api.message_ids(alice) == [ops_ids[1]]
    assert api.unread_count(alice) == {"total": 1, "unseen": 1, "channels": {"ops": 1}}
    assert_counts_exact("alice")


# --- delete ------------------------------------------------------------------------------


def test_delete_removes_it_for_that_user_only_and_answers_404_after(
    api: Api, channel: str, send: SendFactory, token: TokenFactory
) -> None:
    alice, bob = token("alice"), token("bob")
    sent = send(["alice", "bob"])["id"]
    archived = send(["alice"])["id"]
    api.change_message(alice, archived, {"archived": True})
    assert api.call("DELETE", f"/me/messages/{sent}", token=alice).status_code == 204
    assert api.call("DELETE", f"/me/messages/{archived}", token=alice).status_code == 204
    for gone in (sent, archived):
        assert_error(api.call("GET", f"/me/messages/{gone}", token=alice), 404, f"message_id: message '{gone}' not found")
        assert_error(api.call("DELETE", f"/me/messages/{gone}", token=alice), 404, f"message_id: message '{gone}' not found")
        assert_error(
            api.call("PATCH", f"/me/messages/{gone}", token=alice, json_body={"status": "read"}),
            404,
            f"message_id: message '{gone}' not found",
        )
    assert api.message_ids(alice) == [] and api.message_ids(alice, "?archived=true") == []
    assert api.message_ids(bob) == [sent]
    assert api.unread_count(alice) == {"total": 0, "unseen": 0, "channels": {}}
    assert api.call("GET", "/me/channels", token=alice).json_body["items"] == []
    assert_counts_exact("alice", "bob")


def test_nobody_deletes_another_users_message(api: Api, channel: str, send: SendFactory, token: TokenFactory) -> None:
    sent = send(["bob"])["id"]
    assert_error(
        api.call("DELETE", f"/me/messages/{sent}", token=token("mallory")), 404, f"message_id: message '{sent}' not found"
    )
    assert api.message_ids(token("bob")) == [sent]


# --- seen --------------------------------------------------------------------------------


def test_seen_clears_the_unseen_badge_of_one_channel_or_all_and_leaves_unread_alone(
    api: Api, ops: str, send: SendFactory, token: TokenFactory
) -> None:
    alice = token("alice")
    send(["alice"]), send(["alice"]), send(["alice"], channel="ops")
    assert api.unread_count(alice) == {"total": 3, "unseen": 3, "channels": {"news": 2, "ops": 1}}
    only_ops = {"channel": ops}
    assert api.call("POST", "/me/messages/seen", token=alice, json_body=only_ops).json_body == {"updated": 1, "more": False}
    assert api.unread_count(alice)["unseen"] == 2
    assert api.call("POST", "/me/messages/seen", token=alice).json_body == {"updated": 2, "more": False}
    assert api.call("POST", "/me/messages/seen", token=alice).json_body == {"updated": 0, "more": False}
    assert api.unread_count(alice) == {"total": 3, "unseen": 0, "channels": {"news": 2, "ops": 1}}
    messages = api.call("GET", "/me/messages", token=alice).json_body["items"]
    assert all(m["seen"] and m["seenAt"] and m["status"] == "unread" for m in messages)
    assert_counts_exact("alice")


# --- severity and mutes ----------------------------------------------------------------------


BAD = [
    ("PATCH", "/me/messages/{id}", {"archived": "yes"}, "archived: must be true or false"),
    (
        "PATCH",
        "/me/messages/{id}",
        {"archived": True, "status": "unread"},
        "status: cannot be unread when archiving (archiving marks read)",
    ),
    ("PATCH", "/me/messages/{id}", {"status": None}, "status: must be read or unread"),
    ("PATCH", "/me/messages/{id}", {"archived": True, "flagged": True}, "flagged: is not a known field"),
    ("PATCH", "/me/messages/{id}", {"archived": True, "pinned": True}, "pinned: must be changed on its own"),
    ("POST", "/me/messages/archive", {"status": "unread"}, 'status: must be "read" (or left out: archive everything)'),
    ("POST", "/me/messages/seen", {"channel": "Not A Name"}, "channel: must match ^[a-z0-9][a-z0-9_-]{0,63}$"),
    ("PUT", "/me/preferences/channels/news", {"muted": 1}, "muted: must be true or false"),
    ("PUT", "/me/preferences/channels/news", {}, "muted: is required"),
    ("PUT", "/me/preferences/channels/NEWS", {"muted": True}, "name: must match ^[a-z0-9][a-z0-9_-]{0,63}$"),
    ("GET", "/me/messages?archived=maybe", None, "archived: must be true or false"),
    ("GET", "/me/messages?archived=true&status=0", None, "status: must be one of all, unread, read"),  # found by fuzzing
]


@pytest.mark.parametrize(("method", "path", "body", "message"), BAD, ids=[b[3] for b in BAD])
def test_bad_state_changes_are_400_naming_the_field_and_change_nothing(
    api: Api, channel: str, send: SendFactory, token: TokenFactory, method: str, path: str, body: Any, message: str
) -> None:
    alice = token("alice")
    sent = send(["alice"])["id"]
    before = api.call("GET", f"/me/messages/{sent}", token=alice).json_body
    assert_error(api.call(method, path.format(id=sent), token=alice, json_body=body), 400, message)
    assert api.call("GET", f"/me/messages/{sent}", token=alice).json_body == before
    assert api.call("GET", "/me/preferences", token=alice).json_body == {"channels": {}}


# --- frames: every change reaches every device, with the new counts ----------------------------


def test_every_state_change_reaches_every_device_with_its_counts_and_replays_change_nothing(
    api: Api,
    lambdas: LambdaClient,
    standin: ManagementStandIn,
    connect: ConnectFactory,
    channel: str,
    send: SendFactory,
    stream: StreamTap,
    token: TokenFactory,
) -> None:
    alice = token("alice")
    connect("alice", "a1=", "a2=")
    first, second = send(["alice"])["id"], send(["alice"])["id"]
    deliver_and_replay(lambdas, stream.batch())
    steps: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", "/me/messages/seen", {}),
        ("PATCH", f"/me/messages/{first}", {"status": "read"}),
        ("PATCH", f"/me/messages/{first}", {"archived": True}),
        ("PATCH", f"/me/messages/{first}", {"archived": False}),
        ("DELETE", f"/me/messages/{second}", None),
        ("PUT", "/me/preferences/channels/news", {"muted": True}),
    ]
    for method, path, body in steps:
        assert api.call(method, path, token=alice, json_body=body).status_code in (200, 204)
        assert deliver_and_replay(lambdas, stream.batch()) == {"batchItemFailures": []}
    for device in ("a1=", "a2="):
        frames = standin.frames(device)
        kinds = [(f["type"], f.get("message", {}).get("id", f.get("id"))) for f in frames]
        assert kinds[:2] == [("message.created", first), ("message.created", second)]
        assert sorted(kinds[2:4]) == sorted([("message.updated", first), ("message.updated", second)])  # seen
        assert kinds[4:8] == [
            ("message.updated", first),  # read
            ("message.updated", first),  # archived
            ("message.updated", first),  # restored: not created again
            ("message.deleted", second),
        ]
        # The mute: one in AWS; moto records an UpdateItem that creates an item as two INSERTs.
        assert set(kinds[8:]) == {("preferences.updated", None)}
        assert frames[5]["message"]["archived"] and not frames[6]["message"]["archived"]
        assert frames[-1]["preferences"] == {"channels": {"news": {"muted": True}}}
        one = {"total": 1, "unseen": 0, "channels": {"news": 1}}
        none: dict[str, Any] = {"total": 0, "unseen": 0, "channels": {}}
        assert standin.counts(device) == [
            {"total": 2, "unseen": 2, "channels": {"news": 2}},
            {"total": 2, "unseen": 0, "channels": {"news": 2}},  # seen
            one,  # read
            one,  # archived (it was read: only the total moved)
            one,  # restored
            none,  # the unread one deleted
            none,  # muted: told again (nothing unread to hide)
        ]
    assert_counts_exact("alice")


@pytest.mark.parametrize("path", ["/me/messages/read", "/me/messages/archive"])
def test_a_hot_users_bulk_change_is_paced_below_a_partitions_write_units(
    api: Api, admin_token: str, channel: str, token: TokenFactory, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One partition key takes so many write units a second (1,000 on AWS): a bulk change stays at half of it.

    Scaled down to run fast: the partition at 300 units a second, the pace at 150; unpaced, the first
    two transactions alone (400 units) overrun the partition.
    """
    from chalicelib.inbox import bulk

    monkeypatch.setattr(bulk, "BULK_UNITS_PER_SECOND", 150)
    for index in range(200):
        api.send_message(admin_token, {"channel": "news", "receivers": ["hot"], "title": f"m{index}"})
    with dynamodb_faults({}, hot_key_units=300) as injected:
        answer = api.call("POST", path, token=token("hot"), json_body={"channel": "news"}).json_body
    assert answer == {"updated": 200, "more": False}
    assert injected["hotkey"] == 0
