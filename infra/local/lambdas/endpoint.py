"""A Lambda Invoke endpoint (``POST /2015-03-31/functions/{name}/invocations``).

Like ``sam local start-lambda``: boto3's Lambda client with
``endpoint_url`` pointed here invokes the app's ``send`` function by its
short or deployed name. A handler error comes back as Lambda reports it:
HTTP 200, ``X-Amz-Function-Error: Unhandled`` and a payload with
``errorMessage``, ``errorType`` and ``stackTrace``.

Every invocation is logged in one line: the function, the status, the time,
and for a handler error its type and message (CloudWatch would hold the
function's own log; here both share the stack's terminal).

As Lambda: an answer over 6 MB is a ``Function.ResponseSizeTooLarge``
error; an asynchronous (``Event``) invocation that fails is run twice more,
after a pause, with the same request id; and the fault plan's ``duplicate``
share of them runs twice (Lambda's queue is at least once), each run with a
request id of its own.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

PREFIX = "/2015-03-31/functions/"
SUFFIX = "/invocations"
MAX_PAYLOAD = 6 * 1024 * 1024
ASYNC_RETRIES = 2
ASYNC_RETRY_SECONDS = (1.0, 2.0)  # Lambda waits one minute, then two: scaled down to seconds
Function = Callable[[Any, str], Any]  # (event, request id) → the function's answer
POLL_SECONDS = 0.05  # how soon serve_forever notices stop(); its default, 0.5 s, would slow every Ctrl-C

logger = logging.getLogger("inapp.local.lambda")


class LambdaEndpoint:
    def __init__(self, functions: dict[str, Function], *, port: int, duplicate: Callable[[], bool] = lambda: False) -> None:
        self.functions = functions
        self._duplicate = duplicate
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                endpoint._handle(self)

            def log_message(self, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(POLL_SECONDS,), name="lambda-endpoint", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() waits for serve_forever, forever if it never ran
            self._server.shutdown()
        self._server.server_close()

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        started = time.perf_counter()
        name, status, error = self._answer(request)
        extra = {"status": status, "duration_ms": round((time.perf_counter() - started) * 1000, 1)}
        if error is None:
            logger.info("invoke %s", name, extra=extra)
        else:
            logger.warning("invoke %s failed: %s: %s", name, error["errorType"], error["errorMessage"], extra=extra)

    def _answer(self, request: BaseHTTPRequestHandler) -> tuple[str, int, dict[str, Any] | None]:
        """Reply; return the function's name (or the path), the status, and the handler's error if any."""
        if _from_a_browser(request):
            message = "Invocations from web pages are refused: use an AWS SDK or the CLI"
            _reply(request, 403, {"Type": "User", "message": message}, "AccessDeniedException")
            return request.path, 403, None
        length = int(request.headers.get("Content-Length") or 0)
        if length > MAX_PAYLOAD:
            _reply(request, 413, {"message": "Request must be smaller than 6291456 bytes"}, "RequestTooLargeException")
            return request.path, 413, None
        raw = request.rfile.read(length)
        path = request.path.split("?", 1)[0]
        if not (path.startswith(PREFIX) and path.endswith(SUFFIX)):
            _reply(request, 404, {"message": "Unknown operation"}, "UnknownOperationException")
            return path, 404, None
        name = unquote(path[len(PREFIX) : -len(SUFFIX)]).rsplit(":function:", 1)[-1]
        function = self.functions.get(name)
        if function is None:
            _reply(request, 404, {"Type": "User", "message": f"Function not found: {name}"}, "ResourceNotFoundException")
            return name, 404, None
        try:
            event = json.loads(raw) if raw.strip() else {}
        except ValueError:
            message = "Could not parse request body into json"
            _reply(request, 400, {"Type": "User", "message": message}, "InvalidRequestContentException")
            return name, 400, None
        return (name, *self._invoke(request, name, function, event))

    def _invoke(
        self, request: BaseHTTPRequestHandler, name: str, function: Function, event: Any
    ) -> tuple[int, dict[str, Any] | None]:
        invocation_type = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if invocation_type == "DryRun":
            _reply(request, 204, None, None)
            return 204, None
        if invocation_type == "Event":
            for _ in range(2 if self._duplicate() else 1):
                threading.Thread(target=_run_later, args=(name, function, event), daemon=True).start()
            _reply(request, 202, None, None)
            return 202, None
        result, error = _run(function, event, uuid.uuid4().hex)
        if error is None and len(json.dumps(result)) > MAX_PAYLOAD:
            error = _error(
                "Function.ResponseSizeTooLarge",
                f"Response payload size exceeded maximum allowed payload size ({MAX_PAYLOAD} bytes).",
            )
        _reply(request, 200, error if error is not None else result, None, function_error=error is not None)
        return 200, error


def _from_a_browser(request: BaseHTTPRequestHandler) -> bool:
    """Any page the developer visits could POST here (a "simple" request needs no preflight).

    SDKs and the CLI send neither header; browsers send ``Origin`` on every
    cross-origin POST and ``Sec-Fetch-Site`` on every request they make.
    """
    return request.headers.get("Origin") is not None or request.headers.get("Sec-Fetch-Site") is not None


def _run(function: Function, event: Any, request_id: str) -> tuple[Any, dict[str, Any] | None]:
    try:
        return function(event, request_id), None
    except Exception as exc:  # reported to the caller exactly as Lambda reports it
        return None, {**_error(type(exc).__name__, str(exc)), "stackTrace": traceback.format_tb(exc.__traceback__)}


def _error(error_type: str, message: str) -> dict[str, Any]:
    return {"errorMessage": message, "errorType": error_type, "requestId": ""}


def _run_later(name: str, function: Function, event: Any) -> None:
    """An ``Event`` invocation: nobody waits for the answer; a failed run is retried twice, same request id."""
    request_id = uuid.uuid4().hex
    for attempt in range(ASYNC_RETRIES + 1):
        _, error = _run(function, event, request_id)
        if error is None:
            return
        logger.warning("invoke %s (Event) failed: %s: %s", name, error["errorType"], error["errorMessage"])
        if attempt < ASYNC_RETRIES:
            time.sleep(ASYNC_RETRY_SECONDS[attempt])


def _reply(
    request: BaseHTTPRequestHandler, status: int, payload: Any, error_type: str | None, *, function_error: bool = False
) -> None:
    body = b"" if status in (202, 204) else json.dumps(payload).encode()
    request.send_response(status)
    request.send_header("Content-Type", "application/json")
    request.send_header("Content-Length", str(len(body)))
    request.send_header("X-Amz-Executed-Version", "$LATEST")
    if error_type:
        request.send_header("x-amzn-ErrorType", error_type)
    if function_error:
        request.send_header("X-Amz-Function-Error", "Unhandled")
    request.end_headers()
    request.wfile.write(body)
