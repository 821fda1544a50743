"""``make smoke``: a short black-box check — send over HTTP, frame on a WebSocket, read, counts.

Only the public contract is used (HTTP, WebSocket, tokens), so the same
steps run against the local stack (the default: ``python -m infra.local
serve`` on ephemeral ports, started and stopped here) or a deployed stack
given ``INAPP_HTTP_URL``, ``INAPP_WS_URL``, ``INAPP_ADMIN_TOKEN`` and
``INAPP_USER_TOKEN``. Each step prints its latency; any miss exits 1.
Dev-only: nothing in chalicelib imports it.

Usage: ``python -m infra.checks.smoke``.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from inapp_client import InappClient, InappError
from websockets.sync.client import ClientConnection, connect

from infra.checks.target import SmokeError, Target, json_call, local_stack, target_from_env

CHANNEL = "smoke"
FRAME_TIMEOUT_SECONDS = 15.0
T = TypeVar("T")


# --- the steps -----------------------------------------------------------------------------------


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
    user = target.user_token
    sender = InappClient(target.http_url, target.admin_token)  # the admin's calls, as a sender makes them
    steps.run("GET /health", lambda: expect(*http(target, "GET", "/health"), 200))
    steps.run("POST /channels (smoke)", lambda: _channel_exists(sender))
    before = steps.run("GET /me/unread-count", lambda: expect(*http(target, "GET", "/me/unread-count", user), 200))
    with steps.run("WebSocket connect", lambda: connect(f"{target.ws_url}?token={user}", open_timeout=10)) as socket:
        title = f"smoke {uuid.uuid4().hex[:8]}"
        sent = steps.run("POST /messages", lambda: _sent(sender, target, title))
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


def _channel_exists(sender: InappClient) -> None:
    try:
        sender.create_channel(CHANNEL, "Smoke")
    except InappError as error:
        if error.status != 409:  # there from an earlier run
            raise SmokeError(str(error)) from error


def _sent(sender: InappClient, target: Target, title: str) -> dict[str, Any]:
    """A send through the client: with its Idempotency-Key, retried (once stored) on a 429, a 5xx or no answer."""
    try:
        return sender.send(CHANNEL, receivers=[target.user_id], title=title)
    except InappError as error:
        raise SmokeError(str(error)) from error


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
