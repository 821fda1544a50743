"""chalicelib.realtime.closing: a close frame that says why, the connection forgotten, then DELETE."""

from __future__ import annotations

import time

from chalicelib import service
from chalicelib.realtime import TOKEN_EXPIRED
from chalicelib.realtime.connections import LiveConnection
from chalicelib.storage.tables import Connection
from tests.conftest import LambdaClient
from tests.faults import dynamodb_faults
from tests.standin import ManagementStandIn


def _registered(connection_id: str) -> LiveConnection:
    live = LiveConnection(connection_id, "alice", int(time.time() * 1000) - 60_000, int(time.time()) + 60)
    service.get_services().registry.connect(live)
    return live


def test_closing_twice_sends_one_reason_and_one_delete(lambdas: LambdaClient, standin: ManagementStandIn) -> None:
    live = _registered("c1=")
    closer = service.get_closer()
    assert closer.close(live, TOKEN_EXPIRED) is True
    assert closer.close(live, TOKEN_EXPIRED) is True  # a retried batch: 410s, nothing left to forget
    assert standin.all_frames("c1=") == [{"type": "close", "code": 4001, "reason": "token expired"}]
    assert standin.deleted == ["c1="]
    assert Connection.count("conn#c1=") == 0
    assert not Connection.get("user#alice").connections


def test_a_connection_storage_will_not_forget_is_left_open_for_a_later_close(
    lambdas: LambdaClient, standin: ManagementStandIn
) -> None:
    live = _registered("c1=")
    with dynamodb_faults({"conflict": 1.0}):
        assert service.get_closer().close(live, TOKEN_EXPIRED) is False
    assert standin.deleted == []  # still registered: closing it now would leave a stale entry behind
    assert Connection.get("conn#c1=").user_id == "alice"
