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
from tests.standin import ManagementStandIn


def _ids(api: Api, token: str, query: str = "") -> list[str]:
    return [m["id"] for m in api.call("GET", f"/me/messages{query}", token=token).json_body["items"]]


def _counts(api: Api, token: str) -> Any:
    return api.call("GET", "/me/unread-count", token=token).json_body


def _patch(api: Api, token: str, message_id: str, body: dict[str, Any]) -> Any:
    response = api.call("PATCH", f"/me/messages/{message_id}", token=token, json_body=body)
    assert response.status_code == 200, response.json_body
    return response.json_body


@pytest.fixture
def ops(api: Api, admin_token: str, channel: str) -> str:
    assert api.call("POST", "/channels", token=admin_token, json_body={"name": "ops", "title": "Ops"}).status_code == 201
    return "ops"


# --- archive -----------------------------------------------------------------------------


def test_archiving_moves_a_message_out_of_every_list_into_the_archive_and_marks_it_read(
    api: Api, channel: str, send: SendFactory, token: TokenFactory
) -> None:
    alice = token("alice")
    kept, archived = send(["alice"])["id"], send(["alice"])["id"]
    moved = _patch(api, alice, archived, {"archived": True})
    assert (moved["id"], moved["archived"], moved["status"]) == (archived, True, "read")
    assert moved["archivedAt"] and moved["readAt"] and moved["seen"]
    for query in ("", "?status=unread", "?channel=news", "?channel=news&status=unread", f"?after={kept}"):
        assert archived not in _ids(api, alice, query), query
    assert _ids(api, alice, "?archived=true") == _ids(api, alice, "?archived=true&channel=news") == [archived]
    assert api.call("GET", f"/me/messages/{archived}", token=alice).json_body == moved
    assert _counts(api, alice) == {"total": 1, "unseen": 1, "channels": {"news": 1}}
    (news,) = api.call("GET", "/me/channels", token=alice).json_body["items"]
    assert (news["total"], news["latest"]["id"]) == (1, kept)
    assert _patch(api, alice, archived, {"archived": True}) == moved  # again: nothing changes
    assert_counts_exact("alice")


def test_restoring_brings_it_back_as_it_was_not_as_a_new_message(
    api: Api, channel: str, send: SendFactory, token: TokenFactory
) -> None:
    alice = token("alice")
    sent = send(["alice"])["id"]
    original = api.call("GET", f"/me/messages/{sent}", token=alice).json_body
    _patch(api, alice, sent, {"archived": True})
    _patch(api, alice, sent, {"status": "unread"})  # an archived message can be marked unread again
    restored = _patch(api, alice, sent, {"archived": False})
    assert (restored["archived"], restored["archivedAt"], restored["status"]) == (False, None, "unread")
    assert (restored["createdAt"], restored["title"]) == (original["createdAt"], original["title"])
    assert _ids(api, alice) == [sent] and _ids(api, alice, "?archived=true") == []
    assert _counts(api, alice) == {"total": 1, "unseen": 0, "channels": {"news": 1}}  # it was seen once: it stays seen
    assert_counts_exact("alice")


def test_archive_all_takes_every_or_only_the_read_messages_of_one_channel_or_all(
    api: Api, ops: str, send: SendFactory, token: TokenFactory
) -> None:
    alice = token("alice")
    news = [send(["alice"])["id"] for _ in range(3)]
    ops_ids = [send(["alice"], channel="ops")["id"] for _ in range(2)]
    _patch(api, alice, news[0], {"status": "read"})
    _patch(api, alice, ops_ids[0], {"status": "read"})
    archive = "/me/messages/archive"
    assert api.call("POST", archive, token=alice, json_body={"status": "read", "channel": "ops"}).json_body == {"updated": 1}
    assert api.call("POST", archive, token=alice, json_body={"status": "read"}).json_body == {"updated": 1}
    assert sorted(_ids(api, alice, "?archived=true")) == sorted([news[0], ops_ids[0]])
    assert api.call("POST", archive, token=alice, json_body={"channel": "news"}).json_body == {"updated": 2}
    assert _ids(api, alice) == [ops_ids[1]]
    assert _counts(api, alice) == {"total": 1, "unseen": 1, "channels": {"ops": 1}}
    assert_counts_exact("alice")


# --- delete ------------------------------------------------------------------------------


