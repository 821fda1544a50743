"""chalicelib.realtime.poster: frames posted through the management API, signed, retried, paced, and their outcomes."""

from __future__ import annotations

import pytest

from chalicelib import service
from tests.conftest import ConnectFactory, LambdaClient, SendFactory, deliver_and_replay
from tests.events import StreamTap
from tests.standin import ManagementStandIn


def test_throttled_posts_are_retried_then_delivered(
    lambdas: LambdaClient, standin: ManagementStandIn, connect: ConnectFactory, channel: str, send: SendFactory, stream: StreamTap
) -> None:
    connect("alice", "a1=")
    standin.script("a1=", [429, 503])
    send(["alice"])
    assert deliver_and_replay(lambdas, stream.batch()) == {"batchItemFailures": []}
    assert standin.calls["a1="] == 3  # the message, its counts in it: 429, 503, sent
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
    assert [standin.calls[f"{u}="] for u in users[:5]] == [3] * 5  # 429, 429, sent (the counts in it)
    pacer.recovery = 100_000.0  # per second: recover within this test's few milliseconds
    send(users)
    assert deliver_and_replay(lambdas, stream.batch()) == {"batchItemFailures": []}
    assert pacer.rate == 400  # additive increase, back to the configured rate
    assert all(len(standin.frames(f"{u}=")) == 2 for u in users)


def test_payload_too_large_is_dropped_not_retried(
    lambdas: LambdaClient, standin: ManagementStandIn, connect: ConnectFactory, channel: str, send: SendFactory, stream: StreamTap
) -> None:
    connect("alice", "a1=")
    standin.script("a1=", [413])
    send(["alice"])
    assert deliver_and_replay(lambdas, stream.batch()) == {"batchItemFailures": []}
    assert standin.calls["a1="] == 2  # the message once (dropped), then the counts it carried, alone
    assert standin.all_frames("a1=") == [
        {"type": "counts.updated", "counts": {"total": 1, "unseen": 1, "channels": {"news": 1}}, "version": 1}
    ]


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
