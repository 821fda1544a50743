"""chalicelib.inbox.entries: pinned messages first, a tag's list in one Query, per-tag unread counts."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.inbox.entries import MAX_PINNED
from tests.conftest import (
    Api,
    CallCounter,
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


def _all_pages(api: Api, token: str, query: str) -> list[str]:
    ids: list[str] = []
    page = api.call("GET", f"/me/messages?{query}", token=token).json_body
    while True:
        ids += [m["id"] for m in page["items"]]
        if page["nextCursor"] is None:
            return ids
        page = api.call("GET", f"/me/messages?{query}&cursor={page['nextCursor']}", token=token).json_body


# --- pins ------------------------------------------------------------------------------------


def test_pinned_messages_come_first_newest_pinned_first_for_that_user_only(
    api: Api, channel: str, send: SendFactory, token: TokenFactory
) -> None:
    alice, bob = token("alice"), token("bob")
    sent = [send(["alice", "bob"], title=f"m{n}")["id"] for n in range(6)]
    assert api.change_message(alice, sent[1], {"pinned": True})["pinned"] is True
    api.change_message(alice, sent[3], {"pinned": True})
    api.change_message(alice, sent[3], {"status": "read"})  # state changes keep the pin
    newest_first = sent[::-1]
    assert api.message_ids(alice) == [sent[3], sent[1], *(i for i in newest_first if i not in (sent[1], sent[3]))]
    assert api.message_ids(bob) == newest_first  # bob pinned nothing
    assert api.message_ids(alice, "?status=unread") == [sent[1], *(i for i in newest_first if i not in (sent[1], sent[3]))]
    # Pages after the first leave the pinned ones out: every message exactly once.
    assert _all_pages(api, alice, "limit=2") == api.message_ids(alice, "?limit=100")
    assert sorted(_all_pages(api, alice, "limit=2")) == sorted(sent)
    unpinned = api.change_message(alice, sent[1], {"pinned": False})
    assert "pinned" not in unpinned
    assert api.message_ids(alice)[:2] == [sent[3], sent[5]]
    assert api.unread_count(alice) == {"total": 5, "unseen": 5, "channels": {"news": 5}}  # pins count nothing
    assert_counts_exact("alice", "bob")


def test_an_archived_pinned_message_leaves_the_pins_and_comes_back_pinned(
    api: Api, channel: str, send: SendFactory, token: TokenFactory
) -> None:
    alice = token("alice")
    older, pinned = send(["alice"])["id"], send(["alice"])["id"]
    api.change_message(alice, older, {"pinned": True})
    api.change_message(alice, older, {"archived": True})
    assert api.message_ids(alice) == [pinned] and api.message_ids(alice, "?archived=true") == [older]
    assert_error(
        api.call("PATCH", f"/me/messages/{older}", token=alice, json_body={"pinned": False}),
        409,
        "pinned: only a message in the inbox can be pinned or unpinned; restore or wake it first",
    )
    api.change_message(alice, older, {"archived": False})
    assert api.message_ids(alice) == [older, pinned]


def test_at_most_twenty_messages_are_pinned_and_a_deleted_one_frees_its_place(
    api: Api, channel: str, send: SendFactory, token: TokenFactory
) -> None:
    alice = token("alice")
    sent = [send(["alice"])["id"] for _ in range(MAX_PINNED + 1)]
    for message_id in sent[:MAX_PINNED]:
        api.change_message(alice, message_id, {"pinned": True})
    refused = api.call("PATCH", f"/me/messages/{sent[-1]}", token=alice, json_body={"pinned": True})
    assert_error(refused, 409, f"pinned: at most {MAX_PINNED} messages can be pinned; unpin one first")
    assert "pinned" not in api.call("GET", f"/me/messages/{sent[-1]}", token=alice).json_body
    assert api.call("DELETE", f"/me/messages/{sent[0]}", token=alice).status_code == 204
    assert api.change_message(alice, sent[-1], {"pinned": True})["pinned"] is True
    assert len(api.message_ids(alice, "?limit=1")) == MAX_PINNED  # the first page carries every pin, then `limit` more


@pytest.mark.parametrize(
    ("body", "field", "problem"),
    [
        ({"pinned": "yes"}, "pinned", "must be true or false"),
        ({"pinned": True, "status": "read"}, "pinned", "must be changed on its own"),
    ],
)
def test_a_bad_pin_is_refused_naming_the_field(
    api: Api, channel: str, send: SendFactory, token: TokenFactory, body: dict[str, Any], field: str, problem: str
) -> None:
    alice = token("alice")
    sent = send(["alice"])["id"]
    assert_error(api.call("PATCH", f"/me/messages/{sent}", token=alice, json_body=body), 400, f"{field}: {problem}")
    assert "pinned" not in api.call("GET", f"/me/messages/{sent}", token=alice).json_body


# --- tags ------------------------------------------------------------------------------------


def test_a_tags_list_and_its_unread_count(api: Api, channel: str, send: SendFactory, token: TokenFactory) -> None:
    alice = token("alice")
    billing = send(["alice"], title="invoice", tags=["billing", "urgent"])["id"]
    urgent = send(["alice"], title="outage", tags=["urgent"])["id"]
    plain = send(["alice"], title="hello")["id"]
    assert api.call("GET", f"/me/messages/{billing}", token=alice).json_body["tags"] == ["billing", "urgent"]
    assert "tags" not in api.call("GET", f"/me/messages/{plain}", token=alice).json_body
    assert api.message_ids(alice, "?tag=urgent") == [urgent, billing]
    assert api.message_ids(alice, "?tag=billing") == [billing]
    assert api.message_ids(alice, "?tag=nothing") == []
    counts = api.unread_count(alice)
    assert counts == {"total": 3, "unseen": 3, "channels": {"news": 3}, "tags": {"billing": 1, "urgent": 2}}
    api.change_message(alice, urgent, {"status": "read"})
    assert api.message_ids(alice, "?tag=urgent&status=unread") == [billing]
    assert api.message_ids(alice, "?tag=urgent&status=read") == [urgent]
    assert api.unread_count(alice)["tags"] == {"billing": 1, "urgent": 1}
    api.change_message(alice, billing, {"archived": True})  # out of the tag's list and count; back when restored
    assert api.message_ids(alice, "?tag=urgent") == [urgent]
    assert "tags" not in api.unread_count(alice)
    api.change_message(alice, billing, {"archived": False})
    assert api.message_ids(alice, "?tag=urgent") == [urgent, billing]
    assert api.call("POST", "/me/messages/read", token=alice).json_body == {"updated": 1, "more": False}  # archiving read it
    assert "tags" not in api.unread_count(alice)
    assert_counts_exact("alice")


def test_a_tags_list_is_one_query_and_pages_through_every_message_once(
    api: Api, channel: str, send: SendFactory, token: TokenFactory, dynamodb_calls: CallCounter
) -> None:
    alice = token("alice")
    tagged = [send(["alice"], tags=["ops"])["id"] for _ in range(7)]
    send(["alice"])
    api.call("DELETE", f"/me/messages/{tagged[2]}", token=alice)
    api.change_message(alice, tagged[4], {"archived": True})
    dynamodb_calls.reset()
    first = api.call("GET", "/me/messages?tag=ops&limit=3", token=alice).json_body
    assert dynamodb_calls.calls["Query"] == 2  # the tag's entries, and the pinned ones (first page only)
    assert dynamodb_calls.calls["BatchGetItem"] == 2  # the tagged messages; the counts item and the broadcasts' registers
    assert [m["id"] for m in first["items"]] == [tagged[6], tagged[5], tagged[3]]
    expected = [i for i in reversed(tagged) if i not in (tagged[2], tagged[4])]
    assert _all_pages(api, alice, "tag=ops&limit=3") == expected


@pytest.mark.parametrize(
    ("tags", "field", "problem"),
    [
        ("urgent", "tags", "must be a list of at most 5 tags"),
        (["a", "b", "c", "d", "e", "f"], "tags", "must be a list of at most 5 tags"),
        (["Urgent"], "tags[0]", "must match ^[a-z0-9][a-z0-9_-]{0,31}$"),
        (["ok", "x" * 33], "tags[1]", "must match ^[a-z0-9][a-z0-9_-]{0,31}$"),
        ([7], "tags[0]", "must match ^[a-z0-9][a-z0-9_-]{0,31}$"),
    ],
)
def test_bad_tags_are_refused_naming_the_field_and_nothing_is_stored(
    api: Api, admin_token: str, channel: str, token: TokenFactory, tags: Any, field: str, problem: str
) -> None:
    body = {"channel": "news", "receivers": ["alice"], "title": "t", "tags": tags}
    assert_error(api.call("POST", "/messages", token=admin_token, json_body=body), 400, f"{field}: {problem}")
    assert api.message_ids(token("alice")) == []


def test_a_bad_tag_filter_is_refused_and_the_archive_and_the_catch_up_ignore_a_tag(
    api: Api, channel: str, send: SendFactory, token: TokenFactory
) -> None:
    alice = token("alice")
    assert_error(api.call("GET", "/me/messages?tag=Bad!", token=alice), 400, "tag: must match ^[a-z0-9][a-z0-9_-]{0,31}$")
    assert_error(
        api.call("GET", "/me/messages?tag=Bad!&snoozed=true", token=alice), 400, "tag: must match ^[a-z0-9][a-z0-9_-]{0,31}$"
    )
    first, plain = send(["alice"], tags=["x"])["id"], send(["alice"])["id"]
    api.change_message(alice, first, {"archived": True})
    assert api.message_ids(alice, "?tag=x&archived=true") == [first]
    assert api.message_ids(alice, f"?tag=x&after={first}") == [plain]  # the catch-up brings every message since the id


def test_every_device_sees_a_pin_and_an_unpin_as_updates_and_no_count_moves(
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
    sent = send(["alice"], tags=["ops"])["id"]
    deliver_and_replay(lambdas, stream.batch())
    for pinned in (True, False):
        api.change_message(alice, sent, {"pinned": pinned})
        assert deliver_and_replay(lambdas, stream.batch()) == {"batchItemFailures": []}
    for device in ("a1=", "a2="):
        frames = standin.frames(device)
        assert [(f["type"], f["message"].get("pinned", False)) for f in frames] == [
            ("message.created", False),
            ("message.updated", True),
            ("message.updated", False),
        ]
        assert standin.counts(device) == [{"total": 1, "unseen": 1, "channels": {"news": 1}, "tags": {"ops": 1}}]
