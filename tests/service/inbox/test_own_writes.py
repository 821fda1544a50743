"""Read-your-own-writes: right after a user's change answers, their counts, channels and lists show it.

The stream has caught up on the sends before each change, and is not let
run again before the reads that follow it (``api.settle_counts`` off):
what they show comes from the change's own transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from chalicelib import counts
from chalicelib.inbox.repair import tally
from tests.conftest import (
    Api,
    ConnectFactory,
    LambdaClient,
    SendFactory,
    TokenFactory,
    assert_counts_exact,
    deliver_and_replay,
)
from tests.events import ShardMap, StreamTap
from tests.faults import dynamodb_faults
from tests.standin import ManagementStandIn


def _shown(api: Api, token: str) -> dict[str, Any]:
    """What the user reads: the badge's counts, each channel's unread and total, the unread and archived lists."""

    def get(path: str) -> Any:
        response = api.call("GET", path, token=token)
        assert response.status_code == 200, response.json_body
        return response.json_body

    return {
        "counts": get("/me/unread-count"),
        "channels": {c["name"]: (c["unread"], c["total"]) for c in get("/me/channels")["items"]},
        "unread": [m["id"] for m in get("/me/messages?status=unread")["items"]],
        "archived": [m["id"] for m in get("/me/messages?archived=true")["items"]],
    }


def _recounted(user: str) -> dict[str, Any]:
    expected = tally(user)
    return {"counts": expected.summary(), "channels": {c: (expected.of("u", c), expected.of("t", c)) for c in expected.channels}}


Change = Callable[[Api, str, list[str]], Any]
TWO_ONE = {"news": (1, 2), "ops": (1, 1)}  # each channel's (unread, total)
ALL = {"news": (2, 2), "ops": (1, 1)}
ONE_ONE = {"news": (1, 1), "ops": (1, 1)}
NEWS = {"channel": "news"}
OPS = {"total": 1, "unseen": 1, "channels": {"ops": 1}}  # the badge with news all read
CHANGES: dict[str, tuple[Change | None, Change, dict[str, Any]]] = {
    # name: (a change made and counted before, the change, what the user then reads)
    "read": (None, lambda api, t, ids: api.change_message(t, ids[0], {"status": "read"}),
             {"counts": {"total": 2, "unseen": 2, "channels": {"news": 1, "ops": 1}}, "channels": TWO_ONE}),
    "unread": (lambda api, t, ids: api.change_message(t, ids[0], {"status": "read"}),
               lambda api, t, ids: api.change_message(t, ids[0], {"status": "unread"}),
               {"counts": {"total": 3, "unseen": 2, "channels": {"news": 2, "ops": 1}}, "channels": ALL}),
    "archive": (None, lambda api, t, ids: api.change_message(t, ids[0], {"archived": True}),
                {"counts": {"total": 2, "unseen": 2, "channels": {"news": 1, "ops": 1}}, "channels": ONE_ONE}),
    "restore": (lambda api, t, ids: api.change_message(t, ids[0], {"archived": True}),
                lambda api, t, ids: api.change_message(t, ids[0], {"archived": False}),
                {"counts": {"total": 2, "unseen": 2, "channels": {"news": 1, "ops": 1}}, "channels": TWO_ONE}),
    "delete": (None, lambda api, t, ids: api.call("DELETE", f"/me/messages/{ids[0]}", token=t),
               {"counts": {"total": 2, "unseen": 2, "channels": {"news": 1, "ops": 1}}, "channels": ONE_ONE}),
    "mark all read": (None, lambda api, t, ids: api.call("POST", "/me/messages/read", token=t, json_body=NEWS),
                      {"counts": OPS, "channels": {"news": (0, 2), "ops": (1, 1)}}),
    "mark all seen": (None, lambda api, t, ids: api.call("POST", "/me/messages/seen", token=t, json_body={}),
                      {"counts": {"total": 3, "unseen": 0, "channels": {"news": 2, "ops": 1}}, "channels": ALL}),
    "mark all archive": (None, lambda api, t, ids: api.call("POST", "/me/messages/archive", token=t, json_body=NEWS),
                         {"counts": OPS, "channels": {"ops": (1, 1)}}),
    "mute": (None, lambda api, t, ids: api.call("PUT", "/me/preferences/channels/news", token=t, json_body={"muted": True}),
             {"counts": {"total": 1, "unseen": 1, "channels": {"news": 2, "ops": 1}}, "channels": ALL}),
    "unmute": (lambda api, t, ids: api.call("PUT", "/me/preferences/channels/news", token=t, json_body={"muted": True}),
               lambda api, t, ids: api.call("PUT", "/me/preferences/channels/news", token=t, json_body={"muted": False}),
               {"counts": {"total": 3, "unseen": 3, "channels": {"news": 2, "ops": 1}}, "channels": ALL}),
}  # fmt: skip


@pytest.mark.parametrize("name", list(CHANGES))
def test_right_after_a_change_the_users_counts_channels_and_lists_show_it(
    api: Api, ops: str, send: SendFactory, token: TokenFactory, name: str
) -> None:
    before, change, expected = CHANGES[name]
    alice = token("alice")
    ids = [send(["alice"], title="first")["id"], send(["alice"], title="second")["id"], send(["alice"], channel="ops")["id"]]
    if before is not None:
        before(api, alice, ids)
    api.counts.catch_up()  # the stream has counted the sends (and the change before)
    api.settle_counts = False  # and does not run again before the reads below
    answer = change(api, alice, ids)
    assert getattr(answer, "status_code", 200) in (200, 204)
    shown = _shown(api, alice)
    assert {key: shown[key] for key in ("counts", "channels")} == expected == _recounted("alice")
    archived = {"archive": [ids[0]], "mark all archive": [ids[1], ids[0]]}.get(name, [])
    assert shown["archived"] == archived
    first_gone = ("read", "restore", "delete", "archive")  # restored as it was archived: read
    unread = ids[:0:-1] if name in first_gone else [ids[2]] if name in ("mark all read", "mark all archive") else ids[::-1]
    assert shown["unread"] == unread
    assert_counts_exact("alice")  # and once the stream has caught up: not counted twice


def test_a_change_before_the_stream_counted_its_message_never_shows_below_zero(
    api: Api, channel: str, send: SendFactory, token: TokenFactory
) -> None:
    """Messages sent to the user reach the counts after the stream's delay: a read may come first."""
    api.settle_counts = False
    sent = send(["alice"])["id"]
    api.change_message(token("alice"), sent, {"status": "read"})
    assert counts.read("alice", consistent=True).values[("u", "news")] == -1  # the read counted, the send not yet
    assert api.unread_count(token("alice")) == {"total": 0, "unseen": 0, "channels": {}}
    assert api.call("GET", "/me/channels", token=token("alice")).json_body["items"] == []
    api.counts.catch_up()
    (news,) = api.call("GET", "/me/channels", token=token("alice")).json_body["items"]
    assert (news["unread"], news["total"]) == (0, 1)
    assert_counts_exact("alice")


