"""chalicelib.counts.stream: each user's counts updated once per batch, retried within the invocation, exact under replays."""

from __future__ import annotations

import time
from typing import Any

import pytest

from chalicelib.storage.inbox_tables import InboxMessage
from tests.conftest import (
    Api,
    ConnectFactory,
    LambdaClient,
    SendFactory,
    TokenFactory,
    assert_counts_exact,
    deliver_and_replay,
)
from tests.events import StreamTap, as_ttl_deletions
from tests.standin import ManagementStandIn


def test_the_latest_message_of_a_channel_never_goes_backwards(
    api: Api, channel: str, send: SendFactory, token: TokenFactory
) -> None:
    """Found by review: a fan-out chunk (or a retried send) stores an older id after a newer one."""
    from chalicelib.storage.inbox_tables import InboxMessage

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
    api.change_message(token("alice"), sent, {"archived": True})
    assert api.call("DELETE", f"/me/messages/{sent}", token=token("alice")).status_code == 204
    send(["alice"])  # a record the stream counts, beside four it does not (counted by their writes)
    batch = stream.batch()
    monkeypatch.setattr(counts, "first_try", lambda change: counts.FAILED)
    answer = lambdas.invoke("deliver", batch).payload
    every = [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in batch["Records"]]
    assert len(every) == 5 and answer == {"batchItemFailures": every}


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


