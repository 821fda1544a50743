"""Connections per user are capped, and one user's connections never hold up another user's frames."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from chalicelib import service
from chalicelib.realtime.poster import Outcome
from chalicelib.storage.tables import Connection
from tests.conftest import ConnectFactory, LambdaClient, SendFactory, TokenFactory, deliver_and_replay
from tests.events import StreamTap, ws_event
from tests.standin import ManagementStandIn

CAP = 10
TOO_MANY = {"type": "close", "code": 4008, "reason": "too many connections"}


def _connect_at(lambdas: LambdaClient, token: str, connection_id: str, connected_at_ms: int) -> dict[str, int]:
    event = ws_event("$connect", connection_id, token=token)
    event["requestContext"]["connectedAt"] = connected_at_ms
    answer: dict[str, int] = lambdas.invoke("ws_connect", event).payload
    return answer


def _registered(user: str) -> list[str]:
    return sorted(element.split("|")[0] for element in Connection.get(f"user#{user}").connections or set())


@pytest.fixture
def cap_of_three(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("INAPP_MAX_CONNECTIONS_PER_USER", "3")
    service.reset()
    return 3


def test_a_connection_beyond_the_cap_is_accepted_and_closes_the_users_oldest(
    lambdas: LambdaClient, standin: ManagementStandIn, token: TokenFactory, cap_of_three: int
) -> None:
    start = int(time.time() * 1000) - 60_000
    for connection_id, offset in (("c2=", 10), ("c1=", 0), ("c3=", 20)):  # c1 is the oldest, though not the first
        assert _connect_at(lambdas, token("alice"), connection_id, start + offset) == {"statusCode": 200}
    _connect_at(lambdas, token("bob"), "b1=", start)
    assert standin.deleted == []
    assert _connect_at(lambdas, token("alice"), "c4=", start + 30) == {"statusCode": 200}
    # API Gateway's DELETE @connections closes with 1000 and cannot carry a code: the frame before it says why.
    assert standin.all_frames("c1=") == [TOO_MANY]
    assert standin.deleted == ["c1="]
    assert _registered("alice") == ["c2=", "c3=", "c4="]
    assert Connection.count("conn#c1=") == 0
    assert _registered("bob") == ["b1="] and standin.all_frames("b1=") == []


def test_the_closed_connections_disconnect_finds_nothing_left_to_forget(
    lambdas: LambdaClient, standin: ManagementStandIn, token: TokenFactory, cap_of_three: int
) -> None:
    start = int(time.time() * 1000) - 60_000
    for i in range(5):
        assert _connect_at(lambdas, token("alice"), f"c{i}=", start + i) == {"statusCode": 200}
    assert standin.deleted == ["c0=", "c1="]
    for closed in standin.deleted:  # API Gateway's $disconnect for each DELETE
        assert lambdas.invoke("ws_disconnect", ws_event("$disconnect", closed)).payload == {"statusCode": 200}
    assert _registered("alice") == ["c2=", "c3=", "c4="]


def _hoard(user: str, count: int) -> list[str]:
    """``count`` connections of one user written straight to the registry (more than the cap: connected before a
    lower cap was set, or by connects that raced); their ids, oldest first."""
    start = int(time.time() * 1000) - 600_000
    ids = [f"{user[0]}{i:04d}=" for i in range(count)]
    registry = Connection(f"user#{user}")
    registry.update(actions=[Connection.connections.add({f"{cid}|{start + i}" for i, cid in enumerate(ids)})])
    return ids


Post = Callable[[str, bytes], Outcome]


def _meeting_at(barrier: threading.Barrier, post: Post, prefix: str) -> tuple[Post, list[str]]:
    """A post that waits, for connections of ``prefix``, until the barrier's number of them are being posted at once."""
    alone: list[str] = []

    def meeting(connection_id: str, payload: bytes) -> Outcome:
        if connection_id.startswith(prefix):
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                alone.append(connection_id)
        return post(connection_id, payload)

    return meeting, alone


def test_a_user_over_the_cap_adds_only_the_caps_worth_of_posts_and_they_run_side_by_side(
    lambdas: LambdaClient, standin: ManagementStandIn, connect: ConnectFactory, channel: str, send: SendFactory, stream: StreamTap
) -> None:
    """The review's case: 1,000 slow sockets of one user, posted one after another in one worker, held the batch
    (and the next user's frame) for 25 s. Now only the newest cap's worth is posted, one task per connection."""
    hoarded = _hoard("alice", 300)
    connect("bob", "b1=")
    send(["alice", "bob"])
    delivery = service.get_delivery()
    real_post = delivery._post
    delivery._post, alone = _meeting_at(threading.Barrier(CAP, timeout=5), real_post, "a")
    try:
        assert deliver_and_replay(lambdas, stream.batch()) == {"batchItemFailures": []}
    finally:
        delivery._post = real_post
    assert alone == []  # every post of alice's met CAP - 1 others of hers in flight: spread over the workers
    posted = sorted(cid for cid in standin.received if cid.startswith("a"))
    assert posted == hoarded[-CAP:]  # the newest ones
    assert sum(standin.calls[cid] for cid in hoarded) == CAP  # one frame each: the message, its counts in it
    assert [f["type"] for f in standin.all_frames("b1=")] == ["message.created"]
