"""Stream fan-out on batches that moto's DynamoDB stream really produced."""

from __future__ import annotations

import json
import math
import time
from typing import Any

import pytest

from chalicelib.storage.inbox_tables import InboxMessage
from chalicelib.storage.tables import Connection
from tests.conftest import Api, CallCounter, ConnectFactory, LambdaClient, SendFactory, TokenFactory, deliver_and_replay
from tests.events import StreamTap, as_ttl_deletions, ws_event
from tests.faults import aws_answer, dynamodb_faults, hooked
from tests.standin import ManagementStandIn


def test_created_frames_reach_every_connection_of_every_receiver_and_no_one_else(
    lambdas: LambdaClient, standin: ManagementStandIn, connect: ConnectFactory, channel: str, send: SendFactory, stream: StreamTap
) -> None:
    connect("alice", "a1=", "a2=")
    connect("bob", "b1=")
    connect("carol", "c1=")
    sent = send(["alice", "bob"], title="Hello", content="Body")
    assert deliver_and_replay(lambdas, stream.batch()) == {"batchItemFailures": []}
    for connection_id in ("a1=", "a2=", "b1="):
        (frame,) = standin.frames(connection_id)
        assert frame["type"] == "message.created"
        assert frame["message"]["id"] == sent["id"] and frame["message"]["title"] == "Hello"
        assert frame["message"]["status"] == "unread"
    assert standin.frames("c1=") == []


def test_an_online_receiver_gets_one_frame_per_message_and_it_carries_the_new_counts(
    lambdas: LambdaClient, standin: ManagementStandIn, connect: ConnectFactory, channel: str, send: SendFactory, stream: StreamTap
) -> None:
    connect("alice", "a1=")
    for title in ("One", "Two"):
        send(["alice"], title=title)
        assert deliver_and_replay(lambdas, stream.batch()) == {"batchItemFailures": []}
    one, two = standin.all_frames("a1=")  # API Gateway bills each frame: no counts.updated beside them
    assert (one["type"], one["message"]["title"], two["type"], two["message"]["title"]) == (
        "message.created", "One", "message.created", "Two")  # fmt: skip
    assert [one["counts"], two["counts"]] == [{"total": n, "unseen": n, "channels": {"news": n}} for n in (1, 2)]
    assert one["version"] < two["version"]


def test_a_replayed_message_frame_carries_the_same_counts_never_counted_twice(
    lambdas: LambdaClient, standin: ManagementStandIn, connect: ConnectFactory, channel: str, send: SendFactory, stream: StreamTap
) -> None:
    connect("alice", "a1=")
    send(["alice"])
    batch = stream.batch()
    for _ in range(2):  # Lambda runs the batch again: the socket gets the frame again, with the same absolute counts
        assert lambdas.invoke("deliver", batch).payload == {"batchItemFailures": []}
    first, again = standin.all_frames("a1=")
    assert again == first and first["counts"] == {"total": 1, "unseen": 1, "channels": {"news": 1}}


def test_a_status_change_is_synced_to_every_device_of_that_user(
    api: Api,
    lambdas: LambdaClient,
    standin: ManagementStandIn,
    connect: ConnectFactory,
    channel: str,
    send: SendFactory,
    stream: StreamTap,
    token: TokenFactory,
) -> None:
    connect("alice", "a1=", "a2=")
    sent = send(["alice", "bob"])
    lambdas.invoke("deliver", stream.batch())  # the INSERTs: every record reaches the handler, in order
    api.call("PATCH", f"/me/messages/{sent['id']}", token=token("alice"), json_body={"status": "read"})
    deliver_and_replay(lambdas, stream.batch())
    for connection_id in ("a1=", "a2="):
        created, updated = standin.frames(connection_id)
        assert (created["type"], updated["type"]) == ("message.created", "message.updated")
        assert updated["message"]["status"] == "read" and updated["message"]["readAt"]
        assert standin.counts(connection_id)[-1] == {"total": 0, "unseen": 0, "channels": {}}


