"""The embedded DynamoDB (and DynamoDB Streams): moto's server in its own process.

moto's own server (werkzeug's development server) answers every request
with ``Connection: close``, so each DynamoDB call paid a new TCP connection
on both sides and a new server thread. The same WSGI application runs here
under waitress, which keeps connections alive and serves them from a
fixed pool of threads: about a third less emulator CPU per call
(docs/benchmarks.md).

A separate process keeps the emulator's CPU off the app's interpreter lock,
as DynamoDB Local or the real service would be. The process applies the
patches of this package (`infra.local.moto.apply`: the transaction patch and the CPU savings),
quiets moto's request log, and prunes
the shard iterators moto keeps forever (~2.8 KiB each, one per GetRecords):
only the newest ``KEEP_ITERATORS`` survive, so an idle stack polling for
hours does not grow.

A web page open in the developer's browser can reach loopback too, and
moto's Flask app answers any ``Origin`` with CORS grants (and every answer
with ``Access-Control-Allow-Origin: *``), so any page could have read or
written every local table. The emulator refuses what a browser sends
(`refuse_browsers`: an ``Origin`` or ``Sec-Fetch-Site`` header, which
botocore never sends) and runs with moto's global CORS off.

It runs in its own process group, so the Ctrl-C a terminal sends to the
stack's group does not reach it: the stack stops it last, after the parts
that still write (``$disconnect`` handlers) are done. Its stdin is a pipe
from the stack; end-of-file there means the stack is gone (even killed
with SIGKILL), and the emulator exits at once instead of lingering.

Run alone: ``python -m infra.local.moto.server --port 8003``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any

KEEP_ITERATORS = 1000
SERVER_THREADS = 4  # the emulator runs under one interpreter lock: more threads only queue
CONNECTION_LIMIT = 1000  # every PynamoDB model keeps its own pool of keep-alive connections
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
        self._process = subprocess.Popen(
            [sys.executable, "-m", "infra.local.moto.server", "--port", str(self.port)],
            stdin=subprocess.PIPE,
            start_new_session=True,  # out of the terminal's process group: Ctrl-C reaches the stack only
        )
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
        """Close its stdin (it exits at end-of-file) and reap it; kill it if it does not go within a second."""
        if self._process is None:
            return
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def one_at_a_time(app: Any) -> Any:
    """The WSGI app, with DynamoDB and DynamoDB Streams requests served one at a time.

    moto's backends take no locks. A transaction applies its actions one by
    one and, when one is refused, puts items and the stream back; a request
    served meanwhile on another thread could read those records, or have its
    own undone with them. DynamoDB makes each call atomic; one lock does here
    (the emulator is bound by one interpreter lock anyway). SQS is left out:
    a long poll waits inside its request.
    """
    lock = threading.Lock()

    def serve(environ: dict[str, Any], start_response: Any) -> Any:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith(("DynamoDB_", "DynamoDBStreams_")):
            return app(environ, start_response)
        with lock:
            return list(app(environ, start_response))

    return serve


def refuse_browsers(app: Any) -> Any:
    """The WSGI app, answering 403 to every request a browser makes, before it reaches any backend.

    Browsers send ``Origin`` on every cross-origin request (a preflight
    included) and ``Sec-Fetch-Site`` on every request; the SDKs and the CLI
    send neither. Refusing both keeps out pages of other origins, a preflight
    gets no grant, and a DNS-rebound page (same origin, but still a browser)
    is refused too.
    """
    body = json.dumps(
        {
            "__type": "com.amazonaws.dynamodb.v20120810#AccessDeniedException",
            "message": "Requests from web pages are refused: use an AWS SDK or the CLI",
        }
    ).encode()
    headers = [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(body)))]

    def serve(environ: dict[str, Any], start_response: Any) -> Any:
        if "HTTP_ORIGIN" in environ or "HTTP_SEC_FETCH_SITE" in environ:
            start_response("403 Forbidden", headers)
            return [body]
        return app(environ, start_response)

    return serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)

    os.environ["MOTO_DISABLE_GLOBAL_CORS"] = "true"  # read when moto.settings is imported, just below
    import waitress
    from moto.dynamodbstreams.models import dynamodbstreams_backends
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from infra.local import moto as emulator
    from infra.local.moto.collector import freeze_after_full_collections

    emulator.apply()
    freeze_after_full_collections()
    for name in ("werkzeug", "moto"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("waitress").setLevel(logging.ERROR)  # "task queue depth" warnings are normal under load
    server = waitress.create_server(
        refuse_browsers(one_at_a_time(DomainDispatcherApplication(create_backend_app))),
        host="127.0.0.1",
        port=args.port,
        threads=SERVER_THREADS,
        connection_limit=CONNECTION_LIMIT,
    )
    threading.Thread(target=server.run, name="emulator", daemon=True).start()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    threading.Thread(target=_stop_at_end_of_input, args=(stop,), name="parent-watch", daemon=True).start()
    while not stop.wait(PRUNE_EVERY_SECONDS):
        prune_iterators(dynamodbstreams_backends)
    # No server.stop() and no interpreter clean-up: an in-memory emulator has
    # nothing to flush, and both would add ~0.3 s to every Ctrl-C.
    os._exit(0)


def _stop_at_end_of_input(stop: threading.Event) -> None:
    """The stack holds our stdin open; end-of-file means it stopped us, or died."""
    sys.stdin.buffer.read()
    stop.set()


if __name__ == "__main__":
    main()