def test_ttl_expiry_corrects_the_counters_and_sends_only_the_new_counts(
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
    first, second = send(["alice"]), send(["alice"])
    api.call("PATCH", f"/me/messages/{first['id']}", token=token("alice"), json_body={"status": "read"})
    lambdas.invoke("deliver", stream.batch())
    before = len(standin.all_frames("a1="))
    for sent in (first, second):
        InboxMessage.get("alice", sent["id"]).delete()  # as DynamoDB's TTL would
    batch = as_ttl_deletions(stream.batch())
    assert deliver_and_replay(lambdas, batch) == {"batchItemFailures": []}
    expected = {"type": "counts.updated", "counts": {"total": 0, "unseen": 0, "channels": {}}, "version": 3}
    assert standin.all_frames("a1=")[before:] == [expected]  # the third update of alice's counts (the read's was the second)
    assert api.call("GET", "/me/unread-count", token=token("alice")).json_body == {"total": 0, "unseen": 0, "channels": {}}
    assert api.call("GET", "/me/channels", token=token("alice")).json_body["items"] == []


def test_a_message_removed_outside_the_app_is_left_to_the_recount(
    api: Api,
    lambdas: LambdaClient,
    standin: ManagementStandIn,
    channel: str,
    send: SendFactory,
    stream: StreamTap,
    token: TokenFactory,
) -> None:
    """The stream counts only TTL's deletions: every app delete counts itself in its transaction, and a REMOVE
    carries no mark to tell them apart. One made by hand (an operator's script) is repaired by the recount."""
    from chalicelib.inbox.repair import recount_user

    sent, kept = send(["alice"]), send(["alice"])
    deliver_and_replay(lambdas, stream.batch())
    InboxMessage.get("alice", sent["id"]).delete()
    deliver_and_replay(lambdas, stream.batch())
    assert api.unread_count(token("alice"))["total"] == 2  # not counted: not TTL's, and no app delete counted it
    assert recount_user("alice") == {
        "news": {"before": {"unread": 2, "total": 2, "unseen": 2}, "after": {"unread": 1, "total": 1, "unseen": 1}}
    }
    assert api.unread_count(token("alice")) == {"total": 1, "unseen": 1, "channels": {"news": 1}}
    assert api.call("GET", f"/me/messages/{kept['id']}", token=token("alice")).status_code == 200


def test_a_replayed_ttl_batch_corrects_the_counters_once(
    api: Api,
    lambdas: LambdaClient,
    standin: ManagementStandIn,
    channel: str,
    send: SendFactory,
    stream: StreamTap,
    token: TokenFactory,
) -> None:
    """Lambda retries from the first failed record and re-runs the ones after it: a plain ADD -1 drifted."""
    kept, first, second = send(["alice"]), send(["alice"]), send(["alice"])
    api.call("PATCH", f"/me/messages/{first['id']}", token=token("alice"), json_body={"status": "read"})
    lambdas.invoke("deliver", stream.batch())
    for sent in (first, second):
        InboxMessage.get("alice", sent["id"]).delete()  # as DynamoDB's TTL would
    batch = as_ttl_deletions(stream.batch())
    for replay in (batch, batch, {"Records": batch["Records"][1:]}):  # whole batch twice, then its tail
        assert deliver_and_replay(lambdas, replay) == {"batchItemFailures": []}
    assert api.call("GET", "/me/unread-count", token=token("alice")).json_body == {
        "total": 1,
        "unseen": 1,
        "channels": {"news": 1},
    }
    (news,) = api.call("GET", "/me/channels", token=token("alice")).json_body["items"]
    assert (news["unread"], news["total"], news["latest"]["id"]) == (1, 1, kept["id"])  # the newest one still there


def _window(records: list[dict[str, Any]], shard: str) -> dict[str, Any]:
    """A tumbling window's event: the only one in which Lambda names the shard of its records."""
    return {"Records": records, "shardId": shard, "window": {"start": "2026-12-06T19:00:00Z", "end": "2026-12-06T19:15:00Z"},
            "state": {}, "isFinalInvokeForWindow": False, "isWindowTerminatedEarly": False}  # fmt: skip


def test_one_users_records_from_two_shards_count_once_whichever_shard_runs_first(
    api: Api, lambdas: LambdaClient, standin: ManagementStandIn, channel: str, send: SendFactory, stream: StreamTap
) -> None:
    """Found by review: the guard compared sequence numbers across shards.

    When a hot user's items split across two partitions, their records come
    from two shards that Lambda reads at once. The later shard's batch ran
    first, raised the user's one guard past the earlier shard's records, and
    those were taken as replayed: never counted.
    """
    from chalicelib import counts
    from chalicelib.inbox.repair import tally

    for title in ("One", "Two", "Three", "Four", "Five"):
        send(["alice"], title=title)
    records = stream.batch()["Records"]
    first, second = records[::2], records[1::2]  # each item's records in one shard, the two shards interleaved
    for shard, part in (("shardId-b", second), ("shardId-a", first), ("shardId-b", second), ("shardId-a", first[1:])):
        assert lambdas.invoke("deliver", _window(part, shard)).payload == {"batchItemFailures": [], "state": {}}
    stored = counts.read("alice", consistent=True)
    assert stored.numbers() == tally("alice").numbers() and stored.of("t", "news") == 5  # replays counted nothing
    assert set(stored.guards) == {"shardId-a", "shardId-b"}


def test_a_guard_unused_past_the_record_age_is_removed_and_a_fresh_shard_still_counts(
    lambdas: LambdaClient, standin: ManagementStandIn, channel: str, send: SendFactory, stream: StreamTap,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Shards end every few hours: a user's item keeps the guards of the last ones only, not one per shard ever."""
    from chalicelib import counts
    from chalicelib.counts import stream as updater

    send(["alice"], title="Old")
    lambdas.invoke("deliver", _window(stream.batch()["Records"], "shardId-old"))
    assert set(counts.read("alice", consistent=True).guards) == {"shardId-old"}
    send(["alice"], title="New")
    now = time.time()
    monkeypatch.setattr(updater.time, "time", lambda: now + updater.GUARD_KEPT_SECONDS + 1)
    lambdas.invoke("deliver", _window(stream.batch()["Records"], "shardId-new"))
    stored = counts.read("alice", consistent=True)
    assert set(stored.guards) == {"shardId-new"} and stored.of("t", "news") == 2


def test_an_event_without_a_window_answers_no_state_and_guards_the_whole_stream(
    lambdas: LambdaClient, standin: ManagementStandIn, channel: str, send: SendFactory, stream: StreamTap
) -> None:
    from chalicelib import counts

    send(["alice"])
    batch = stream.batch()
    assert lambdas.invoke("deliver", batch).payload == {"batchItemFailures": []}
    assert set(counts.read("alice", consistent=True).guards) == {counts.ANY_SHARD}


def test_two_shards_applied_at_the_same_moment_both_count(
    channel: str, send: SendFactory, stream: StreamTap, standin: ManagementStandIn
) -> None:
    """Lambda runs sibling shards at once: their updates of one user's counts race, and neither is lost."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from chalicelib import counts
    from chalicelib.inbox.repair import tally
    from chalicelib.storage.stream_records import StreamRecord

    for n in range(12):
        send(["alice"], title=f"n{n}")
    records = [StreamRecord.parse(r) for r in stream.batch()["Records"]]
    halves = {"shardId-a": records[::2], "shardId-b": records[1::2]}
    start = threading.Barrier(2)

    def apply(shard: str) -> list[str]:
        changes = counts.changes_from(halves[shard], shard)
        start.wait()
        with ThreadPoolExecutor(max_workers=2) as pool:
            return counts.apply(changes, list(changes), lambda user, stored: None, counts_pool=pool, then_pool=pool)[1]

    with ThreadPoolExecutor(max_workers=2) as both:
        assert list(both.map(apply, halves)) == [[], []]
    stored = counts.read("alice", consistent=True)
    assert stored.numbers() == tally("alice").numbers() and stored.of("t", "news") == 12


def test_own_changes_whose_counts_cannot_be_read_for_the_other_tabs_are_retried(
    api: Api,
    lambdas: LambdaClient,
    standin: ManagementStandIn,
    connect: ConnectFactory,
    channel: str,
    send: SendFactory,
    stream: StreamTap,
    token: TokenFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A user's own change leaves the stream nothing to count, only the counts to post: it reads them (⌈U/100⌉)."""
    from chalicelib.core.errors import BusyError
    from chalicelib.counts import stream as counts

    connect("alice", "a1=")
    sent = send(["alice"])["id"]
    lambdas.invoke("deliver", stream.batch())
    api.change_message(token("alice"), sent, {"status": "read"})
    batch = stream.batch()

    def busy(users: list[str]) -> Any:
        raise BusyError("storage is busy; retry shortly")

    with monkeypatch.context() as patched:
        patched.setattr(counts, "read_many", busy)
        answer = lambdas.invoke("deliver", batch).payload
    assert answer == {"batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in batch["Records"]]}
    assert lambdas.invoke("deliver", batch).payload == {"batchItemFailures": []}  # Lambda's retry
    assert standin.counts("a1=")[-1] == {"total": 0, "unseen": 0, "channels": {}}
    assert_counts_exact("alice")
