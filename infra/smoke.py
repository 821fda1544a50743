"""``make smoke``: a short black-box check — send over HTTP, frame on a WebSocket, read, counts.

Only the public contract is used (HTTP, WebSocket, tokens), so the same
steps run against the local stack (the default: ``python -m infra.local
serve`` on ephemeral ports, started and stopped here) or a deployed stack
given ``INAPP_HTTP_URL``, ``INAPP_WS_URL``, ``INAPP_ADMIN_TOKEN`` and
``INAPP_USER_TOKEN``. Each step prints its latency; any miss exits 1.
Dev-only: nothing in chalicelib imports it.

Usage: ``python -m infra.smoke``.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from websockets.sync.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parent.parent
CHANNEL = "smoke"
FRAME_TIMEOUT_SECONDS = 15.0
READY_TIMEOUT_SECONDS = 90.0
T = TypeVar("T")


class SmokeError(Exception):
    """A step did not see what the contract promises."""


@dataclass(frozen=True)
class Target:
    http_url: str  # ends without a slash: paths are appended
    ws_url: str
    admin_token: str
    user_token: str

    @property
    def user_id(self) -> str:
        """The token's ``sub``, read without verifying (the server verifies)."""
        payload = self.user_token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return str(claims["sub"])


def target_from_env() -> Target | None:
    names = ("INAPP_HTTP_URL", "INAPP_WS_URL", "INAPP_ADMIN_TOKEN", "INAPP_USER_TOKEN")
    values = [os.environ.get(name, "").strip() for name in names]
    if not any(values):
        return None
    missing = [name for name, value in zip(names, values, strict=True) if not value]
    if missing:
        raise SmokeError(f"a deployed stack needs {', '.join(missing)} too")
    return Target(values[0].rstrip("/"), values[1], values[2], values[3])


def target_from_banner(banner: str) -> Target:
    """The URLs and tokens ``infra.local serve`` prints before ``ready``."""

    def find(pattern: str) -> str:
        match = re.search(pattern, banner, re.M)
        if match is None:
            raise SmokeError(f"the local stack printed no line matching {pattern!r}")
        return match.group(1)

    return Target(
        find(r"^\s+HTTP API\s+(\S+)$"),
        find(r"^\s+WebSocket\s+(\S+)\?token"),
        find(r"^\s+export ADMIN=(eyJ\S+)$"),
        find(r"^\s+export ALICE=(eyJ\S+)$"),
    )


@contextmanager
def local_stack(extra_env: dict[str, str] | None = None, output: list[str] | None = None) -> Iterator[Target]:
    """``python -m infra.local serve`` on ephemeral ports until its ``ready`` line; SIGTERM after.

    ``extra_env`` reaches the stack (``INAPP_FAULTS`` for the chaos run); ``output`` receives
    everything the stack printed, once it has stopped.
    """
    env = {**os.environ, "INAPP_HTTP_PORT": "0", "INAPP_WS_PORT": "0", "INAPP_LAMBDA_PORT": "0", **(extra_env or {})}
    for name in ("INAPP_DYNAMODB_ENDPOINT", "INAPP_WS_ENDPOINT", "INAPP_JWKS_URL"):
        env.pop(name, None)
    with tempfile.TemporaryDirectory() as scratch, tempfile.TemporaryFile("w+") as log:
        env["INAPP_STATE_FILE"] = os.path.join(scratch, "state.json")  # never the developer's own stack's file
        process = subprocess.Popen([sys.executable, "-m", "infra.local", "serve"], cwd=ROOT, env=env, stdout=log, stderr=log)
        try:
            yield target_from_banner(_wait_ready(process, log))
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if output is not None:
                log.seek(0)
                output.append(str(log.read()))


def _wait_ready(process: subprocess.Popen[bytes], log: Any) -> str:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        log.seek(0)
        text = str(log.read())
        if re.search(r"^ready$", text, re.M):
            return text
        if process.poll() is not None:
            raise SmokeError(f"the local stack exited early:\n{text}")
        time.sleep(0.1)
    raise SmokeError(f"the local stack printed no 'ready' within {READY_TIMEOUT_SECONDS:.0f} s")


# --- the steps -----------------------------------------------------------------------------------


