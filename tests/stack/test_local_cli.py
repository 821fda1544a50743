"""``python -m infra.local`` as a newcomer meets it: one-line failures, a state file, help without markup."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from chalicelib.core.auth import issue_token
from infra.local.moto.server import free_port
from infra.local.running import RunningStack, client_env
from infra.local.state import StackState
from tests.e2e import ROOT


def _cli(*args: str, env: dict[str, str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infra.local", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def no_stack(tmp_path: Path) -> dict[str, str]:
    """An environment where nothing listens on the stack's ports and no state file exists."""
    env = client_env(tmp_path / "state.json")
    env.update(INAPP_HTTP_PORT=str(free_port()), INAPP_WS_PORT=str(free_port()))
    return env


def test_send_without_a_running_stack_says_so_in_one_line(no_stack: dict[str, str]) -> None:
    result = _cli("send", "--channel", "deploys", "--to", "alice", "--title", "Hi", env=no_stack)
    port = no_stack["INAPP_HTTP_PORT"]
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"error: cannot reach http://127.0.0.1:{port} — is `make run` running?\n"


def test_tail_without_a_running_stack_says_so_in_one_line(no_stack: dict[str, str]) -> None:
    result = _cli("tail", "--user", "alice", env=no_stack)
    port = no_stack["INAPP_WS_PORT"]
    assert result.returncode == 1
    assert result.stderr == f"error: cannot reach ws://127.0.0.1:{port}/ — is `make run` running?\n"


