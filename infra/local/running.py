"""`RunningStack`: ``python -m infra.local serve`` in a subprocess, for the benchmarks and the stack tests.

It starts the stack on ephemeral ports with a state file of its own, reads
the URLs it prints, and stops it (SIGINT, then SIGKILL) when done.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

from infra.checks.target import json_call
from infra.local.state import ROOT

URL_LINES = {
    "http": r"HTTP API\s+(\S+)",
    "ws": r"WebSocket\s+(\S+)\?token",
    "management": r"Management API\s+(\S+)",
    "lambda": r"Lambda Invoke\s+(\S+)",
    "dynamodb": r"DynamoDB\s+(\S+)",
}


class RunningStack:
    """``python -m infra.local serve`` on ephemeral ports, output in a file, state file of its own.

    ``own_group`` starts it as a terminal would (the leader of its own process
    group), so a test can send Ctrl-C's SIGINT to the whole group.
    """

    def __init__(self, secret: str, extra_env: dict[str, str] | None = None, *, own_group: bool = False) -> None:
        self.secret = secret
        self.log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)  # noqa: SIM115 (lives with the stack)
        self.state_file = Path(self.log.name).with_suffix(".state.json")
        env = {
            **client_env(self.state_file),
            "INAPP_HTTP_PORT": "0",
            "INAPP_WS_PORT": "0",
            "INAPP_LAMBDA_PORT": "0",
            "INAPP_JWT_SECRET": secret,
            **{name: os.environ[name] for name in PASSED_THROUGH if name in os.environ},
            **(extra_env or {}),
        }
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "infra.local", "serve"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=own_group,
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
        return self._signal(lambda: self.process.send_signal(signal.SIGTERM))

    def interrupt(self) -> float:
        """Ctrl-C as a terminal sends it (SIGINT to the process group), and how long the stack took to exit."""
        return self._signal(lambda: os.killpg(self.process.pid, signal.SIGINT))

    def _signal(self, send: Any) -> float:
        started = time.monotonic()
        if self.process.poll() is None:
            send()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return time.monotonic() - started

    def children(self) -> list[int]:
        """The ids of the stack's child processes (the DynamoDB emulator, the Lambda runtime), from /proc."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            if int(fields[1]) == self.process.pid:
                found.append(int(stat.parent.name))
        return found

    def exports(self) -> dict[str, str]:
        """The banner's ``export NAME=value`` lines."""
        return dict(re.findall(r"^\s*export (\w+)=(\S+)$", self.output(), re.M))

    # --- clients ---------------------------------------------------------------

    def http(
        self, method: str, path: str, token: str | None = None, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        return json_call(self.urls["http"] + path, method, token, body, headers)

    def socket(self, token: str) -> ClientConnection:
        return connect(f"{self.urls['ws']}?token={token}", open_timeout=10)


# Kept from this environment: a suite run at another broadcast threshold (docs/testing.md) runs its stacks at it.
PASSED_THROUGH = ("INAPP_BROADCAST_THRESHOLD",)


def client_env(state_file: Path) -> dict[str, str]:
    """This environment without the variables that would point a stack or the CLI elsewhere."""
    # Also without an outer make's variables: under `make test` a nested `make send` would print
    # "make[1]: Entering directory …" — a newcomer's second terminal has no MAKELEVEL.
    outer_make = {"MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES"}
    env = {name: value for name, value in os.environ.items() if not name.startswith("INAPP_") and name not in outer_make}
    env["INAPP_STATE_FILE"] = str(state_file)
    return env