def test_own_changes_conflicting_on_the_counts_item_are_retried_and_still_show_at_once(
    api: Api, channel: str, send: SendFactory, token: TokenFactory
) -> None:
    """DynamoDB cancels a transaction that meets another write in flight (TransactionConflict, not retried by
    botocore); the stream writes the same counts item. The change tries again after a backoff: never a 5xx."""
    alice = token("alice")
    ids = [send(["alice"], title=f"m{i}")["id"] for i in range(4)]
    api.counts.catch_up()
    api.settle_counts = False
    with dynamodb_faults({"conflict": 0.5}) as injected:
        statuses = [api.call("PATCH", f"/me/messages/{i}", token=alice, json_body={"status": "read"}).status_code for i in ids]
        statuses.append(api.call("POST", "/me/messages/seen", token=alice, json_body={}).status_code)
    assert injected["conflict"] > 0 and statuses == [200] * 5
    assert api.unread_count(alice) == {"total": 0, "unseen": 0, "channels": {}}
    assert_counts_exact("alice")


def test_the_stream_counts_own_changes_never_again_under_replays_and_a_shard_split(
    api: Api,
    lambdas: LambdaClient,
    standin: ManagementStandIn,
    connect: ConnectFactory,
    ops: str,
    send: SendFactory,
    stream: StreamTap,
    token: TokenFactory,
) -> None:
    """Their records are left out of the counts, statelessly; each user's sockets still get the counts they left."""
    connect("alice", "a1=")
    alice = token("alice")
    ids = [send(["alice"], title=f"m{i}")["id"] for i in range(4)] + [send(["alice"], channel="ops")["id"]]
    deliver_and_replay(lambdas, stream.batch())
    api.settle_counts = False
    api.change_message(alice, ids[0], {"status": "read"})
    api.change_message(alice, ids[1], {"archived": True})
    assert api.call("DELETE", f"/me/messages/{ids[2]}", token=alice).status_code == 204
    api.call("PUT", "/me/preferences/channels/ops", token=alice, json_body={"muted": True})
    late = send(["alice"], title="sent meanwhile")["id"]  # counted by the stream, beside the own changes
    api.call("POST", "/me/messages/seen", token=alice, json_body={"channel": "news"})
    shards = ShardMap()
    shards.roll_over(2)  # the user's items split over two shards, read at once: the later one first
    for shard, records in shards.batches(stream.batch()["Records"]):
        window = {"Records": records, "shardId": shard, "window": {"start": "", "end": ""}, "state": {}}
        assert deliver_and_replay(lambdas, window)["batchItemFailures"] == []
    shown = api.unread_count(alice)  # every record delivered (a keeper reading them as of one shard would count again)
    assert shown == {"total": 2, "unseen": 0, "channels": {"news": 2, "ops": 1}}  # ids[3] and the late one; ops muted
    assert standin.counts("a1=")[-1] == shown  # the last counts frame: what the user reads
    assert api.call("GET", f"/me/messages/{late}", token=alice).status_code == 200
    stored, expected = counts.read("alice", consistent=True), tally("alice")
    assert (stored.numbers(), stored.muted) == (expected.numbers(), expected.muted)
