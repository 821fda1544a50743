"""The embedded DynamoDB (and DynamoDB Streams): moto's server in its own process.

A separate process keeps the emulator's CPU off the app's interpreter lock,
as DynamoDB Local or the real service would be. The process applies the
transaction patch (`moto_patches`), quiets moto's request log, and prunes
the shard iterators moto keeps forever (~2.8 KiB each, one per GetRecords):
only the newest ``KEEP_ITERATORS`` survive, so an idle stack polling for
hours does not grow. It exits when its parent does.

Run alone: ``python -m infra.local.dynamodb --port 8003``.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from typing import Any

KEEP_ITERATORS = 1000
PRUNE_EVERY_SECONDS = 5.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def prune_iterators(backends: Any, keep: int = KEEP_ITERATORS) -> int:
    """Drop all but the ``keep`` newest shard iterators of every streams backend; return how many went."""
    dropped = 0
    for account in list(backends.keys()):
        for region in list(backends[account].keys()):
            iterators = backends[account][region].shard_iterators
            for arn in list(iterators)[: max(0, len(iterators) - keep)]:  # dicts keep issue order
                iterators.pop(arn, None)
                dropped += 1
    return dropped


class EmbeddedDynamoDB:
    """Starts and stops the emulator process."""

    def __init__(self, port: int = 0) -> None:
        self.port = port or free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> None:
        self._process = subprocess.Popen([sys.executable, "-m", "infra.local.dynamodb", "--port", str(self.port)])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the DynamoDB emulator exited with {self._process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("the DynamoDB emulator did not start")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)

    from moto.dynamodbstreams.models import dynamodbstreams_backends
    from moto.server import ThreadedMotoServer

    from infra.local import moto_patches

    moto_patches.apply()
    for name in ("werkzeug", "moto"):
        logging.getLogger(name).setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    parent = os.getppid()
    stop = threading.Event()
    for signum in (15, 2):
        import signal

        signal.signal(signum, lambda *_: stop.set())
    while not stop.wait(PRUNE_EVERY_SECONDS):
        prune_iterators(dynamodbstreams_backends)
        if os.getppid() != parent:  # the stack died without stopping us
            break
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
