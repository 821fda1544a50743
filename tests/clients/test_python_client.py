"""The Python client for senders (clients/python, `inapp_client`): against the local stack, and its retries."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from chalicelib.core.auth import issue_token
from infra.local.running import RunningStack
from tests.conftest import SECRET

CLIENT = Path(__file__).resolve().parents[2] / "clients" / "python"
sys.path.insert(0, str(CLIENT))  # as `pip install ./clients/python` would (tested below)

from inapp_client import InappClient, InappError  # noqa: E402


@pytest.fixture
def client(stack: RunningStack) -> InappClient:
    return InappClient(stack.urls["http"], issue_token("sender", SECRET, admin=True))


def _inbox(stack: RunningStack, user: str) -> list[dict[str, Any]]:
    status, page = stack.http("GET", "/me/messages", issue_token(user, SECRET))
    assert status == 200
    return list(page["items"])


def test_a_sender_makes_a_channel_subscribes_sends_and_reads_the_log(stack: RunningStack, client: InappClient) -> None:
    channel = client.create_channel("pyclient", "Python client", description="sent by inapp_client")
    assert (channel["name"], channel["title"]) == ("pyclient", "Python client")
    assert client.subscribe("pyclient", add=["py-a", "py-b"]) == {"added": 2, "removed": 0}
    assert client.subscribe("pyclient", add=["py-a"], remove=["py-b"]) == {"added": 0, "removed": 1}
    sent = client.send("pyclient", receivers=["py-r"], title="Build {{build}}", content="is live", data={"build": 42})
    assert sent["receivers"] == 1
    assert client.send_log(sent["id"])["status"] == "done"
    (message,) = _inbox(stack, "py-r")
    assert (message["id"], message["title"], message["content"]) == (sent["id"], "Build 42", "is live")
    queued = client.send("pyclient", audience="subscribers", title="To subscribers", severity="high")
    assert queued["status"] == "queued"
    deadline = time.monotonic() + 30
    while client.send_log(queued["id"])["status"] != "done":
        assert time.monotonic() < deadline, "the audience send did not finish"
        time.sleep(0.2)
    assert [m["title"] for m in _inbox(stack, "py-a")] == ["To subscribers"]


def test_a_send_again_with_its_key_answers_the_first_send_and_stores_nothing_more(
    stack: RunningStack, client: InappClient
) -> None:
    first = client.send("general", receivers=["py-k"], title="Once", idempotency_key="py-key-1")
    again = client.send("general", receivers=["py-k"], title="Once", idempotency_key="py-key-1")
    assert again == first
    assert [m["id"] for m in _inbox(stack, "py-k")] == [first["id"]]


def test_refusals_raise_inapp_error_with_the_apis_status_code_and_message(client: InappClient) -> None:
    client.create_channel("py-twice", "Twice")
    with pytest.raises(InappError) as taken:
        client.create_channel("py-twice", "Twice")
    assert (taken.value.status, taken.value.code) == (409, "ConflictError")
    with pytest.raises(InappError) as unknown:
        client.send("py-nowhere", receivers=["u"], title="t")
    assert unknown.value.status == 404 and unknown.value.message.startswith("channel")
    with pytest.raises(InappError) as bad:
        client.send("general", receivers=["u"], title="")
    assert (bad.value.status, bad.value.code) == (400, "BadRequestError") and bad.value.message.startswith("title")
    with pytest.raises(InappError) as unauthorized:
        InappClient(client.base_url, issue_token("someone", SECRET)).send("general", receivers=["u"], title="t")
    assert unauthorized.value.status == 403


class _Script:
    """A stand-in for API Gateway that answers each request with the next scripted answer, and records the requests."""

    def __init__(self, answers: list[tuple[int, dict[str, str], str] | float]) -> None:
        self.answers = answers
        self.requests: list[tuple[str, str, dict[str, str], Any]] = []

    def handler(self) -> type[BaseHTTPRequestHandler]:
        script = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                script.requests.append((self.command, self.path, dict(self.headers), json.loads(body or b"null")))
                answer = script.answers.pop(0)
                if isinstance(answer, float):  # no answer within the client's timeout
                    time.sleep(answer)
                    answer = (202, {}, '{"id": "late"}')
                status, headers, text = answer
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text.encode())

            def do_GET(self) -> None:
                self.do_POST()

            def log_message(self, *args: Any) -> None:
                return

        return Handler


@pytest.fixture
def scripted() -> Iterator[tuple[_Script, str]]:
    script = _Script([])
    server = ThreadingHTTPServer(("127.0.0.1", 0), script.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield script, f"http://127.0.0.1:{server.server_address[1]}/api"
    server.shutdown()
    server.server_close()


BUSY = '{"Code": "ServiceUnavailableError", "Message": "storage: busy; retry"}'


def test_a_send_is_retried_on_429_5xx_and_timeouts_with_one_key_and_retry_after_honoured(
    scripted: tuple[_Script, str],
) -> None:
    script, url = scripted
    script.answers = [
        (429, {"Retry-After": "3"}, '{"Code": "TooManyRequestsError", "Message": "rate: slow down"}'),
        (503, {}, BUSY),
        1.0,  # the client gives up waiting after 0.3 s
        (409, {}, '{"Code": "ConflictError", "Message": "Idempotency-Key: a request with this key is still running"}'),
        (202, {}, '{"id": "m1", "channel": "c", "receivers": 1}'),
    ]
    waits: list[float] = []
    client = InappClient(url, "t", timeout=0.3, retries=4, backoff=0.1, sleep=waits.append)
    assert client.send("c", receivers=["u"], title="t") == {"id": "m1", "channel": "c", "receivers": 1}
    keys = {headers["Idempotency-Key"] for _, _, headers, _ in script.requests}
    assert len(script.requests) == 5 and len(keys) == 1 and keys.pop().startswith("inapp-client-")
    assert waits[0] == 3.0 and all(0.0 < w <= 0.8 for w in waits[1:]) and len(waits) == 4
    assert script.requests[0][3] == {"channel": "c", "title": "t", "receivers": ["u"]}


def test_a_channel_is_created_again_only_after_a_429_and_a_refusal_is_never_retried(scripted: tuple[_Script, str]) -> None:
    script, url = scripted
    script.answers = [(429, {"Retry-After": "1"}, "{}"), (503, {}, BUSY)]
    client = InappClient(url, "t", retries=4, sleep=lambda _: None)
    with pytest.raises(InappError) as busy:
        client.create_channel("c", "C")  # a 503 may have made it: not created again
    assert busy.value.status == 503 and len(script.requests) == 2
    script.answers = [(400, {}, '{"Code": "BadRequestError", "Message": "title: is required"}')]
    with pytest.raises(InappError, match="title: is required"):
        client.send("c", receivers=["u"], title="")
    assert len(script.requests) == 3
    script.answers = [(503, {}, BUSY)] * 3
    with pytest.raises(InappError) as spent:
        InappClient(url, "t", retries=2, sleep=lambda _: None).send_log("m1")
    assert spent.value.status == 503 and len(script.requests) == 6


def test_an_answer_not_in_the_apis_shape_says_so(scripted: tuple[_Script, str]) -> None:
    script, url = scripted
    script.answers = [(404, {}, "<html>not found</html>"), (404, {}, '{"Code": "NotFoundError", "Message": "id: no"}')]
    client = InappClient(url, "t", retries=0)
    with pytest.raises(InappError) as proxy:
        client.send_log("m1")
    assert (proxy.value.status, proxy.value.code, proxy.value.from_api) == (404, "Not Found", False)
    with pytest.raises(InappError) as api:
        client.send_log("m1")
    assert (api.value.code, api.value.message, api.value.from_api) == ("NotFoundError", "id: no", True)
    script.answers = []
    with pytest.raises(InappError) as unanswered:
        InappClient("http://127.0.0.1:9/api", "t", retries=0).send_log("m1")  # the discard port: refused
    assert (unanswered.value.status, unanswered.value.from_api) == (0, False)


def test_the_package_installs_with_pip_and_needs_nothing_else(tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", str(target), str(CLIENT)],
        check=True,
        capture_output=True,
    )
    probe = "import inapp_client, sys; print(inapp_client.__file__); print(sorted(m for m in sys.modules if '.' not in m))"
    shown = subprocess.run([sys.executable, "-S", "-c", probe], env={"PYTHONPATH": str(target)}, capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    where, modules = shown.stdout.splitlines()
    assert where.startswith(str(target))
    assert not {"urllib3", "requests", "boto3", "botocore"} & set(ast.literal_eval(modules))  # the standard library only
