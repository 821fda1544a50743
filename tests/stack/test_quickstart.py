"""The README's quick start, run against a real stack.

Terminal 1's ``make run`` is the session's ``python -m infra.local serve`` (the
command it runs) on ephemeral ports; terminal 2's commands run through bash
and ``make`` exactly as written, and their outputs are checked against the
ones the document shows. The browser part is in tests/browser/inbox/test_inbox_page.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import jwt
import pytest

from infra.local.moto.server import free_port
from infra.local.running import RunningStack, client_env
from tests.e2e import ROOT, frames

QUICKSTART = ROOT / "README.md"
SEND = "make send"
STATUS = "make status"
TAIL = "make tail USER=bob"
TOKEN = "make token USER=carol"
ADMIN_TOKEN = "make token USER=dana ADMIN=1"
SEND_TO_CAROL = 'make send TO=carol TITLE="Hello carol" URL=https://example.com/'
CURL = 'curl -s "$API/me/unread-count" -H "Authorization: Bearer $ALICE"'
ID = r"[0-9A-Z]{26}"


def _blocks(kind: str) -> list[str]:
    return re.findall(rf"^```{kind}\n(.*?)^```$", QUICKSTART.read_text(encoding="utf-8"), re.M | re.S)


def _normalized(text: str) -> str:
    """A banner with its ports, tokens and state file path made comparable."""
    text = re.sub(r"127\.0\.0\.1:(\d+|PORT)", "127.0.0.1:N", text)
    text = re.sub(r"eyJ\S+", "eyJ…", text)
    return re.sub(r"\(from \S+\)", "(from FILE)", text)


@pytest.fixture
def terminal_2(stack: RunningStack) -> dict[str, str]:
    """A second terminal's environment: no port variables, the stack's secret, and make using this venv."""
    return {**client_env(stack.state_file), "INAPP_JWT_SECRET": stack.secret, "MAKEFLAGS": f"PY={sys.executable}"}


def _run(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_the_commands_run_here_are_the_documented_ones() -> None:
    documented = [line.split("#")[0].strip() for block in _blocks("sh") for line in block.splitlines()]
    assert documented == ["make run", SEND, STATUS, TAIL, TOKEN, ADMIN_TOKEN, SEND_TO_CAROL, CURL]


def test_make_run_prints_the_documented_banner(stack: RunningStack) -> None:
    shown = _blocks("text")[0]
    printed = stack.output()
    start = printed.index("In-app messages — local stack")
    assert _normalized(printed[start : printed.index("\nready\n", start) + 7]) == _normalized(shown)


def test_make_send_sends_the_example_to_alice_and_bob(terminal_2: dict[str, str]) -> None:
    result = _run(SEND, terminal_2)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(rf'\{{"id": "{ID}", "channel": "deploys", "receivers": 2\}}\n', result.stdout)
    assert re.fullmatch(r'\{"id": "01JD…", "channel": "deploys", "receivers": 2\}\n', _blocks("text")[1])


def test_make_status_says_where_the_stack_is(stack: RunningStack, terminal_2: dict[str, str]) -> None:
    result = _run(STATUS, terminal_2)
    assert result.returncode == 0
    assert result.stdout.splitlines()[:3] == [
        f"The local stack is running (process {stack.process.pid}).",
        "In-app messages — local stack",
        f"  HTTP API        {stack.urls['http']}",
    ]


def test_make_tail_prints_bobs_frames(terminal_2: dict[str, str]) -> None:
    tail = subprocess.Popen(
        ["bash", "-c", TAIL], cwd=ROOT, env=terminal_2, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert tail.stderr is not None and tail.stderr.readline() == "connected as bob; waiting for frames (Ctrl-C to stop)\n"
        sent = json.loads(_run(SEND, terminal_2).stdout)
        assert tail.stdout is not None
        frame = json.loads(tail.stdout.readline())
    finally:
        tail.terminate()
        tail.wait(timeout=10)
    assert (frame["type"], frame["message"]["id"], frame["message"]["title"]) == (
        "message.created",
        sent["id"],
        "Deployed 2.14.0",
    )
    assert frame["message"]["url"] == "/releases/2.14.0"


def test_make_token_and_a_send_to_carol(stack: RunningStack, terminal_2: dict[str, str]) -> None:
    token = _run(TOKEN, terminal_2).stdout.strip()
    assert jwt.decode(token, stack.secret, algorithms=["HS256"])["sub"] == "carol"
    with stack.socket(token) as socket:
        sent = _run(SEND_TO_CAROL, terminal_2)
        assert re.fullmatch(rf'\{{"id": "{ID}", "channel": "deploys", "receivers": 1\}}\n', sent.stdout), sent.stderr
        (frame,) = frames(socket, 1)
    assert (frame["message"]["title"], frame["message"]["url"]) == ("Hello carol", "https://example.com/")


def test_make_token_admin_1_prints_a_token_the_admin_routes_accept(stack: RunningStack, terminal_2: dict[str, str]) -> None:
    """The pages' sign-in hints name this command: it must work as typed (the admin console needs such a token)."""
    admin = _run(ADMIN_TOKEN, terminal_2)
    assert admin.returncode == 0, admin.stderr
    status, page = stack.http("GET", "/channels?limit=1", admin.stdout.strip())
    assert status == 200, page
    plain = _run(TOKEN, {**terminal_2, "ADMIN": "eyJ-an-exported-token"}).stdout.strip()  # the README's curl exports
    assert stack.http("GET", "/channels?limit=1", plain)[0] == 403


def test_curl_with_the_pasted_exports_answers_alices_counts(stack: RunningStack, terminal_2: dict[str, str]) -> None:
    exports = "\n".join(line.strip() for line in stack.output().splitlines() if line.strip().startswith("export "))
    assert _run(SEND, terminal_2).returncode == 0
    result = _run(f"{exports}\n{CURL}", terminal_2)
    counts = json.loads(result.stdout)
    assert set(counts) == {"total", "unseen", "channels"} and counts["channels"]["deploys"] >= 1
    assert re.fullmatch(r'\{"total":\d+,"unseen":\d+,"channels":\{"deploys":\d+\}\}', result.stdout)
    assert _blocks("text")[2] == '{"total":1,"unseen":1,"channels":{"deploys":1}}\n'


def test_commands_say_in_one_line_when_the_stack_is_not_running(tmp_path: Path) -> None:
    port = str(free_port())  # not 8000: someone's `make run` may be using it
    env = {**client_env(tmp_path / "none.json"), "INAPP_HTTP_PORT": port, "MAKEFLAGS": f"PY={sys.executable}"}
    result = _run(SEND, env)
    assert result.returncode != 0
    assert result.stderr.splitlines()[0] == f"error: cannot reach http://127.0.0.1:{port} — is `make run` running?"
    assert "Traceback" not in result.stderr
