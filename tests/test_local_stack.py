"""End to end: the local stack in a subprocess, real WebSocket clients, real boto3."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

import boto3
import pytest
from websockets.exceptions import InvalidStatus

from chalicelib.auth import issue_token
from tests.conftest import SECRET
from tests.e2e import RunningStack, frames, no_frame


def _admin() -> str:
    return issue_token("admin", SECRET, admin=True)


def _send(stack: RunningStack, receivers: list[str], title: str = "Hello", **fields: Any) -> dict[str, Any]:
    status, body = stack.http(
        "POST", "/messages", _admin(), {"channel": "general", "receivers": receivers, "title": title, **fields}
    )
    assert status == 202, body
    return body  # type: ignore[no-any-return]


def test_ready_within_15_seconds(stack: RunningStack) -> None:
    assert stack.ready_after < 15
    assert "ready" in stack.output().splitlines()


def test_send_reaches_every_socket_of_each_receiver_and_none_elsewhere(stack: RunningStack) -> None:
    with (
        stack.socket(issue_token("e1", SECRET)) as a1,
        stack.socket(issue_token("e1", SECRET)) as a2,
        stack.socket(issue_token("e2", SECRET)) as b1,
        stack.socket(issue_token("e3", SECRET)) as other,
    ):
        sent = _send(stack, ["e1", "e2"], content="hi")
        for socket in (a1, a2, b1):
            (frame,) = frames(socket, 1)
            assert frame["type"] == "message.created" and frame["message"]["id"] == sent["id"]
        assert no_frame(other)


def test_read_on_one_device_updates_the_other(stack: RunningStack) -> None:
    user = issue_token("r1", SECRET)
    with stack.socket(user) as phone, stack.socket(user) as laptop:
        sent = _send(stack, ["r1"])
        frames(phone, 1), frames(laptop, 1)
        status, _ = stack.http("PATCH", f"/me/messages/{sent['id']}", user, {"status": "read"})
        assert status == 200
        for socket in (phone, laptop):
            (frame,) = frames(socket, 1)
            assert frame["type"] == "message.updated" and frame["message"]["status"] == "read"


@pytest.mark.parametrize("token", ["", "garbage", issue_token("x", "another-secret-of-enough-length-000")])
def test_handshake_is_refused_without_a_valid_token(stack: RunningStack, token: str) -> None:
    with pytest.raises(InvalidStatus) as caught, stack.socket(token):
        pass
    assert caught.value.response.status_code == 401


def test_ping_pong(stack: RunningStack) -> None:
    with stack.socket(issue_token("p1", SECRET)) as socket:
        socket.send(json.dumps({"action": "ping"}))
        assert frames(socket, 1) == [{"type": "pong"}]
        socket.send("nonsense")
        assert frames(socket, 1)[0]["type"] == "error"


def _connection_items(stack: RunningStack) -> dict[str, Any]:
    client = boto3.client("dynamodb", endpoint_url=stack.urls["dynamodb"], region_name="us-east-1")
    items = client.scan(TableName="inapp-dev-connections")["Items"]
    return {item["pk"]["S"]: item for item in items}


def test_closed_through_management_api_answers_410_and_is_forgotten(stack: RunningStack) -> None:
    management = boto3.client("apigatewaymanagementapi", endpoint_url=stack.urls["management"], region_name="us-east-1")
    with stack.socket(issue_token("m1", SECRET)) as socket:
        socket.send(json.dumps({"action": "ping"}))
        frames(socket, 1)
        (connection_id,) = [
            pk.removeprefix("conn#") for pk, item in _connection_items(stack).items() if item.get("userId", {}).get("S") == "m1"
        ]
        info = management.get_connection(ConnectionId=connection_id)
        assert {"ConnectedAt", "Identity", "LastActiveAt"} <= set(info)
        management.delete_connection(ConnectionId=connection_id)
        with pytest.raises(management.exceptions.GoneException):
            for _ in range(50):  # the socket closes asynchronously
                management.post_to_connection(ConnectionId=connection_id, Data=b"{}")
    items = _connection_items(stack)
    assert f"conn#{connection_id}" not in items
    assert not any(connection_id in element for element in items.get("user#m1", {}).get("connections", {}).get("SS", []))


def test_offline_client_catches_up_with_after(stack: RunningStack) -> None:
    user = issue_token("o1", SECRET)
    with stack.socket(user) as socket:
        seen = _send(stack, ["o1"], title="while online")
        assert frames(socket, 1)[0]["message"]["id"] == seen["id"]
    missed = [_send(stack, ["o1"], title=f"while away {i}")["id"] for i in range(25)]
    caught_up: list[str] = []
    path = f"/me/messages?after={seen['id']}&limit=10"
    while path:
        status, page = stack.http("GET", path, user)
        assert status == 200
        caught_up += [m["id"] for m in page["items"]]
        path = f"/me/messages?after={seen['id']}&limit=10&cursor={page['nextCursor']}" if page["nextCursor"] else ""
    assert caught_up == missed


def test_100_clients_all_receive_one_broadcast(stack: RunningStack) -> None:
    users = [f"b{i:03d}" for i in range(100)]
    with ExitStack() as opened:
        sockets = [opened.enter_context(stack.socket(issue_token(u, SECRET))) for u in users]
        sent = _send(stack, users, title="broadcast")
        with ThreadPoolExecutor(max_workers=20) as pool:
            received = list(pool.map(lambda s: frames(s, 1, timeout=20)[0], sockets))
    assert len(received) == 100
    assert all(f["type"] == "message.created" and f["message"]["id"] == sent["id"] for f in received)


def test_boto3_lambda_invoke_reaches_the_receivers_sockets(stack: RunningStack) -> None:
    client = boto3.client("lambda", endpoint_url=stack.urls["lambda"], region_name="us-east-1")
    with stack.socket(issue_token("l1", SECRET)) as socket:
        response = client.invoke(
            FunctionName="send",
            Payload=json.dumps({"channel": "general", "receivers": ["l1"], "title": "from a service"}),
        )
        result = json.loads(response["Payload"].read())
        assert response["StatusCode"] == 200 and "FunctionError" not in response
        (frame,) = frames(socket, 1)
        assert frame["message"]["id"] == result["id"] and frame["message"]["title"] == "from a service"


def test_lambda_errors_come_back_as_lambda_reports_them(stack: RunningStack) -> None:
    client = boto3.client("lambda", endpoint_url=stack.urls["lambda"], region_name="us-east-1")
    response = client.invoke(
        FunctionName="inapp-dev-send", Payload=json.dumps({"channel": "general", "receivers": [], "title": "t"})
    )
    assert response["FunctionError"] == "Unhandled"
    payload = json.loads(response["Payload"].read())
    assert payload["errorType"] == "ValidationError"
    assert payload["errorMessage"] == "receivers: must have 1 to 1000 distinct user ids"
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName="missing", Payload=b"{}")


def test_busy_port_gives_a_one_line_error(stack: RunningStack) -> None:
    import subprocess
    import sys

    from tests.e2e import ROOT

    port = stack.urls["http"].rsplit(":", 1)[1]
    env = {"INAPP_HTTP_PORT": port, "INAPP_WS_PORT": "0", "INAPP_LAMBDA_PORT": "0", "PATH": ""}
    result = subprocess.run(
        [sys.executable, "-m", "infra.local", "serve"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "already in use" in errors[0]


def test_sigterm_stops_within_seconds() -> None:
    running = RunningStack(SECRET)
    assert running.stop() < 5
    assert running.process.returncode == 0