class _NotTheStack(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = b"<html>not found</html>"
        self.send_response(404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return


def test_send_to_another_program_on_the_port_says_so(no_stack: dict[str, str]) -> None:
    server = HTTPServer(("127.0.0.1", 0), _NotTheStack)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    no_stack["INAPP_HTTP_PORT"] = str(server.server_address[1])
    try:
        result = _cli("send", "--channel", "deploys", "--to", "alice", "--title", "Hi", env=no_stack)
    finally:
        server.shutdown()
    assert result.returncode == 1
    expected = f"error: http://127.0.0.1:{server.server_address[1]} answered 404, but not as the local stack does"
    assert result.stderr == f"{expected} — another program?\n"


def test_tail_to_another_program_on_the_port_says_so(no_stack: dict[str, str]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        no_stack["INAPP_WS_PORT"] = str(listener.getsockname()[1])
        closer = threading.Thread(target=lambda: listener.accept()[0].close(), daemon=True)  # answers nothing, hangs up
        closer.start()
        result = _cli("tail", "--user", "alice", env=no_stack)
    expected = f"error: ws://127.0.0.1:{no_stack['INAPP_WS_PORT']}/ did not answer as the local stack does — another program?"
    assert (result.returncode, result.stderr) == (1, expected + "\n")


def test_status_without_a_state_file_says_the_stack_is_not_running(no_stack: dict[str, str]) -> None:
    result = _cli("status", env=no_stack)
    assert result.returncode == 1
    assert result.stdout == f"The local stack is not running (no {no_stack['INAPP_STATE_FILE']}). Start it with `make run`.\n"


def test_status_with_a_left_over_state_file_says_the_stack_is_not_running(no_stack: dict[str, str]) -> None:
    dead = f"http://127.0.0.1:{no_stack['INAPP_HTTP_PORT']}"
    state = StackState(1, dead, "ws://x/", "http://x/api", "http://x", "http://x", True, {"admin": "t", "alice": "t"})
    Path(no_stack["INAPP_STATE_FILE"]).write_text(json.dumps(state.__dict__))
    result = _cli("status", env=no_stack)
    assert result.returncode == 1
    assert result.stdout.startswith(f"The local stack is not running: {dead} does not answer (")
    assert "left over from process 1" in result.stdout


@pytest.mark.parametrize("command", [[], ["serve"], ["status"], ["token"], ["send"], ["event"], ["tail"]])
def test_help_is_plain_text(command: list[str], no_stack: dict[str, str]) -> None:
    result = _cli(*command, "--help", env=no_stack)
    assert result.returncode == 0
    assert "``" not in result.stdout and "usage: python -m infra.local" in result.stdout


def test_status_send_and_tail_find_the_running_stack_through_its_state_file(stack: RunningStack) -> None:
    env = {**client_env(stack.state_file), "INAPP_JWT_SECRET": stack.secret}  # no port variables at all
    status = _cli("status", env=env)
    assert status.returncode == 0
    assert f"  HTTP API        {stack.urls['http']}" in status.stdout.splitlines()
    tail = subprocess.Popen(
        [sys.executable, "-m", "infra.local", "tail", "--user", "sf1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert tail.stderr is not None and tail.stderr.readline().startswith("connected as sf1")
        sent = _cli("send", "--channel", "deploys", "--to", "sf1", "--title", "v{{v}}", "--data", "v=3", env=env)
        assert sent.returncode == 0, sent.stderr
        assert tail.stdout is not None
        frame = json.loads(tail.stdout.readline())
    finally:
        tail.terminate()
        tail.wait(timeout=10)
    assert frame["type"] == "message.created"
    assert (frame["message"]["id"], frame["message"]["title"]) == (json.loads(sent.stdout)["id"], "v3")


def test_make_tail_with_an_empty_user_says_the_user_is_missing_not_the_secret(stack: RunningStack) -> None:
    """``make tail USER=`` connected as the empty user, was refused (401) and blamed INAPP_JWT_SECRET."""
    env = {**client_env(stack.state_file), "INAPP_JWT_SECRET": stack.secret, "MAKEFLAGS": f"PY={sys.executable}"}
    result = subprocess.run(["make", "tail", "USER="], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "error: --user: the user is missing (empty); name one, e.g. `make tail USER=bob`\n" in result.stderr
    assert "INAPP_JWT_SECRET" not in result.stderr
    token = _cli("token", "", env=env)
    assert (token.returncode, token.stdout) == (1, "")
    assert token.stderr == "error: user: the user is missing (empty); name one, e.g. `make token USER=carol`\n"


@pytest.mark.parametrize(("preset", "word"), [("pipeline", "release-web"), ("health", "EC2")])
def test_event_replays_a_presets_sample_into_a_channel_once_however_often(stack: RunningStack, preset: str, word: str) -> None:
    """`make event`: the sample AWS event as its rule hands it to `send`; EventBridge may deliver it twice."""
    env = {**client_env(stack.state_file), "INAPP_JWT_SECRET": stack.secret}
    user = f"ev-{preset}"
    first = _cli("event", "--preset", preset, "--channel", f"ops-{preset}", "--subscribe", user, env=env)
    again = _cli("event", "--preset", preset, "--channel", f"ops-{preset}", env=env)
    assert (first.returncode, again.returncode) == (0, 0), first.stderr + again.stderr
    assert json.loads(again.stdout)["id"] == json.loads(first.stdout)["id"]  # keyed by the event's id: stored once
    token = issue_token(user, stack.secret)
    deadline = time.monotonic() + 20
    while not (listed := stack.http("GET", "/me/messages", token, None)[1]["items"]) and time.monotonic() < deadline:
        time.sleep(0.1)  # the audience send's fan-out, then the stream
    assert len(listed) == 1 and word in listed[0]["title"] and listed[0]["severity"] == "high"


def test_send_with_another_secret_than_the_stack_says_what_to_do(stack: RunningStack) -> None:
    env = {**client_env(stack.state_file), "INAPP_JWT_SECRET": "not-the-stacks-secret-0123456789abcdef"}
    result = _cli("send", "--channel", "deploys", "--to", "x", "--title", "Hi", env=env)
    assert result.returncode == 1
    assert result.stderr.startswith("error: 401 UnauthorizedError: ")
    assert result.stderr.endswith(" — start this command and the stack with the same INAPP_JWT_SECRET\n")


def test_recount_and_forget_user_work_on_the_running_stack(stack: RunningStack) -> None:
    env = {**client_env(stack.state_file), "INAPP_JWT_SECRET": stack.secret}
    assert _cli("send", "--channel", "deploys", "--to", "rc1", "--title", "t", env=env).returncode == 0
    token = issue_token("rc1", stack.secret)
    deadline = time.monotonic() + 10
    while stack.http("GET", "/me/unread-count", token, None)[1]["total"] != 1 and time.monotonic() < deadline:
        time.sleep(0.05)  # a recount runs once the stream has caught up (docs/operations.md)
    recounted = _cli("recount", "--user", "rc1", env=env)
    assert (recounted.returncode, recounted.stdout) == (0, "recounted rc1: 0 counter(s) corrected\n"), recounted.stderr
    forgot = _cli("forget-user", "--user", "rc1", env=env)
    assert (forgot.returncode, forgot.stdout) == (0, "forgot rc1: 1 messages, 0 connections\n"), forgot.stderr


def test_repairs_without_tables_or_a_stack_say_so_in_one_line(no_stack: dict[str, str]) -> None:
    result = _cli("recount", "--user", "u", env=no_stack)
    assert result.returncode == 1
    assert result.stderr == "error: no tables named (INAPP_INBOX_TABLE…) and no local stack answers — is `make run` running?\n"
