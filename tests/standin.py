"""A management-API stand-in on loopback that tests control per connection.

moto's own ``apigatewaymanagementapi`` accepts any post and never answers
410/429/413, so delivery's error paths need this: each connection id can be
scripted with a list of statuses to answer in turn (then 200), every answer
can be delayed, and every accepted frame is recorded. ``DELETE`` closes a
connection as API Gateway does: it is recorded, and later requests for that
id answer 410.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

ERROR_TYPES = {
    410: "GoneException",
    413: "PayloadTooLargeException",
    429: "LimitExceededException",
    500: "InternalServerErrorException",
    503: "ServiceUnavailableException",
}


class ManagementStandIn:
    """``POST /{stage}/@connections/{id}`` answering as scripted."""

    def __init__(self, stage: str = "api", delay: float = 0.0) -> None:
        self.stage = stage
        self.delay = delay
        self.scripts: dict[str, list[int]] = defaultdict(list)
        self.received: dict[str, list[bytes]] = defaultdict(list)
        self.calls: Counter[str] = Counter()
        self.deleted: list[str] = []  # connection ids closed through DELETE, in order
        self.headers: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                standin._handle(self)

            def do_DELETE(self) -> None:
                standin._delete(self)

            def do_GET(self) -> None:  # counts, for a stand-in running in another process
                total = sum(len(frames) for frames in standin.received.values())
                body = json.dumps({"received": total, "connections": len(standin.received)}).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.request_queue_size = 256
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/{self.stage}"

    def start(self) -> ManagementStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def script(self, connection_id: str, statuses: list[int]) -> None:
        with self._lock:
            self.scripts[connection_id] = list(statuses)

    def frames(self, connection_id: str) -> list[dict[str, Any]]:
        """The message frames a connection got (the counts they and ``counts.updated`` frames carry are in `counts`)."""
        return [f for f in self.all_frames(connection_id) if f.get("type") != "counts.updated"]

    def counts(self, connection_id: str) -> list[dict[str, Any]]:
        """The counts frames carried (``counts.updated``, or riding on ``message.created``), in order."""
        return [f["counts"] for f in self.all_frames(connection_id) if "counts" in f]

    def all_frames(self, connection_id: str) -> list[dict[str, Any]]:
        return [json.loads(f) for f in self.received[connection_id]]

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length)
        prefix = f"/{self.stage}/@connections/"
        if not request.path.startswith(prefix):
            self._answer(request, 404, "NotFoundException")
            return
        connection_id = unquote(request.path[len(prefix) :])
        self.headers[connection_id] = dict(request.headers.items())
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            self.calls[connection_id] += 1
            script = self.scripts.get(connection_id)
            status = 410 if connection_id in self.deleted else script.pop(0) if script else 200
            if status == 200:
                self.received[connection_id].append(body)
        if status == 200:
            request.send_response(200)
            request.send_header("Content-Length", "0")
            request.end_headers()
        else:
            self._answer(request, status, ERROR_TYPES.get(status, "UnknownError"))

    def _delete(self, request: BaseHTTPRequestHandler) -> None:
        connection_id = unquote(request.path.removeprefix(f"/{self.stage}/@connections/"))
        with self._lock:
            gone = connection_id in self.deleted
            if not gone:
                self.deleted.append(connection_id)
        if gone:
            self._answer(request, 410, ERROR_TYPES[410])
            return
        request.send_response(204)
        request.send_header("Content-Length", "0")
        request.end_headers()

    @staticmethod
    def _answer(request: BaseHTTPRequestHandler, status: int, error_type: str) -> None:
        payload = json.dumps({"message": error_type}).encode()
        request.send_response(status)
        request.send_header("x-amzn-ErrorType", error_type)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        request.wfile.write(payload)


def main() -> None:
    """Run in its own process (benchmarks): prints the endpoint, serves until killed."""
    import argparse
    import signal

    parser = argparse.ArgumentParser()
    parser.add_argument("--delay", type=float, default=0.02)
    args = parser.parse_args()
    standin = ManagementStandIn(delay=args.delay).start()
    print(standin.endpoint, flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    standin.stop()


if __name__ == "__main__":
    main()