def test_a_users_bulk_change_adds_one_post_per_connection_to_the_batch_not_one_per_message(
    api: Api,
    lambdas: LambdaClient,
    standin: ManagementStandIn,
    connect: ConnectFactory,
    channel: str,
    send: SendFactory,
    stream: StreamTap,
    token: TokenFactory,
) -> None:
    from chalicelib.realtime.frames import FOLD_AFTER

    for _ in range(FOLD_AFTER + 10):
        send(["mallory"])
    lambdas.invoke("deliver", stream.batch())  # stored and counted before anyone listens
    connect("mallory", "m1=", "m2=", "m3=")
    connect("alice", "a1=")
    assert api.call("POST", "/me/messages/read", token=token("mallory"), json_body={}).json_body["updated"] == FOLD_AFTER + 10
    sent = send(["alice"])
    deliver_and_replay(lambdas, stream.batch())  # mallory's 30 changes and alice's new message in one batch
    for connection_id in ("m1=", "m2=", "m3="):
        (frame,) = {json.dumps(f, sort_keys=True) for f in standin.frames(connection_id)}  # the replay posts it again
        assert json.loads(frame) == {
            "type": "inbox.changed",
            "changed": FOLD_AFTER + 10,
            "counts": {"total": 0, "unseen": 0, "channels": {}},
            "version": json.loads(frame)["version"],
        }
    (created,) = {f["message"]["id"] for f in standin.frames("a1=")}
    assert created == sent["id"]


def test_no_op_modify_sends_nothing_and_remove_sends_only_the_new_counts(
    lambdas: LambdaClient, standin: ManagementStandIn, connect: ConnectFactory, channel: str, send: SendFactory, stream: StreamTap
) -> None:
    connect("alice", "a1=")
    sent = send(["alice"])
    deliver_and_replay(lambdas, stream.batch())
    before = len(standin.all_frames("a1="))
    message = InboxMessage.get("alice", sent["id"])
    message.save()  # moto emits MODIFY for a write that changes nothing
    message.delete()  # as a TTL expiry would: REMOVE
    batch = as_ttl_deletions(stream.batch())
    assert [r["eventName"] for r in batch["Records"]] == ["MODIFY", "REMOVE"]
    assert deliver_and_replay(lambdas, batch) == {"batchItemFailures": []}
    expected = {"type": "counts.updated", "counts": {"total": 0, "unseen": 0, "channels": {}}, "version": 2}
    assert standin.all_frames("a1=")[before:] == [expected]


def test_gone_connection_is_forgotten_and_others_still_get_frames(
    lambdas: LambdaClient, standin: ManagementStandIn, connect: ConnectFactory, channel: str, send: SendFactory, stream: StreamTap
) -> None:
    connect("alice", "a1=", "a2=")
    standin.script("a1=", [410])
    send(["alice"])
    assert deliver_and_replay(lambdas, stream.batch()) == {"batchItemFailures": []}
    assert len(standin.frames("a2=")) == 1
    assert [e.split("|")[0] for e in Connection.get("user#alice").connections] == ["a2="]
    with pytest.raises(Connection.DoesNotExist, match="does not exist"):
        Connection.get("conn#a1=")


def test_gone_answer_for_a_seconds_old_connection_keeps_it(
    lambdas: LambdaClient, standin: ManagementStandIn, token: TokenFactory, channel: str, send: SendFactory, stream: StreamTap
) -> None:
    event = ws_event("$connect", "new=", token=token("alice"))
    event["requestContext"]["connectedAt"] = int(time.time() * 1000)  # just now
    lambdas.invoke("ws_connect", event)
    standin.script("new=", [410])
    send(["alice"])
    deliver_and_replay(lambdas, stream.batch())
    assert Connection.get("conn#new=").user_id == "alice"


def test_only_the_record_that_still_fails_is_reported(
    lambdas: LambdaClient, standin: ManagementStandIn, connect: ConnectFactory, channel: str, send: SendFactory, stream: StreamTap
) -> None:
    connect("alice", "a1=")
    connect("bob", "b1=")
    standin.script("a1=", [500] * 4)  # more than the 4 attempts
    send(["alice"], title="first")
    send(["bob"], title="second")
    batch = stream.batch()
    alice_record = next(r for r in batch["Records"] if r["dynamodb"]["Keys"]["userId"]["S"] == "alice")
    result = deliver_and_replay(lambdas, batch)
    assert result == {"batchItemFailures": [{"itemIdentifier": alice_record["dynamodb"]["SequenceNumber"]}]}
    assert len(standin.frames("b1=")) == 1
    # Nothing after the failed frame reached alice: her counts never overtake the message they count (review).
    assert standin.all_frames("a1=") == []


def test_a_bad_record_does_not_drop_the_others(
    lambdas: LambdaClient, standin: ManagementStandIn, connect: ConnectFactory, channel: str, send: SendFactory, stream: StreamTap
) -> None:
    connect("alice", "a1=")
    send(["alice"])
    batch = stream.batch()
    broken = {"eventName": "INSERT", "dynamodb": {"SequenceNumber": "1", "NewImage": {"userId": {"BAD": 1}}}}
    batch["Records"].insert(0, broken)
    assert deliver_and_replay(lambdas, batch) == {"batchItemFailures": []}
    assert len(standin.frames("a1=")) == 1


