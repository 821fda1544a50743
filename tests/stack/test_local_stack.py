"""End to end: the local stack in a subprocess, real WebSocket clients, real boto3."""

from __future__ import annotations

import json
import os
import re
import signal
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import boto3
import pytest
from websockets.exceptions import InvalidStatus

from chalicelib.core.auth import issue_token
from infra.local.running import RunningStack
from tests.conftest import SECRET
from tests.e2e import frames, no_frame, process_exists

LOG_TIME = r"\d\d:\d\d:\d\d"


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


def test_an_online_receiver_gets_one_frame_per_message_with_its_counts_in_it(stack: RunningStack) -> None:
    with stack.socket(issue_token("single", SECRET)) as socket:
        for n in (1, 2):
            sent = _send(stack, ["single"], title=f"Message {n}")
            (frame,) = frames(socket, 1, kinds=("message.created", "counts.updated"))
            assert (frame["type"], frame["message"]["id"]) == ("message.created", sent["id"])
            assert frame["counts"] == {"total": n, "unseen": n, "channels": {"general": n}}
        with pytest.raises(TimeoutError):  # no counts.updated beside them
            socket.recv(timeout=1.0)


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
    with pytest.raises(InvalidStatus, match="HTTP 401") as caught, stack.socket(token):
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
        with pytest.raises(management.exceptions.GoneException, match="GoneException"):
            for _ in range(50):  # the socket closes asynchronously
                management.post_to_connection(ConnectionId=connection_id, Data=b"{}")
    deadline = time.monotonic() + 5
    while f"conn#{connection_id}" in (items := _connection_items(stack)) and time.monotonic() < deadline:
        time.sleep(0.05)  # $disconnect runs after the socket is gone, as in API Gateway
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
    with pytest.raises(client.exceptions.ResourceNotFoundException, match="Function not found: missing"):
        client.invoke(FunctionName="missing", Payload=b"{}")


def test_an_http_request_holds_only_its_own_runtime_and_the_next_gets_another(stack: RunningStack) -> None:
    """As Lambda runs each request in a container of its own: with every HTTP runtime held by a request
    (stopped here mid-way), the next request starts a new runtime (a cold start) and is answered."""
    held = _runtimes(stack, b"http")
    assert 1 <= len(held) < 8, "the pool starts with a warm runtime, and has room for more"
    for pid in held:
        os.kill(pid, signal.SIGSTOP)
    token = issue_token("pool1", SECRET)
    try:
        with ThreadPoolExecutor(len(held)) as waiting:
            stuck = [waiting.submit(stack.http, "GET", "/me/unread-count", token, None) for _ in held]
            time.sleep(1.0)  # each has taken a (stopped) runtime
            assert not any(call.done() for call in stuck)
            started = time.monotonic()
            assert stack.http("GET", "/me/unread-count", token, None)[0] == 200
            assert time.monotonic() - started < 30  # a cold start on a busy machine
            assert len(_runtimes(stack, b"http")) == len(held) + 1
            for pid in held:
                os.kill(pid, signal.SIGCONT)
            assert [call.result(timeout=30)[0] for call in stuck] == [200] * len(held)
    finally:
        for pid in held:
            os.kill(pid, signal.SIGCONT)


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


def test_sigterm_stops_within_a_second_and_removes_its_state_file() -> None:
    running = RunningStack(SECRET)
    assert running.state_file.exists()
    assert running.stop() < 1.0
    assert running.process.returncode == 0
    assert "Traceback" not in running.output()
    assert not running.state_file.exists()


def _runtime(running: RunningStack) -> int:
    """The process id of the stack's Lambda runtime for the stream function (the HTTP API's have ``http`` as role)."""
    (pid,) = _runtimes(running, b"functions")
    return pid


def _runtimes(running: RunningStack, role: bytes) -> list[int]:
    """The stack's runtime processes of one role: the last argument of their command line."""
    found = []
    for pid in running.children():
        arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if b"infra.local.lambdas.runtime" in arguments and role in arguments[-2:]:
            found.append(pid)
    return found


def _assert_stopped_cleanly(running: RunningStack, took: float, children: list[int]) -> None:
    """Within a second, exit code 0, no traceback or error line, no child process left."""
    output = running.output()
    assert took < 1.0, output
    assert running.process.returncode == 0
    assert "Traceback" not in output and " ERROR " not in output, output
    assert not [pid for pid in children if process_exists(pid)]


