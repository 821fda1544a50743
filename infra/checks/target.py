"""The stack a check talks to: the local one (started here on ephemeral ports) or a deployed one, and JSON calls to it.

`make smoke`, `make chaos` and `make fuzz` use only the public contract
(HTTP, WebSocket, tokens), so each runs against either.
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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


READY_TIMEOUT_SECONDS = 90.0


class SmokeError(Exception):
    """A step did not see what the contract promises."""


@dataclass(frozen=True)
class Target:
    http_url: str  # ends without a slash: paths are appended
    ws_url: str
    admin_token: str
    user_token: str
    lambda_url: str | None = None  # the local stack's Lambda Invoke endpoint (a deployed `send` is invoked by ARN)
    dynamodb_url: str | None = None  # the local stack's DynamoDB (the abuse run seeds messages there)

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
    """The URLs (the Lambda Invoke endpoint's too) and tokens ``infra.local serve`` prints before ``ready``."""

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
        find(r"^\s+Lambda Invoke\s+(\S+)"),
        find(r"^\s+DynamoDB\s+(\S+)"),
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
