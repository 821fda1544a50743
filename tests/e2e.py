"""Helpers for end-to-end tests against a real local stack in a subprocess."""

from __future__ import annotations

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
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parent.parent
URL_LINES = {
    "http": r"HTTP API\s+(\S+)",
    "ws": r"WebSocket\s+(\S+)\?token",
    "management": r"Management API\s+(\S+)",
    "lambda": r"Lambda Invoke\s+(\S+)",
    "dynamodb": r"DynamoDB\s+(\S+)",
}


class RunningStack:
    """``python -m infra.local serve`` on ephemeral ports, output in a file."""

    def __init__(self, secret: str, extra_env: dict[str, str] | None = None) -> None:
        self.secret = secret
        self.log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)  # noqa: SIM115 (lives with the stack)
        env = {
            **os.environ,
            "INAPP_HTTP_PORT": "0",
            "INAPP_WS_PORT": "0",
            "INAPP_LAMBDA_PORT": "0",
            "INAPP_JWT_SECRET": secret,
            **(extra_env or {}),
        }
        for name in ("INAPP_DYNAMODB_ENDPOINT", "INAPP_WS_ENDPOINT", "INAPP_JWKS_URL"):
            env.pop(name, None)
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "infra.local", "serve"], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        self.urls = self._wait_ready(timeout=60)
        self.ready_after = time.monotonic() - self.started

    def output(self) -> str:
        return Path(self.log.name).read_text()

    def _wait_ready(self, timeout: float) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.output()
            if re.search(r"^ready$", text, re.M):
                return {key: re.search(pattern, text).group(1) for key, pattern in URL_LINES.items()}  # type: ignore[union-attr]
            if self.process.poll() is not None:
                raise RuntimeError(f"stack exited early:\n{text}")
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"stack not ready in {timeout}s:\n{self.output()}")

    def stop(self) -> float:
        """SIGTERM, and how long the stack took to exit."""
        started = time.monotonic()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return time.monotonic() - started

    # --- clients ---------------------------------------------------------------

    def http(
        self, method: str, path: str, token: str | None = None, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        sent = {"Content-Type": "application/json", **(headers or {})}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.urls["http"] + path, data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            raw = error.read()
            return error.code, json.loads(raw) if raw else None

    def socket(self, token: str) -> ClientConnection:
        return connect(f"{self.urls['ws']}?token={token}", open_timeout=10)


def frames(socket: ClientConnection, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Exactly the next ``count`` frames (fails on a timeout)."""
    received: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(received) < count:
        received.append(json.loads(socket.recv(timeout=max(0.01, deadline - time.monotonic()))))
    return received


def no_frame(socket: ClientConnection, wait: float = 1.0) -> bool:
    try:
        socket.recv(timeout=wait)
    except TimeoutError:
        return True
    return False
