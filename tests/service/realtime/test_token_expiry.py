"""A connection lives no longer than its token: no message frame after its ``exp``, closed with 4001."""

from __future__ import annotations

import time

import jwt

from chalicelib import service
from chalicelib.realtime.connections import LiveConnection
from chalicelib.storage.tables import Connection
from tests.conftest import ConnectFactory, LambdaClient, SendFactory, TokenFactory, deliver_and_replay
from tests.events import StreamTap, ws_event
from tests.standin import ManagementStandIn

EXPIRED = {"type": "close", "code": 4001, "reason": "token expired"}


def _connected_with_a_token_since_expired(connection_id: str, user: str) -> None:
    """As a ``$connect`` an hour ago with a token that expired a second ago would have left it."""
    now = time.time()
    live = LiveConnection(connection_id, user, int((now - 3600) * 1000), int(now) - 1)
    service.get_services().registry.connect(live)


def test_connect_keeps_the_tokens_exp_with_the_connection(
    lambdas: LambdaClient, standin: ManagementStandIn, token: TokenFactory
) -> None:
    issued = token("alice")
    event = ws_event("$connect", "c1=", token=issued)
    assert lambdas.invoke("ws_connect", event).payload == {"statusCode": 200}
    exp = jwt.decode(issued, options={"verify_signature": False})["exp"]
    assert Connection.get("conn#c1=").token_expires_at == exp
    connected = event["requestContext"]["connectedAt"]
    assert Connection.get("user#alice").connections == {f"c1=|{connected}|{exp}"}


def test_a_socket_whose_token_expired_gets_no_message_frame_and_is_closed(
    lambdas: LambdaClient, standin: ManagementStandIn, connect: ConnectFactory, channel: str, send: SendFactory, stream: StreamTap
) -> None:
    _connected_with_a_token_since_expired("old=", "alice")
    connect("alice", "fresh=")
    send(["alice"])
    assert deliver_and_replay(lambdas, stream.batch()) == {"batchItemFailures": []}
    assert standin.all_frames("old=") == [EXPIRED]
    assert standin.deleted == ["old="]
    assert [f["type"] for f in standin.all_frames("fresh=")] == ["message.created"]
    assert [e.split("|")[0] for e in Connection.get("user#alice").connections] == ["fresh="]
    assert Connection.count("conn#old=") == 0


def test_an_expired_sockets_next_ping_closes_it_unanswered(
    lambdas: LambdaClient, standin: ManagementStandIn, token: TokenFactory
) -> None:
    _connected_with_a_token_since_expired("old=", "alice")
    answer = lambdas.invoke("ws_message", ws_event("$default", "old=", body='{"action":"ping"}')).payload
    assert answer == {"statusCode": 200}
    assert standin.all_frames("old=") == [EXPIRED]
    assert standin.deleted == ["old="]
    assert Connection.count("conn#old=") == 0


def test_a_socket_whose_token_holds_still_gets_its_pong(
    lambdas: LambdaClient, standin: ManagementStandIn, connect: ConnectFactory
) -> None:
    connect("alice", "c1=")
    lambdas.invoke("ws_message", ws_event("$default", "c1=", body='{"action":"ping"}'))
    assert standin.all_frames("c1=") == [{"type": "pong"}]
    assert standin.deleted == []
