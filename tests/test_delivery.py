"""Stream fan-out on batches that moto's DynamoDB stream really produced."""

from __future__ import annotations

import math
import time

import pytest

from chalicelib import service
from chalicelib.realtime.delivery import FAN_OUT_WORKERS
from chalicelib.storage import dynamo as storage
from chalicelib.storage.tables import Connection, InboxMessage
from tests.conftest import Api, CallCounter, ConnectFactory, LambdaClient, SendFactory, TokenFactory, deliver_and_replay
from tests.events import StreamTap, as_ttl_deletions, ws_event
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
    batch = stream.batch()
    assert [r["eventName"] for r in batch["Records"]] == ["MODIFY", "REMOVE"]
    assert deliver_and_replay(lambdas, batch) == {"batchItemFailures": []}
    assert standin.all_frames("a1=")[before:] == [{"type": "counts.updated", "counts": {"total": 0, "unseen": 0, "channels": {}}}]


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


def test_throttled_posts_are_retried_then_delivered(
    lambdas: LambdaClient, standin: ManagementStandIn, connect: ConnectFactory, channel: str, send: SendFactory, stream: StreamTap
) -> None:
    connect("alice", "a1=")
    standin.script("a1=", [429, 503])
    send(["alice"])
    assert deliver_and_replay(lambdas, stream.batch()) == {"batchItemFailures": []}
    assert standin.calls["a1="] == 4  # the message: 429, 503, sent; then its counts
    assert len(standin.frames("a1=")) == 1


def test_429s_slow_the_shared_pace_which_recovers_and_nothing_is_lost(
    lambdas: LambdaClient,
    standin: ManagementStandIn,
    connect: ConnectFactory,
    channel: str,
    send: SendFactory,
    stream: StreamTap,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("INAPP_POST_RATE", "400")
    service.reset()
    users = [f"u{i:02d}" for i in range(20)]
    for user in users:
        connect(user, f"{user}=")
    for user in users[:5]:
        standin.script(f"{user}=", [429, 429])
    pacer = service.get_socket_poster().pacer
    assert pacer is not None and pacer.rate == 400
    send(users)
    assert deliver_and_replay(lambdas, stream.batch()) == {"batchItemFailures": []}
    slowed = pacer.rate
    assert slowed < 300  # halved (then creeping back up by 40/s while the retries wait)
    assert all(len(standin.frames(f"{u}=")) == 1 for u in users)  # nothing lost
    assert [standin.calls[f"{u}="] for u in users[:5]] == [4] * 5  # 429, 429, sent; then the counts
    pacer.recovery = 100_000.0  # per second: recover within this test's few milliseconds
    send(users)
    assert deliver_and_replay(lambdas, stream.batch()) == {"batchItemFailures": []}
    assert pacer.rate == 400  # additive increase, back to the configured rate
    assert all(len(standin.frames(f"{u}=")) == 2 for u in users)


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


def test_payload_too_large_is_dropped_not_retried(
    lambdas: LambdaClient, standin: ManagementStandIn, connect: ConnectFactory, channel: str, send: SendFactory, stream: StreamTap
) -> None:
    connect("alice", "a1=")
    standin.script("a1=", [413])
    send(["alice"])
    assert deliver_and_replay(lambdas, stream.batch()) == {"batchItemFailures": []}
    assert standin.calls["a1="] == 2  # the message once (dropped), then its counts


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
    # Connections: ⌈U/100⌉ BatchGetItem. Counts: one UpdateItem per user, whose answer feeds counts.updated.
    assert dynamodb_calls.calls == {"BatchGetItem": math.ceil(250 / 100), "UpdateItem": 250}
    frames = [f["type"] for u in users[:30] for f in standin.all_frames(f"{u}-x=")]
    assert sorted(frames) == ["counts.updated"] * 30 + ["message.created"] * 30


def test_posts_are_sigv4_signed_for_execute_api(
    lambdas: LambdaClient, standin: ManagementStandIn, connect: ConnectFactory, channel: str, send: SendFactory, stream: StreamTap
) -> None:
    connect("alice", "a1=")
    send(["alice"])
    deliver_and_replay(lambdas, stream.batch())
    authorization = standin.headers["a1="]["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=")
    assert "/us-east-1/execute-api/aws4_request" in authorization
    assert "X-Amz-Date" in standin.headers["a1="]


def test_full_jitter_stays_under_the_exponential_ceiling() -> None:
    from chalicelib.core.backoff import full_jitter

    for attempt in range(8):
        ceiling = min(2.0, 0.05 * 2**attempt)
        assert all(0 <= full_jitter(attempt, 0.05) <= ceiling for _ in range(200))


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
    expected = {"type": "counts.updated", "counts": {"total": 0, "unseen": 0, "channels": {}}}
    assert standin.all_frames("a1=")[before:] == [expected]
    assert api.call("GET", "/me/unread-count", token=token("alice")).json_body == {"total": 0, "unseen": 0, "channels": {}}
    assert api.call("GET", "/me/channels", token=token("alice")).json_body["items"] == []


def test_a_message_removed_any_other_way_counts_down_too(
    api: Api,
    lambdas: LambdaClient,
    standin: ManagementStandIn,
    channel: str,
    send: SendFactory,
    stream: StreamTap,
    token: TokenFactory,
) -> None:
    """Counts follow the items: whatever removes one (an operator, a bug fix script) is counted once."""
    sent, kept = send(["alice"]), send(["alice"])
    deliver_and_replay(lambdas, stream.batch())
    InboxMessage.get("alice", sent["id"]).delete()
    deliver_and_replay(lambdas, stream.batch())
    assert api.call("GET", "/me/unread-count", token=token("alice")).json_body == {
        "total": 1,
        "unseen": 1,
        "channels": {"news": 1},
    }
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


def test_every_table_client_keeps_a_connection_per_fan_out_thread(tables: None) -> None:
    """botocore keeps 10 connections by default; the other 54 threads would each open (and TLS-negotiate) their own."""
    clients = storage.botocore_clients()
    assert len(clients) >= 8
    assert all(client.meta.config.max_pool_connections >= FAN_OUT_WORKERS for client in clients)
