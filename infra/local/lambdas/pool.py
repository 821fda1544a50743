"""The HTTP API's Lambda containers: each request runs in a runtime process, one request per runtime at a time.

On AWS every request to the HTTP API runs in a Lambda container that
serves one request at a time: a slow request (a bulk change pacing its
writes for seconds) holds its own container, and the next request finds
another, warm or new. Locally the routes ran on the stack's threads, under
the one interpreter lock they shared with the WebSocket gateway's posts and
every other request: one user's bulk change slowed every other user's
sends and frames (the abuse run's hostile phase, docs/benchmarks.md).

`RuntimePool` gives the local HTTP API that model: a request takes a free
warm runtime (`infra.local.lambdas.runtime`), else starts a new one (a cold
start, as Lambda's) while fewer than ``size`` exist, else waits for the
first to finish (the function's concurrency limit). ``warm`` runtimes load
the app when the stack starts. After a request that wrote to DynamoDB or
queued a step, the stack's pollers are woken (`after`): the writes happened
in another process, whose clients carry the stack's hooks and say so with
the answer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from infra.local.lambdas.runtime import API_FUNCTION, FunctionError, Runtime

INTERNAL_ERROR = {  # API Gateway's answer when the function itself fails (it crashed, or its runtime died)
    "statusCode": 502,
    "headers": {"Content-Type": "application/json"},
    "multiValueHeaders": {},
    "body": '{"message": "Internal server error"}',
}


class RuntimePool:
    """``invoke(event)``: the HTTP API's proxy event run by the app in a runtime of the pool; its answer."""

    def __init__(
        self,
        prefix: str,
        log_format: str,
        injected: Callable[[dict[str, tuple[int, int]]], None],
        *,
        warm: int = 1,
        size: int = 8,
        after: Callable[[], None] = lambda: None,
        role: str = "http",
    ) -> None:
        if not 0 < warm <= size:
            raise ValueError(f"warm must be 1 to size ({size}), got {warm}")
        self._new: Callable[[], Runtime] = lambda: Runtime(prefix, log_format, injected, role, after)
        self._warm, self._size = warm, size
        self._free: list[Runtime] = []
        self._every: list[Runtime] = []
        self._changed = threading.Condition()
        self._stopped = False

    def start(self) -> None:
        """Start the warm runtimes; they load the app meanwhile (the first request waits for one)."""
        with self._changed:
            for _ in range(self._warm):
                self._free.append(self._spawn())

    def invoke(self, event: dict[str, Any], name: str = API_FUNCTION) -> dict[str, Any]:
        """Function ``name``'s answer to ``event`` (the HTTP API's by default); a 502 when it failed."""
        try:
            runtime = self._take()
        except FunctionError:  # the stack is stopping
            return INTERNAL_ERROR
        try:
            answer: dict[str, Any] = runtime.invoke(name, event)
        except FunctionError:
            answer = INTERNAL_ERROR
        finally:
            self._give_back(runtime)
        return answer

    def call_each(self, target: str, *args: Any) -> list[Any]:
        """``target(*args)`` in every runtime started so far, once none is busy (a benchmark's meters)."""
        with self._changed:
            while len(self._free) < len(self._every):
                self._changed.wait()
            return [runtime.call(target, *args) for runtime in self._every]

    def _spawn(self) -> Runtime:
        runtime = self._new()
        runtime.start()
        self._every.append(runtime)
        return runtime

    def _take(self) -> Runtime:
        with self._changed:
            while True:
                if self._stopped:
                    raise FunctionError("the stack is stopping")
                if self._free:
                    return self._free.pop()  # the most recently used: the warmest
                if len(self._every) < self._size:
                    return self._spawn()  # a cold start
                self._changed.wait()

    def _give_back(self, runtime: Runtime) -> None:
        with self._changed:
            self._free.append(runtime)
            self._changed.notify()

    def stop(self) -> None:
        with self._changed:
            self._stopped = True
            every = list(self._every)
            self._changed.notify_all()
        for runtime in every:
            runtime.stop()