def test_ctrl_c_to_the_process_group_stops_everything_within_a_second_without_a_traceback() -> None:
    running = RunningStack(SECRET, own_group=True)
    children = running.children()
    assert len(children) >= 2, "the DynamoDB emulator and the Lambda runtime run in child processes"
    with running.socket(issue_token("cc1", SECRET)) as socket:  # a socket to close and a $disconnect to run
        status, _ = running.http("POST", "/messages", _admin(), {"channel": "deploys", "receivers": ["cc1"], "title": "t"})
        assert status == 202
        frames(socket, 1)
        took = running.interrupt()
    _assert_stopped_cleanly(running, took, children)
    assert not running.state_file.exists()


def test_a_stream_function_runtime_that_dies_during_a_batch_is_started_again_and_the_batch_delivered_once() -> None:
    """As on Lambda: the invocation fails with its sandbox, the batch is retried, and a new runtime (a cold start) runs it."""
    running = RunningStack(SECRET)
    try:
        runtime = _runtime(running)
        token = issue_token("rt1", SECRET)
        with running.socket(token) as socket:
            os.kill(runtime, signal.SIGSTOP)  # it takes the next batch over the pipe, and never answers
            status, _ = running.http("POST", "/messages", _admin(), {"channel": "deploys", "receivers": ["rt1"], "title": "t"})
            assert status == 202
            time.sleep(1.0)
            os.kill(runtime, signal.SIGKILL)
            (frame,) = frames(socket, 1)
            assert (frame["type"], frame["message"]["title"]) == ("message.created", "t")
            assert no_frame(socket, wait=1.0)  # delivered once
        status, counts = running.http("GET", "/me/unread-count", token)
        assert status == 200 and counts["total"] == 1, counts
        assert "starting a new runtime (a cold start)" in running.output()
        assert _runtime(running) != runtime
    finally:
        running.stop()


def test_sigterm_during_a_batch_stops_within_a_second_without_an_error() -> None:
    """The runtime's batch is ended, not waited for (it is not checkpointed, as on Lambda), and nothing is left running."""
    running = RunningStack(SECRET)
    children = running.children()
    os.kill(_runtime(running), signal.SIGSTOP)  # the next batch stays in flight
    status, _ = running.http("POST", "/messages", _admin(), {"channel": "deploys", "receivers": ["rt2"], "title": "t"})
    assert status == 202
    time.sleep(0.5)
    _assert_stopped_cleanly(running, running.stop(), children)


# --- what a newcomer meets: the banner, errors for unknown routes, the demo channel -----------


def test_banner_prints_ready_to_paste_exports_that_work(stack: RunningStack) -> None:
    exports = stack.exports()
    assert set(exports) == {"API", "ADMIN", "ALICE", "BOB"}
    assert exports["API"] == stack.urls["http"]
    status, counts = stack.http("GET", "/me/unread-count", exports["ALICE"])
    assert status == 200 and "total" in counts
    status, _ = stack.http("GET", "/channels", exports["ADMIN"])
    assert status == 200


def test_banner_says_the_data_lives_in_memory(stack: RunningStack) -> None:
    (line,) = [line for line in stack.output().splitlines() if line.strip().startswith("DynamoDB")]
    assert line.endswith("(embedded moto: in memory, gone when the stack stops)")


def test_demo_channel_is_seeded_and_announced(stack: RunningStack) -> None:
    status, channel = stack.http("GET", "/channels/deploys", _admin())
    assert status == 200 and channel["title"] == "Deployments"
    assert "Demo channel 'deploys' (Deployments) is ready: `make send` sends to it." in stack.output().splitlines()


@pytest.mark.parametrize("token", [None, "eyJhbGciOiJIUzI1NiJ9.secret-looking.token"])
def test_unknown_path_answers_404_in_the_apis_error_shape(stack: RunningStack, token: str | None) -> None:
    status, body = stack.http("GET", "/me/nothing?token=abc", token)
    assert status == 404
    assert body == {"Code": "NotFoundError", "Message": "path: no route for GET /me/nothing"}


def test_unsupported_methods_answer_405_in_the_apis_error_shape(stack: RunningStack) -> None:
    assert stack.http("TRACE", "/health") == (
        405,
        {"Code": "MethodNotAllowedError", "Message": "method: TRACE is not allowed here"},
    )
    assert stack.http("PUT", "/channels", _admin(), {}) == (
        405,
        {"Code": "MethodNotAllowedError", "Message": "method: PUT is not allowed here"},
    )


