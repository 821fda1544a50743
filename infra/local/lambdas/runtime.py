"""A Lambda runtime of its own: the stream function (and each HTTP request, `pool`) runs in another process, as on AWS.

On AWS the stream handler runs in Lambda's sandboxes, apart from API
Gateway and the HTTP functions. Locally it ran on the stack's threads and
shared one interpreter lock with the HTTP routes, the WebSocket gateway and
the pollers: under load that one process was what bounded delivery
(docs/benchmarks.md, "what bounds it"). Now the stream poller hands each
batch over a pipe to this runtime and waits for its answer, as Lambda's
event source mapping waits for its function.

The runtime imports the app once and keeps its clients warm between
invocations (a warm Lambda). It applies the same ``INAPP_FAULTS`` to its
own DynamoDB calls, and hands back what it injected with every answer. A
runtime that dies (killed, out of memory) fails the invocation it was
running, which the poller retries like any function error, and the next
invocation starts a new one: a cold start.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from infra.local.state import ROOT

logger = logging.getLogger("inapp.local.runtime")

READY_SECONDS = 60.0  # importing the app on a busy 2-core machine
API_FUNCTION = "api"  # the HTTP API's function: the app itself takes API Gateway's proxy events


class FunctionError(RuntimeError):
    """The function raised, or its runtime died during the invocation."""


class LambdaContext:
    """The few LambdaContext fields handlers may read."""

    def __init__(self, function_name: str) -> None:
        self.function_name = function_name
        self.aws_request_id = os.urandom(8).hex()
        self.memory_limit_in_mb = 512

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


class Written:
    """Notes that the function wrote to DynamoDB or queued a step (the pollers' ``wake``), until ``take``."""

    def __init__(self) -> None:
        self._wrote = False

    def wake(self) -> None:
        self._wrote = True

    def take(self) -> bool:
        wrote, self._wrote = self._wrote, False
        return wrote


def _serve(conn: Any, prefix: str, log_format: str) -> None:
    """The runtime's process: load the app, then answer invocations until the stack closes the pipe."""
    from app import app
    from chalicelib.service import get_delivery, get_services, get_work_queue
    from chalicelib.storage import dynamo as storage
    from infra.local import console_logs
    from infra.local.faults import FaultPlan
    from infra.local.lambdas.queue_poller import wake_on_sends
    from infra.local.lambdas.stream_poller import wake_on_writes

    console_logs.install(log_format)
    faults = FaultPlan.parse(os.environ.get("INAPP_FAULTS", ""))
    get_services()
    get_delivery()  # builds and warms the management client before the first post
    # Every model's client, built here once: PynamoDB builds one on first use, and the first batch's
    # 64 counts threads would each build their own at once (~10 s of CPU reading botocore's endpoints).
    clients = storage.botocore_clients()
    if faults.touches_dynamodb:
        faults.on_dynamodb(clients)
    written = Written()  # the stack's own hooks, here: whether an invocation left the pollers something to read
    wake_on_writes(clients, written)  # type: ignore[arg-type]
    wake_on_sends(get_work_queue().client, written)  # type: ignore[arg-type]
    try:
        conn.send(("ready", None, {}, False))
    except OSError:  # the stack stopped while this runtime loaded the app
        return
    while True:
        try:
            kind, name, payload = conn.recv()
        except (EOFError, OSError):  # the stack closed the pipe, or died
            return
        try:
            if kind == "invoke":
                handler = app if name == API_FUNCTION else app.handler_map[name]
                result = handler(payload, LambdaContext(f"{prefix}{name}"))
            else:  # "call": module:function, for the benches' meters
                module, _, function = name.partition(":")
                result = getattr(importlib.import_module(module), function)(*payload)
            answer = ("ok", result)
        except Exception as error:
            logger.exception("function failed", extra={"function": name})
            answer = ("error", f"{type(error).__name__}: {error}")
        try:
            conn.send((*answer, faults.take_counts(), written.take()))
        except OSError:  # the stack stopped during the invocation
            return


class Runtime:
    """One warm runtime process; invocations run one at a time, like one shard's batches."""

    def __init__(
        self,
        prefix: str,
        log_format: str,
        injected: Callable[[dict[str, tuple[int, int]]], None],
        role: str = "functions",
        wrote: Callable[[], None] = lambda: None,
    ) -> None:
        self._prefix = prefix
        self._wrote = wrote  # after an invocation that wrote to DynamoDB or queued a step
        self._role = role  # on its command line only: what `ps` shows it runs (the stream's functions, or "http")
        self._log_format = log_format
        self._injected = injected  # takes what the runtime's own faults counted (calls, hits), with each answer
        self._lock = threading.Lock()
        self._conn: Any = None
        self._process: Any = None
        self._loading = False
        self._stopped = False

    def start(self) -> None:
        """Start the process; it loads the app meanwhile, and `wait_ready` or the first `invoke` waits for it."""
        with self._lock:
            self._spawn()

    def wait_ready(self) -> None:
        with self._lock:
            self._await_ready()

    def _spawn(self) -> None:
        if self._conn is not None:
            self._conn.close()  # a runtime that died: its pipe goes with it
        ours, theirs = socket.socketpair()
        try:
            arguments = [str(theirs.fileno()), self._prefix, self._log_format, self._role]
            self._process = subprocess.Popen(  # a fresh interpreter: no fork of a process with threads running
                [sys.executable, "-m", "infra.local.lambdas.runtime", *arguments],
                pass_fds=[theirs.fileno()],
                cwd=ROOT,
                start_new_session=True,  # out of the terminal's process group: Ctrl-C reaches the stack, which stops it
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self._conn = Connection(ours.detach())
        if self._stopped:  # `stop` ran meanwhile and will not see this one
            self._process.kill()
            self._process.wait()
            raise FunctionError("the stack is stopping")
        self._loading = True

    def _await_ready(self) -> None:
        if not self._loading:
            return
        try:
            if not self._conn.poll(READY_SECONDS):
                raise FunctionError(f"the runtime did not load the app in {READY_SECONDS:.0f} s")
            self._receive()
        except (EOFError, OSError) as error:
            raise FunctionError("the runtime died while loading the app") from error
        self._loading = False

    def invoke(self, name: str, event: Any) -> Any:
        """Run function ``name`` with ``event`` and return its answer; FunctionError when it raised or died."""
        return self._exchange("invoke", name, event)

    def call(self, target: str, *args: Any) -> Any:
        """Run ``module:function(*args)`` inside the runtime (the benches read their meters with it)."""
        return self._exchange("call", target, args)

    def _exchange(self, kind: str, name: str, payload: Any) -> Any:
        with self._lock:
            if self._stopped:
                raise FunctionError("the stack is stopping")
            if self._process.poll() is not None:
                logger.warning("starting a new runtime (a cold start)")
                self._spawn()
            self._await_ready()
            try:
                self._conn.send((kind, name, payload))
                return self._receive()
            except FunctionError:
                raise
            except (EOFError, OSError) as error:
                raise FunctionError("the runtime died during the invocation") from error
            except BaseException:  # e.g. Ctrl-C while waiting: its answer would meet the next invocation
                self._process.kill()
                raise

    def _receive(self) -> Any:
        outcome, result, injected, wrote = self._conn.recv()
        if injected:
            self._injected(injected)
        if wrote:
            self._wrote()
        if outcome == "error":
            raise FunctionError(result)
        return result

    def stop(self) -> None:
        """Close the pipe (an idle runtime returns at once); one still loading or running an invocation is ended.

        An invocation it ends is not checkpointed: Lambda would run that batch again too.
        """
        self._stopped = True  # no new runtime from here on
        if self._lock.acquire(timeout=0.05):  # idle: nothing holds the pipe
            try:
                process = self._process
                if process is not None and not self._loading:
                    self._conn.close()  # the runtime's recv ends: it exits
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        process.wait(1)
            finally:
                self._lock.release()
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        if self._conn is not None:
            self._conn.close()


if __name__ == "__main__":
    _serve(Connection(int(sys.argv[1])), sys.argv[2], sys.argv[3])
    logging.shutdown()  # every log line out, then no half-second interpreter teardown
    os._exit(0)