def test_replayed_batch_makes_no_new_inbox_items(
    lambdas: LambdaClient, standin: ManagementStandIn, connect: ConnectFactory, channel: str, send: SendFactory, stream: StreamTap
) -> None:
    connect("alice", "a1=")
    send(["alice"])
    batch = stream.batch()
    deliver_and_replay(lambdas, batch)
    deliver_and_replay(lambdas, batch)  # Lambda retries are at-least-once; clients de-duplicate by id
    assert len(list(InboxMessage.query("alice"))) == 1
    assert stream.batch()["Records"] == []
    frames = standin.frames("a1=")
    assert len(frames) == 2 and frames[0] == frames[1]


def test_fan_out_lookups_stay_within_ceil_u_over_100(
    lambdas: LambdaClient,
    standin: ManagementStandIn,
    connect: ConnectFactory,
    channel: str,
    send: SendFactory,
    stream: StreamTap,
    dynamodb_calls: CallCounter,
) -> None:
    users = [f"u{i:03d}" for i in range(250)]
    for user in users[:30]:
        connect(user, f"{user}-x=")
    send(users)
    batch = stream.batch()
    assert len(batch["Records"]) == 250
    dynamodb_calls.reset()
    assert lambdas.invoke("deliver", batch).payload == {"batchItemFailures": []}  # once: its calls are counted
    # Connections: ⌈U/100⌉ BatchGetItem, and one of the registers of channels with broadcasts (none here: no
    # more). Counts: one UpdateItem per user, whose answer the message's frame carries.
    assert dynamodb_calls.calls == {"BatchGetItem": math.ceil(250 / 100) + 1, "UpdateItem": 250}
    frames = [f["type"] for u in users[:30] for f in standin.all_frames(f"{u}-x=")]
    assert frames == ["message.created"] * 30


class _ThrottleLookupOf:
    """A BatchGetItem ``before-call`` hook throttling every call that asks for one user's connections."""

    def __init__(self, user: str) -> None:
        self.key = f'"user#{user}"'.encode()
        self.calls = 0

    def __call__(self, model: Any, params: dict[str, Any], **_: Any) -> Any:
        if self.key not in params["body"]:
            return None
        self.calls += 1
        return aws_answer(400, {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "hot"}})


def test_a_throttled_connection_lookup_fails_only_that_users_records(
    lambdas: LambdaClient,
    standin: ManagementStandIn,
    connect: ConnectFactory,
    channel: str,
    send: SendFactory,
    stream: StreamTap,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from chalicelib.realtime import connections
    from chalicelib.storage import batches

    monkeypatch.setattr(connections.storage, "BATCH_GET_KEYS", 1)  # one user a BatchGetItem: bob's is his own
    monkeypatch.setattr(batches, "pause", lambda attempt, base: None)
    connect("alice", "a1=")
    connect("bob", "b1=")
    send(["alice", "bob"])
    batch = stream.batch()
    with hooked(_ThrottleLookupOf("bob"), "BatchGetItem") as hook:
        answer = lambdas.invoke("deliver", batch).payload
    bobs = [r["dynamodb"]["SequenceNumber"] for r in batch["Records"] if r["dynamodb"]["Keys"]["userId"]["S"] == "bob"]
    assert hook.calls > 0
    assert answer == {"batchItemFailures": [{"itemIdentifier": seq} for seq in bobs]}
    assert [f["type"] for f in standin.frames("a1=")] == ["message.created"]
    assert standin.frames("b1=") == []


def test_a_gone_connection_whose_clean_up_conflicts_fails_only_its_record(
    lambdas: LambdaClient, standin: ManagementStandIn, connect: ConnectFactory, channel: str, send: SendFactory, stream: StreamTap
) -> None:
    connect("alice", "a1=")
    connect("bob", "b1=")
    standin.script("a1=", [410])
    send(["alice"])
    send(["bob"])
    batch = stream.batch()
    with dynamodb_faults({"conflict": 1.0}) as injected:
        answer = lambdas.invoke("deliver", batch).payload
    assert injected["conflict"] >= 1
    alices = [r["dynamodb"]["SequenceNumber"] for r in batch["Records"] if r["dynamodb"]["Keys"]["userId"]["S"] == "alice"]
    assert answer == {"batchItemFailures": [{"itemIdentifier": alices[0]}]}
    assert [f["type"] for f in standin.frames("b1=")] == ["message.created"]
    assert Connection.get("conn#a1=").user_id == "alice"  # not forgotten yet: the retry will