@pytest.mark.parametrize(
    ("method", "path", "allowed"), [("TRACE", "/health", "GET, OPTIONS"), ("PUT", "/channels", "GET, OPTIONS, POST")]
)
def test_a_405_lists_the_allowed_methods(stack: RunningStack, method: str, path: str, allowed: str) -> None:
    """RFC 9110: a 405 carries ``Allow`` (schemathesis' undeclared-method check found it missing)."""
    import urllib.error

    request = urllib.request.Request(
        f"{stack.urls['http']}{path}", method=method, headers={"Authorization": f"Bearer {_admin()}"}
    )
    with pytest.raises(urllib.error.HTTPError, match="405") as refused:
        urllib.request.urlopen(request, timeout=5)
    assert set(refused.value.headers["Allow"].split(", ")) == set(allowed.split(", "))


def test_favicon_is_no_content(stack: RunningStack) -> None:
    with urllib.request.urlopen(f"{stack.urls['http']}/favicon.ico", timeout=5) as response:
        assert response.status == 204


def test_a_browser_following_an_app_path_gets_a_stand_in_page(stack: RunningStack) -> None:
    followed = {"Accept": "text/html,*/*", "Sec-Fetch-Site": "same-origin"}  # a link on the inbox page (View)
    request = urllib.request.Request(f"{stack.urls['http']}/releases/2.14.0", headers=followed)
    with urllib.request.urlopen(request, timeout=5) as response:
        page = response.read().decode()
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/html")
    assert "<code>/releases/2.14.0</code>" in page and '<a href="/">Back to the inbox</a>' in page


@pytest.mark.parametrize("fetch_site", ["none", None, "cross-site"])
@pytest.mark.parametrize("path", ["/inbox", "/admn", "/releases/2.14.0"])
def test_a_page_path_typed_or_linked_from_elsewhere_is_a_404(stack: RunningStack, path: str, fetch_site: str | None) -> None:
    """A typo (``/inbox``, ``/admn``) showed the app-link stand-in with 200; only a link of this origin's pages gets it."""
    import urllib.error

    headers = {"Accept": "text/html,*/*", **({"Sec-Fetch-Site": fetch_site} if fetch_site else {})}
    request = urllib.request.Request(f"{stack.urls['http']}{path}", headers=headers)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    page = refused.value.read().decode()
    assert refused.value.code == 404 and refused.value.headers["Content-Type"].startswith("text/html")
    assert f"No page at <code>{path}</code>" in page and '<a href="/admin">/admin</a>' in page


# --- logs --------------------------------------------------------------------------------------


def _log_lines(stack: RunningStack, pattern: str, wait: float = 5.0) -> list[str]:
    """The output lines matching ``pattern``, waiting a little for at least one."""
    deadline = time.monotonic() + wait
    while True:
        found = [line for line in stack.output().splitlines() if re.search(pattern, line)]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_one_readable_log_line_per_request(stack: RunningStack) -> None:
    stack.http("GET", "/me/unread-count", issue_token("log1", SECRET))
    lines = _log_lines(stack, r"user=log1\b")
    assert len(lines) == 1
    assert re.fullmatch(rf"{LOG_TIME} INFO  GET /me/unread-count 200 [\d.]+ ms user=log1", lines[0])
    assert not _log_lines(stack, r'^127\.0\.0\.1 - - |^\{"time"', wait=0)


def test_lambda_invokes_and_their_errors_are_logged(stack: RunningStack) -> None:
    client = boto3.client("lambda", endpoint_url=stack.urls["lambda"], region_name="us-east-1")
    client.invoke(FunctionName="send", Payload=json.dumps({"channel": "general", "receivers": ["lg1"], "title": "logged"}))
    client.invoke(FunctionName="inapp-dev-send", Payload=json.dumps({"channel": "general", "receivers": ["lg1"]}))
    assert _log_lines(stack, rf"^{LOG_TIME} INFO  inapp\.local\.lambda: invoke send status=200 duration_ms=")
    assert _log_lines(
        stack,
        rf"^{LOG_TIME} WARNING inapp\.local\.lambda: invoke inapp-dev-send failed: ValidationError: title: is required "
        r"status=200",
    )


def test_websocket_connect_and_disconnect_are_logged_with_the_user_and_a_refusal_without(stack: RunningStack) -> None:
    """A refused token's ``sub`` is unverified: it names no one in the logs."""
    with stack.socket(issue_token("wl1", SECRET)) as socket:
        socket.send(json.dumps({"action": "ping"}))
        frames(socket, 1)
    with pytest.raises(InvalidStatus, match="HTTP 401"), stack.socket(issue_token("wl2", SECRET, lifetime_seconds=-60)):
        pass
    assert _log_lines(stack, rf"^{LOG_TIME} INFO  inapp\.local\.gateway: websocket connected \S+ user=wl1$")
    assert _log_lines(stack, rf"^{LOG_TIME} INFO  inapp\.local\.gateway: websocket disconnected \S+: 1000 .* user=wl1$")
    assert _log_lines(stack, rf"^{LOG_TIME} INFO  inapp\.local\.gateway: websocket refused 401: token: the token has expired$")
    assert not _log_lines(stack, r"connected .*user_id|\bwl2\b", wait=0)  # not inside a random connection id