def json_call(
    url: str, method: str, token: str | None = None, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    """One JSON request with a bearer token: ``(status, decoded body or None)``, errors included."""
    sent = {"Content-Type": "application/json", **(headers or {})}
    if token:
        sent["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, json.loads(raw) if raw else None


def http(target: Target, method: str, path: str, token: str | None = None, body: Any = None) -> tuple[int, Any]:
    return json_call(target.http_url + path, method, token, body)


def expect(status: int, body: Any, *wanted: int) -> Any:
    if status not in wanted:
        raise SmokeError(f"HTTP {status} (wanted {'/'.join(map(str, wanted))}): {body}")
    return body


def wait_for_frame(socket: ClientConnection, kind: str, message_id: str) -> dict[str, Any]:
    """The next frame of ``kind`` about ``message_id``; others (older messages) are skipped."""
    deadline = time.monotonic() + FRAME_TIMEOUT_SECONDS
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise SmokeError(f"no {kind} frame for {message_id} within {FRAME_TIMEOUT_SECONDS:.0f} s")
        try:
            frame: dict[str, Any] = json.loads(socket.recv(timeout=remaining))
        except TimeoutError:
            continue
        if frame.get("type") == kind and (frame.get("message") or {}).get("id") == message_id:
            return frame


class Steps:
    """Runs named steps in order, printing each with its latency; the first miss stops the run."""

    def __init__(self, out: Callable[[str], None] = print) -> None:
        self._out = out

    def run(self, name: str, step: Callable[[], T]) -> T:
        started = time.perf_counter()
        try:
            result = step()
        except (SmokeError, OSError) as error:
            self._out(f"  FAIL {name:<28} {(time.perf_counter() - started) * 1000:7.0f} ms  {error}")
            raise SmokeError(name) from error
        self._out(f"  ok   {name:<28} {(time.perf_counter() - started) * 1000:7.0f} ms")
        return result


def check(target: Target, steps: Steps) -> None:
    """Send → frame → read → counts, as one user of the contract would see it."""
    admin, user = target.admin_token, target.user_token
    steps.run("GET /health", lambda: expect(*http(target, "GET", "/health"), 200))
    steps.run(
        "POST /channels (smoke)",
        lambda: expect(*http(target, "POST", "/channels", admin, {"name": CHANNEL, "title": "Smoke"}), 201, 409),
    )
    before = steps.run("GET /me/unread-count", lambda: expect(*http(target, "GET", "/me/unread-count", user), 200))
    with steps.run("WebSocket connect", lambda: connect(f"{target.ws_url}?token={user}", open_timeout=10)) as socket:
        title = f"smoke {uuid.uuid4().hex[:8]}"
        body = {"channel": CHANNEL, "receivers": [target.user_id], "title": title}
        sent = steps.run("POST /messages", lambda: expect(*http(target, "POST", "/messages", admin, body), 202))
        steps.run("frame message.created", lambda: wait_for_frame(socket, "message.created", sent["id"]))
        sent_counts = steps.run("GET /me/unread-count", lambda: expect(*http(target, "GET", "/me/unread-count", user), 200))
        steps.run("counts one more unread", lambda: _unread_moved(before, sent_counts, 1))
        read = {"status": "read"}
        steps.run(
            "PATCH /me/messages/{id} read", lambda: expect(*http(target, "PATCH", f"/me/messages/{sent['id']}", user, read), 200)
        )
        steps.run("frame message.updated", lambda: wait_for_frame(socket, "message.updated", sent["id"]))
    after = steps.run("GET /me/unread-count", lambda: expect(*http(target, "GET", "/me/unread-count", user), 200))
    steps.run("counts back once read", lambda: _unread_moved(before, after, 0))
    steps.run("GET /me/messages/{id}", lambda: _is_read(*http(target, "GET", f"/me/messages/{sent['id']}", user)))


def _unread_moved(before: dict[str, Any], after: dict[str, Any], by: int) -> None:
    if after["total"] != before["total"] + by:
        raise SmokeError(f"unread total {before['total']} → {after['total']}, wanted {before['total'] + by}")


def _is_read(status: int, message: Any) -> None:
    expect(status, message, 200)
    if message["status"] != "read" or not message["readAt"]:
        raise SmokeError(f"message not read: {message}")


def main() -> int:
    try:
        deployed = target_from_env()
        if deployed is not None:
            print(f"smoke check against {deployed.http_url}")
            check(deployed, Steps())
        else:
            print("smoke check against the local stack (python -m infra.local serve)")
            with local_stack() as local:
                check(local, Steps())
    except SmokeError as failure:
        print(f"smoke check failed: {failure.__cause__ or failure}", file=sys.stderr)
        return 1
    print("smoke check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