def test_delete_removes_it_for_that_user_only_and_answers_404_after(
    api: Api, channel: str, send: SendFactory, token: TokenFactory
) -> None:
    alice, bob = token("alice"), token("bob")
    sent = send(["alice", "bob"])["id"]
    archived = send(["alice"])["id"]
    _patch(api, alice, archived, {"archived": True})
    assert api.call("DELETE", f"/me/messages/{sent}", token=alice).status_code == 204
    assert api.call("DELETE", f"/me/messages/{archived}", token=alice).status_code == 204
    for gone in (sent, archived):
        assert_error(api.call("GET", f"/me/messages/{gone}", token=alice), 404, f"message '{gone}' not found")
        assert_error(api.call("DELETE", f"/me/messages/{gone}", token=alice), 404, f"message '{gone}' not found")
        assert_error(
            api.call("PATCH", f"/me/messages/{gone}", token=alice, json_body={"status": "read"}),
            404,
            f"message '{gone}' not found",
        )
    assert _ids(api, alice) == [] and _ids(api, alice, "?archived=true") == []
    assert _ids(api, bob) == [sent]
    assert _counts(api, alice) == {"total": 0, "unseen": 0, "channels": {}}
    assert api.call("GET", "/me/channels", token=alice).json_body["items"] == []
    assert_counts_exact("alice", "bob")


def test_nobody_deletes_another_users_message(api: Api, channel: str, send: SendFactory, token: TokenFactory) -> None:
    sent = send(["bob"])["id"]
    assert_error(api.call("DELETE", f"/me/messages/{sent}", token=token("mallory")), 404, f"message '{sent}' not found")
    assert _ids(api, token("bob")) == [sent]


# --- seen --------------------------------------------------------------------------------


def test_seen_clears_the_unseen_badge_of_one_channel_or_all_and_leaves_unread_alone(
    api: Api, ops: str, send: SendFactory, token: TokenFactory
) -> None:
    alice = token("alice")
    send(["alice"]), send(["alice"]), send(["alice"], channel="ops")
    assert _counts(api, alice) == {"total": 3, "unseen": 3, "channels": {"news": 2, "ops": 1}}
    assert api.call("POST", "/me/messages/seen", token=alice, json_body={"channel": "ops"}).json_body == {"updated": 1}
    assert _counts(api, alice)["unseen"] == 2
    assert api.call("POST", "/me/messages/seen", token=alice).json_body == {"updated": 2}
    assert api.call("POST", "/me/messages/seen", token=alice).json_body == {"updated": 0}
    assert _counts(api, alice) == {"total": 3, "unseen": 0, "channels": {"news": 2, "ops": 1}}
    messages = api.call("GET", "/me/messages", token=alice).json_body["items"]
    assert all(m["seen"] and m["seenAt"] and m["status"] == "unread" for m in messages)
    assert_counts_exact("alice")


# --- severity and mutes ----------------------------------------------------------------------


def test_a_muted_channel_leaves_the_badge_but_not_its_own_count_and_critical_ignores_mutes(
    api: Api, ops: str, send: SendFactory, token: TokenFactory
) -> None:
    alice = token("alice")
    send(["alice"]), send(["alice"], channel="ops"), send(["alice"], channel="ops", severity="critical")
    put = api.call("PUT", "/me/preferences/channels/ops", token=alice, json_body={"muted": True})
    assert put.json_body == {"name": "ops", "muted": True}
    assert api.call("GET", "/me/preferences", token=alice).json_body == {"channels": {"ops": {"muted": True}}}
    assert _counts(api, alice) == {"total": 2, "unseen": 2, "channels": {"news": 1, "ops": 2}}  # news + ops' critical
    api.call("PUT", "/me/preferences/channels/ops", token=alice, json_body={"muted": True})  # again: no change
    api.call("PUT", "/me/preferences/channels/ops", token=alice, json_body={"muted": False})
    assert api.call("GET", "/me/preferences", token=alice).json_body == {"channels": {}}
    assert _counts(api, alice) == {"total": 3, "unseen": 3, "channels": {"news": 1, "ops": 2}}
    assert_counts_exact("alice")


def test_at_most_100_channels_can_be_muted_and_muting_one_again_is_no_new_one(api: Api, token: TokenFactory) -> None:
    alice = token("alice")
    for number in range(100):
        assert api.call("PUT", f"/me/preferences/channels/c{number}", token=alice, json_body={"muted": True}).status_code == 200
    response = api.call("PUT", "/me/preferences/channels/one-more", token=alice, json_body={"muted": True})
    assert_error(response, 409, "name: at most 100 channels can be muted; unmute one first")
    assert api.call("PUT", "/me/preferences/channels/c7", token=alice, json_body={"muted": True}).status_code == 200
    api.call("PUT", "/me/preferences/channels/c7", token=alice, json_body={"muted": False})
    assert api.call("PUT", "/me/preferences/channels/one-more", token=alice, json_body={"muted": True}).status_code == 200
    assert len(api.call("GET", "/me/preferences", token=alice).json_body["channels"]) == 100


