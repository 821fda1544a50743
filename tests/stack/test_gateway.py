"""The local WebSocket gateway's own contract, with a recording fake app."""

from __future__ import annotations

import io
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import jwt
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from chalicelib.core import logs
from infra.local.apigateway.websocket import WebSocketGateway
from infra.local.console_logs import TextFormatter

CONTEXT_FIELDS = {
    "routeKey", "eventType", "connectionId", "connectedAt", "requestTimeEpoch", "requestTime",
    "requestId", "extendedRequestId", "messageDirection", "stage", "domainName", "apiId", "identity",
}  # fmt: skip


class FakeApp:
    """Records route events; refuses tokens other than "good"; can hold $connect."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.release_connect = threading.Event()
        self.release_connect.set()

    def __call__(self, name: str, event: dict[str, Any]) -> Any:
        self.events.append((name, event))
        if name == "ws_connect":
            self.release_connect.wait(10)
            token = (event.get("queryStringParameters") or {}).get("token")
            return {"statusCode": 200} if token == "good" else {"statusCode": 401, "body": "bad token"}
        return {"statusCode": 200}

    def of(self, name: str) -> list[dict[str, Any]]:
        return [e for n, e in self.events if n == name]


@pytest.fixture
def app() -> FakeApp:
    return FakeApp()


@pytest.fixture
def gateway(app: FakeApp) -> Iterator[WebSocketGateway]:
    running = WebSocketGateway(app, port=0, stage="api", idle_timeout=600, max_lifetime=7200)
    running.start()
    yield running
    running.stop()


@pytest.fixture
def management(gateway: WebSocketGateway) -> Any:
    return boto3.client(
        "apigatewaymanagementapi", endpoint_url=gateway.management_endpoint, region_name="us-east-1",
        aws_access_key_id="x", aws_secret_access_key="x",
    )  # fmt: skip


@pytest.fixture
def gateway_log() -> Iterator[io.StringIO]:
    """The gateway's log lines as the local stack prints them on a terminal."""
    logger, output = logging.getLogger("inapp.local.gateway"), io.StringIO()
    handler, level = logging.StreamHandler(output), logger.level
    handler.setFormatter(TextFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield output
    logger.removeHandler(handler)
    logger.setLevel(level)


def _wait(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_events_have_api_gateways_shape(gateway: WebSocketGateway, app: FakeApp) -> None:
    with connect(f"{gateway.url}?token=good&lang=en") as socket:
        socket.send('{"action":"hello"}')
        _wait(lambda: app.of("ws_message"))
    _wait(lambda: app.of("ws_disconnect"))
    (connect_event,) = app.of("ws_connect")
    assert set(connect_event["requestContext"]) >= CONTEXT_FIELDS
    assert connect_event["requestContext"]["routeKey"] == "$connect"
    assert connect_event["requestContext"]["eventType"] == "CONNECT"
    assert connect_event["queryStringParameters"] == {"token": "good", "lang": "en"}
    assert "headers" in connect_event and connect_event["isBase64Encoded"] is False
    (message,) = app.of("ws_message")
    assert message["requestContext"]["routeKey"] == "$default" and message["requestContext"]["messageId"]
    assert message["body"] == '{"action":"hello"}'
    (disconnect,) = app.of("ws_disconnect")
    assert disconnect["requestContext"]["eventType"] == "DISCONNECT"
    assert disconnect["requestContext"]["disconnectStatusCode"] == 1000
    ids = {e["requestContext"]["connectionId"] for _, e in app.events}
    assert len(ids) == 1 and ids.pop().endswith("=")


def test_a_ping_is_answered_by_the_gateway_and_runs_no_function(gateway: WebSocketGateway, app: FakeApp) -> None:
    """As the template's mock ``ping`` route: selected by ``action``; every other frame still reaches ``$default``."""
    with connect(f"{gateway.url}?token=good") as socket:
        for _ in range(3):
            socket.send('{"action":"ping"}')
            assert json.loads(socket.recv(timeout=5)) == {"type": "pong"}
        for other in ('{"action":"Ping"}', '["ping"]', "ping", '{"action":["ping"]}'):
            socket.send(other)
        _wait(lambda: len(app.of("ws_message")) == 4)
    assert [e["body"] for e in app.of("ws_message")] == ['{"action":"Ping"}', '["ping"]', "ping", '{"action":["ping"]}']


def test_refused_connect_fails_the_handshake(gateway: WebSocketGateway, app: FakeApp) -> None:
    with pytest.raises(InvalidStatus, match="HTTP 401") as caught, connect(f"{gateway.url}?token=bad"):
        pass
    assert caught.value.response.status_code == 401
    assert gateway.sockets == {}
    assert app.of("ws_disconnect") == []


def test_a_refused_handshake_logs_no_claim_of_its_token(gateway: WebSocketGateway, gateway_log: io.StringIO) -> None:
    """The ``sub`` of a refused token is whatever its sender wrote: never a log line's user, nor a line of its own."""
    forged = jwt.encode({"sub": "x\nFAKE LOG LINE", "exp": 4102444800}, "not-the-secret-0123456789abcdef01", algorithm="HS256")
    with pytest.raises(InvalidStatus, match="HTTP 401"), connect(f"{gateway.url}?token={forged}"):
        pass
    (line,) = gateway_log.getvalue().splitlines()
    assert line.endswith("INFO  inapp.local.gateway: websocket refused 401: bad token")
    assert "FAKE" not in gateway_log.getvalue()


def test_a_user_bound_to_the_logs_where_the_gateway_starts_is_on_none_of_its_lines(
    app: FakeApp, gateway_log: io.StringIO
) -> None:
    """Its tasks would copy the starter's context: a test that bound a user made every later gateway line carry it."""
    logs.bind(user_id="someone-before")
    running = WebSocketGateway(app, port=0, stage="api", idle_timeout=600, max_lifetime=7200)
    try:
        running.start()
        with pytest.raises(InvalidStatus, match="HTTP 401"), connect(f"{running.url}?token=bad"):
            pass
    finally:
        running.stop()
        logs.clear()
    assert "refused 401" in gateway_log.getvalue()
    assert "someone-before" not in gateway_log.getvalue()


def test_post_get_delete_and_410_after(gateway: WebSocketGateway, management: Any) -> None:
    with connect(f"{gateway.url}?token=good") as socket:
        _wait(lambda: gateway.sockets)
        (connection_id,) = gateway.sockets
        management.post_to_connection(ConnectionId=connection_id, Data=b'{"n":1}')
        assert json.loads(socket.recv(timeout=5)) == {"n": 1}
        info = management.get_connection(ConnectionId=connection_id)
        assert info["Identity"]["SourceIp"] == "127.0.0.1"
        management.delete_connection(ConnectionId=connection_id)
        with pytest.raises(ConnectionClosed, match=r"1000|1001|1006|no close frame"):
            socket.recv(timeout=5)
    _wait(lambda: not gateway.sockets)
    with pytest.raises(management.exceptions.GoneException, match="GoneException"):
        management.post_to_connection(ConnectionId=connection_id, Data=b"{}")


def test_unknown_id_is_410_and_large_payload_is_413(gateway: WebSocketGateway, management: Any) -> None:
    with pytest.raises(management.exceptions.GoneException, match="GoneException"):
        management.post_to_connection(ConnectionId="nope=", Data=b"{}")
    with connect(f"{gateway.url}?token=good"):
        _wait(lambda: gateway.sockets)
        (connection_id,) = gateway.sockets
        management.post_to_connection(ConnectionId=connection_id, Data=b"x" * (128 * 1024))
        with pytest.raises(management.exceptions.PayloadTooLargeException, match="PayloadTooLarge"):
            management.post_to_connection(ConnectionId=connection_id, Data=b"x" * (128 * 1024 + 1))


def test_post_while_connect_is_running_is_410(gateway: WebSocketGateway, app: FakeApp, management: Any) -> None:
    app.release_connect.clear()

    def open_and_close() -> None:
        with connect(f"{gateway.url}?token=good"):
            pass

    opener = threading.Thread(target=open_and_close)
    opener.start()
    _wait(lambda: app.of("ws_connect"))
    connection_id = app.of("ws_connect")[0]["requestContext"]["connectionId"]
    with pytest.raises(management.exceptions.GoneException, match="GoneException"):
        management.post_to_connection(ConnectionId=connection_id, Data=b"{}")
    app.release_connect.set()
    opener.join(5)


def test_idle_and_lifetime_limits_close_sockets(app: FakeApp) -> None:
    gateway = WebSocketGateway(app, port=0, idle_timeout=0.5, max_lifetime=60)
    gateway.start()
    try:
        with connect(f"{gateway.url}?token=good") as socket, pytest.raises(ConnectionClosed, match="1001") as closed:
            socket.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    finally:
        gateway.stop()


def test_answers_over_lambdas_six_megabytes_are_refused_as_aws_refuses_them() -> None:
    """chalice.local and a plain endpoint would pass any size: Lambda answers at most 6 MB (API Gateway then says 502)."""
    import urllib.error
    import urllib.request

    from chalice import Chalice
    from chalice.config import Config

    from infra.local.apigateway.http import local_api_server
    from infra.local.lambdas.endpoint import LambdaEndpoint

    app = Chalice(app_name="sizes")

    @app.route("/big")
    def big() -> dict[str, Any]:
        return {"text": "é" * 1_000_000}  # 1 MB of UTF-8, ~7 MB in the proxy answer (\\u00e9 inside a JSON string)

    @app.route("/fits")
    def fits() -> dict[str, Any]:
        return {"text": "é" * 10_000}

    server = local_api_server(app, Config.create(), 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server.server_address[1]}"
    try:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{url}/big", timeout=10)
        assert refused.value.code == 502 and json.load(refused.value) == {"message": "Internal server error"}
        with urllib.request.urlopen(f"{url}/fits", timeout=10) as answer:
            assert len(json.load(answer)["text"]) == 10_000
    finally:
        server.server.shutdown()
        server.server.server_close()
    endpoint = LambdaEndpoint({"big": lambda event, request_id: "x" * 7_000_000}, port=0)
    endpoint.start()
    try:
        client = boto3.client("lambda", endpoint_url=endpoint.url, region_name="us-east-1")
        response = client.invoke(FunctionName="big", Payload=b"{}")
        assert response["FunctionError"] == "Unhandled"
        assert json.loads(response["Payload"].read())["errorType"] == "Function.ResponseSizeTooLarge"
    finally:
        endpoint.stop()


def _silent_client(url: str) -> socket.socket:
    """A WebSocket client that completes its handshake and then never reads, with a small receive buffer."""
    host, port = url.removeprefix("ws://").split("/")[0].split(":")
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect((host, int(port)))
    raw.sendall(
        f"GET /?token=good HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += raw.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return raw


def test_a_post_never_waits_for_a_client_that_stopped_reading_and_one_too_far_behind_is_dropped(
    gateway: WebSocketGateway, management: Any
) -> None:
    """API Gateway answers a post without waiting for the client. Here each post used to await the write to the
    client's socket: one that stopped reading held every post to it (and the poster's batch) for good."""
    silent = _silent_client(gateway.url)
    try:
        _wait(lambda: gateway.sockets)
        (connection_id,) = gateway.sockets
        frame = b'"' + b"x" * (100 * 1024) + b'"'
        started, answered = time.monotonic(), 0
        with pytest.raises(management.exceptions.GoneException):
            for _ in range(1000):  # 100 MB: far past loopback's socket buffers and the 1 MiB the gateway keeps
                management.post_to_connection(ConnectionId=connection_id, Data=frame)
                answered += 1
        assert 10 <= answered < 1000 and time.monotonic() - started < 30
        _wait(lambda: not gateway.sockets)  # dropped: every post from now on is 410
        with pytest.raises(management.exceptions.GoneException):
            management.post_to_connection(ConnectionId=connection_id, Data=b"{}")
        _wait(lambda: not gateway._clients)  # its own TCP connection too, not only the pipe's end behind the door
        assert _closed_under(silent)
    finally:
        silent.close()


def _closed_under(client: socket.socket, seconds: float = 5.0) -> bool:
    """Whether the server ended ``client``'s connection: what it holds read, then end-of-file or a reset."""
    client.settimeout(0.5)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if not client.recv(65536):
                return True
        except ConnectionResetError:
            return True
        except TimeoutError:
            continue
    return False
