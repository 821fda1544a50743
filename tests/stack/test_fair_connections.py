"""Against the local stack: the per-user connection cap and token expiry, with real sockets."""

from __future__ import annotations

import time
from contextlib import ExitStack

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection

from chalicelib.core.auth import issue_token
from infra.local.running import RunningStack
from tests.conftest import SECRET
from tests.e2e import frames, send

CLOSE_KINDS = ("close", "message.created")


def _closed_by_the_server(socket: ClientConnection) -> int | None:
    """Wait for the server's close; its code (API Gateway's DELETE closes with 1000, whatever the reason)."""
    with pytest.raises(ConnectionClosed):
        while True:
            socket.recv(timeout=10)
    return socket.close_code


def test_the_eleventh_socket_of_a_user_closes_the_first_with_4008(stack: RunningStack) -> None:
    with ExitStack() as sockets:
        first = sockets.enter_context(stack.socket(issue_token("cap1", SECRET)))
        others = [sockets.enter_context(stack.socket(issue_token("cap1", SECRET))) for _ in range(10)]
        (frame,) = frames(first, 1, kinds=CLOSE_KINDS)
        assert frame == {"type": "close", "code": 4008, "reason": "too many connections"}
        assert _closed_by_the_server(first) == 1000
        sent = send(stack, ["cap1"], "To the ten newest")
        for socket in others:
            (frame,) = frames(socket, 1, kinds=CLOSE_KINDS)
            assert frame["type"] == "message.created" and frame["message"]["id"] == sent["id"]


def test_a_socket_whose_token_expired_gets_a_close_frame_instead_of_the_message(stack: RunningStack) -> None:
    issued = int(time.time())
    with stack.socket(issue_token("exp1", SECRET, lifetime_seconds=2, now=issued)) as expiring:
        time.sleep(max(0.0, issued + 2.2 - time.time()))  # past its exp
        send(stack, ["exp1"], "After the token expired")
        (frame,) = frames(expiring, 1, kinds=CLOSE_KINDS)
        assert frame == {"type": "close", "code": 4001, "reason": "token expired"}
        assert _closed_by_the_server(expiring) == 1000