def test_the_latest_message_of_a_channel_never_goes_backwards(
    api: Api, channel: str, send: SendFactory, token: TokenFactory
) -> None:
    """Found by review: a fan-out chunk (or a retried send) stores an older id after a newer one."""
    from chalicelib.storage.tables import InboxMessage

    older = send(["bob"], title="Old")["id"]  # an id minted before the next send
    newest = send(["alice"], title="New")["id"]
    api.call("GET", "/me/unread-count", token=token("alice"))  # counted
    late = InboxMessage.get("bob", older)
    late.user_id, late.user_channel, late.user_status = "alice", "alice#news", "alice#unread"
    late.user_channel_status = "alice#news#unread"
    late.save()  # as a late chunk of a send made before "New" would store it
    (news,) = api.call("GET", "/me/channels", token=token("alice")).json_body["items"]
    assert (news["total"], news["latest"]["id"], news["latest"]["title"]) == (2, newest, "New")
    assert_counts_exact("alice")


BAD = [
    ("PATCH", "/me/messages/{id}", {"archived": "yes"}, "archived: must be true or false"),
    (
        "PATCH",
        "/me/messages/{id}",
        {"archived": True, "status": "unread"},
        "status: cannot be unread when archiving (archiving marks read)",
    ),
    ("PATCH", "/me/messages/{id}", {"status": None}, "status: must be read or unread"),
    ("PATCH", "/me/messages/{id}", {"archived": True, "pinned": True}, "pinned: is not a known field"),
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


def test_a_muted_channels_frames_are_silent_unless_critical(
    api: Api,
    lambdas: LambdaClient,
    standin: ManagementStandIn,
    connect: ConnectFactory,
    channel: str,
    send: SendFactory,
    stream: StreamTap,
    token: TokenFactory,
) -> None:
    connect("alice", "a1=")
    api.call("PUT", "/me/preferences/channels/news", token=token("alice"), json_body={"muted": True})
    send(["alice"], title="quiet")
    send(["alice"], title="loud", severity="critical")
    deliver_and_replay(lambdas, stream.batch())
    created = [(f["message"]["title"], f["silent"]) for f in standin.frames("a1=") if f["type"] == "message.created"]
    assert created == [("quiet", True), ("loud", False)]
    assert standin.counts("a1=")[-1] == {"total": 1, "unseen": 1, "channels": {"news": 2}}


def test_a_user_whose_counts_fail_has_every_record_retried_not_only_those_that_count(
    api: Api,
    lambdas: LambdaClient,
    standin: ManagementStandIn,
    channel: str,
    send: SendFactory,
    stream: StreamTap,
    token: TokenFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Found by review: a tombstone's record (no count) was skipped unreported, so its frame was lost for good."""
    from chalicelib.counts import stream as counts

    sent = send(["alice"])["id"]
    lambdas.invoke("deliver", stream.batch())
    _patch(api, token("alice"), sent, {"archived": True})
    assert api.call("DELETE", f"/me/messages/{sent}", token=token("alice")).status_code == 204
    batch = stream.batch()
    monkeypatch.setattr(counts, "first_try", lambda change: counts.FAILED)
    answer = lambdas.invoke("deliver", batch).payload
    every = [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in batch["Records"]]
    assert len(every) == 4 and answer == {"batchItemFailures": every}


def test_a_throttled_counts_update_is_tried_again_in_the_same_invocation(
    lambdas: LambdaClient,
    standin: ManagementStandIn,
    connect: ConnectFactory,
    channel: str,
    send: SendFactory,
    stream: StreamTap,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Found by the chaos run: every retry of a partly failed batch counts toward Lambda's limit, then it is given up."""
    from chalicelib.counts import stream as counts

    connect("alice", "a1=")
    sent = send(["alice", "bob"])["id"]
    real, calls = counts.first_try, []

    def flaky(change: counts.Change) -> counts.Outcome:
        calls.append(change.user_id)
        return counts.FAILED if calls.count(change.user_id) <= 2 else real(change)  # throttled twice, then fine

    monkeypatch.setattr(counts, "first_try", flaky)
    answer = lambdas.invoke("deliver", stream.batch()).payload
    assert answer == {"batchItemFailures": []}
    assert sorted(calls) == ["alice"] * 3 + ["bob"] * 3
    assert [f["message"]["id"] for f in standin.frames("a1=")] == [sent]
    assert standin.counts("a1=")[-1]["total"] == 1
    assert_counts_exact("alice", "bob")