def test_json_logs_on_request() -> None:
    running = RunningStack(SECRET, {"INAPP_LOG_FORMAT": "json"})
    try:
        running.http("GET", "/me/unread-count", issue_token("js1", SECRET))
        time.sleep(0.2)
    finally:
        running.stop()
    (line,) = [line for line in running.output().splitlines() if '"js1"' in line]
    entry = json.loads(line)
    assert (entry["method"], entry["path"], entry["status"], entry["user_id"]) == ("GET", "/me/unread-count", 200, "js1")


@pytest.mark.parametrize("header", [{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}])
def test_the_lambda_endpoint_refuses_requests_from_web_pages(stack: RunningStack, header: dict[str, str]) -> None:
    """A page the developer visits could otherwise send messages through the local `send` with a plain form POST."""
    import urllib.error

    body = json.dumps({"channel": "general", "receivers": ["victim"], "title": "from a web page"}).encode()
    request = urllib.request.Request(
        f"{stack.urls['lambda']}/2015-03-31/functions/send/invocations",
        data=body,
        headers={"Content-Type": "text/plain", **header},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError, match="403") as refused:
        urllib.request.urlopen(request, timeout=10)
    assert json.loads(refused.value.read())["message"].startswith("Invocations from web pages are refused")
    assert stack.http("GET", "/me/unread-count", issue_token("victim", SECRET), None) == (
        200,
        {"total": 0, "unseen": 0, "channels": {}},
    )


def test_an_eventbridge_event_delivered_twice_asynchronously_stores_one_message() -> None:
    """Lambda's queue delivers an asynchronous invocation at least once: the event's id keys the send."""
    running = RunningStack(SECRET, {"INAPP_FAULTS": "duplicate=1"})
    try:
        admin = issue_token("admin", SECRET, admin=True)
        assert running.http("POST", "/channels", admin, {"name": "ops", "title": "Ops"})[0] == 201
        client = boto3.client("lambda", endpoint_url=running.urls["lambda"], region_name="us-east-1")
        detail = {"channel": "ops", "receivers": ["twice"], "title": "deployed"}
        event = {"version": "0", "id": "3f2c1e2a-evt", "detail-type": "Deployed", "source": "ci", "detail": detail}
        response = client.invoke(FunctionName="send", InvocationType="Event", Payload=json.dumps(event))
        assert response["StatusCode"] == 202
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not running.http("GET", "/me/messages", issue_token("twice", SECRET))[1]["items"]:
            time.sleep(0.1)
        time.sleep(1.0)  # the second run has stored (or replayed) by now
        _, page = running.http("GET", "/me/messages", issue_token("twice", SECRET))
        assert [m["title"] for m in page["items"]] == ["deployed"]
    finally:
        running.stop()
    assert re.search(r"faults injected: .*duplicate=1\b", running.output())


def test_one_users_records_from_split_shards_count_exactly() -> None:
    """Every rollover splits the stream's shard (split=1): a user's records come from two shards, each its own batches."""
    running = RunningStack(SECRET, {"INAPP_FAULTS": "split=1,rollover=100,seed=5"})
    hot = issue_token("hot", SECRET)
    try:
        admin = issue_token("admin", SECRET, admin=True)
        assert running.http("POST", "/channels", admin, {"name": "ops", "title": "Ops"})[0] == 201
        for n in range(120):
            body = {"channel": "ops", "receivers": ["hot", "cold"], "title": f"n{n}"}
            assert running.http("POST", "/messages", admin, body)[0] == 202
        assert running.http("POST", "/me/messages/read", hot, {})[0] == 200
        expected = {"total": 0, "unseen": 0, "channels": {}}  # reading sees too
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and running.http("GET", "/me/unread-count", hot)[1] != expected:
            time.sleep(0.2)
        assert running.http("GET", "/me/unread-count", hot)[1] == expected
        (ops,) = running.http("GET", "/me/channels", hot)[1]["items"]
        assert (ops["total"], ops["unread"]) == (120, 0)
    finally:
        running.stop()
    assert re.search(r"faults injected: .*split=[1-9]", running.output())
