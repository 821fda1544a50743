"""The whole local stack (docs/local-stack.md) in one process.

Order: DynamoDB and SQS (embedded moto, or ``INAPP_DYNAMODB_ENDPOINT`` /
``INAPP_SQS_ENDPOINT``) → tables from the models and the fan-out queues → the
Chalice app's HTTP routes (each request run by a runtime process of a pool,
`infra.local.lambdas.pool`) → the WebSocket gateway → the stream poller and
the queue poller → the Lambda Invoke endpoint → the demo channel. Everything
binds to loopback. `stop` goes the other way, so DynamoDB goes last: the
gateway's ``$disconnect`` handlers still write to it while sockets close.
"""

from __future__ import annotations

import errno
import functools
import json
import logging
import os
import threading
from typing import Any

import boto3

from chalicelib.core.config import load_auth_settings
from infra.local import console_logs
from infra.local.apigateway.http import local_api_server
from infra.local.apigateway.websocket import WebSocketGateway
from infra.local.lambdas.endpoint import POLL_SECONDS, Function, LambdaEndpoint
from infra.local.lambdas.pool import RuntimePool
from infra.local.lambdas.queue_poller import QueuePoller, create_queues, wake_on_sends
from infra.local.lambdas.runtime import FunctionError, LambdaContext, Runtime
from infra.local.lambdas.scheduler import SchedulerStandIn
from infra.local.lambdas.stream_poller import StreamPoller, inbox_stream_poller, wake_on_writes
from infra.local.moto.server import EmbeddedDynamoDB
from infra.local.readiness import check_ready, seed_demo_channel
from infra.local.settings import APP_NAME, STAGE, WS_STAGE, PortInUseError, StackSettings, stage_environment
from infra.local.state import ROOT, StackState

logger = logging.getLogger("inapp.local")

# The WebSocket routes' containers: their own function on AWS, so a flood of frames on one socket never waits
# in (or holds) the stack's process, where the gateway posts everyone's frames.
WEBSOCKET_RUNTIMES = 4
HTTP_RUNTIMES = 8


class LocalStack:
    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        self.dynamodb: EmbeddedDynamoDB | None = None
        self.gateway: WebSocketGateway | None = None
        self.poller: StreamPoller | None = None
        self.runtime: Runtime | None = None
        self.http_pool: RuntimePool | None = None
        self.websocket_pool: RuntimePool | None = None
        self._stopping = threading.Event()
        self.queue_poller: QueuePoller | None = None
        self.scheduler: SchedulerStandIn | None = None
        self.lambda_endpoint: LambdaEndpoint | None = None
        self._http: Any = None
        self._http_thread: threading.Thread | None = None
        self.app: Any = None

    # --- start / stop ------------------------------------------------------------

    def start(self) -> None:
        try:
            self._start()
        except Exception as error:  # stop what already runs
            self.stop()
            if isinstance(error, OSError) and error.errno == errno.EADDRINUSE:
                raise PortInUseError(str(error)) from None
            raise

    def _start(self) -> None:
        """Every part in order: emulator and queues, the app and its gateway, HTTP, pollers, Lambda endpoint."""
        sqs, queues = self._start_emulator()
        self._start_app()
        self._start_http()
        self._start_stream_poller()
        self._inject_faults()
        self._start_queue_poller(sqs, queues)
        self._start_scheduler()
        send: Function = functools.partial(self._invoke, "send")
        functions = {"send": send, f"{APP_NAME}-{STAGE}-send": send}
        duplicate = functools.partial(self.settings.faults.hit, "duplicate")
        self.lambda_endpoint = LambdaEndpoint(functions, port=self.settings.lambda_port, duplicate=duplicate)
        self.lambda_endpoint.start()
        self._check_ready()
        self._seed_demo_channel()

    def _start_emulator(self) -> tuple[Any, Any]:
        """The environment the app reads, moto's server (DynamoDB, its streams, SQS) unless told otherwise, the queues."""
        s, env = self.settings, os.environ
        for name, value in stage_environment().items():
            env.setdefault(name, value)
        env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        env["AWS_ACCOUNT_ID_ENDPOINT_MODE"] = "disabled"
        if s.jwks_url is None:
            env["INAPP_JWT_SECRET"] = s.jwt_secret
        else:  # the app checks your provider's tokens; cursors still need a key of the stack's
            env.setdefault("INAPP_CURSOR_SECRET", s.jwt_secret)
        load_auth_settings()  # a missing INAPP_JWT_ISSUER stops the start, named, not every request
        env.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # EMF lines are for CloudWatch, not a terminal
        if not (s.dynamodb_endpoint and s.sqs_endpoint):
            env.setdefault("AWS_ACCESS_KEY_ID", "local")
            env.setdefault("AWS_SECRET_ACCESS_KEY", "local")
            self.dynamodb = EmbeddedDynamoDB()
            self.dynamodb.start()
        env["INAPP_DYNAMODB_ENDPOINT"] = s.dynamodb_endpoint or self.dynamodb.endpoint  # type: ignore[union-attr]
        env["INAPP_SQS_ENDPOINT"] = s.sqs_endpoint or self.dynamodb.endpoint  # type: ignore[union-attr]
        env["INAPP_SCHEDULER_ENDPOINT"] = env["INAPP_SQS_ENDPOINT"]  # moto's server keeps the snoozes' schedules
        sqs = boto3.client("sqs", endpoint_url=env["INAPP_SQS_ENDPOINT"], region_name=env["AWS_DEFAULT_REGION"])
        queues = create_queues(sqs, f"{APP_NAME}-{STAGE}-fanout")
        env["INAPP_FANOUT_QUEUE_URL"] = queues.url
        return sqs, queues

    def _start_app(self) -> None:
        """Import the app, start the WebSocket gateway it posts to, create the tables, warm the clients."""
        from app import app
        from chalicelib.core.config import load_settings
        from chalicelib.service import get_delivery, get_services, reset
        from chalicelib.storage.tables import create_tables

        s, env = self.settings, os.environ
        self.app = app
        console_logs.install(s.log_format)  # after `import app`: Chalice and chalicelib attach their handlers then
        self.gateway = WebSocketGateway(
            self._invoke_websocket,
            port=s.ws_port,
            stage=WS_STAGE,
            idle_timeout=s.ws_idle_seconds,
            max_lifetime=s.ws_max_seconds,
            faults=s.faults,
        )
        self.gateway.start()
        env["INAPP_WS_ENDPOINT"] = self.gateway.management_endpoint
        env["INAPP_WS_URL"] = self.gateway.url
        self.runtime = Runtime(f"{APP_NAME}-{STAGE}-", s.log_format, s.faults.add_counts)
        self.runtime.start()  # it loads the app while this process creates the tables
        self.http_pool = RuntimePool(
            f"{APP_NAME}-{STAGE}-", s.log_format, s.faults.add_counts, size=HTTP_RUNTIMES,
            warm=HTTP_RUNTIMES if s.warm_runtimes else 1, after=self._wake_pollers,
        )  # fmt: skip
        self.http_pool.start()  # the HTTP API's warm containers load the app meanwhile too
        self.websocket_pool = RuntimePool(
            f"{APP_NAME}-{STAGE}-", s.log_format, s.faults.add_counts, size=WEBSOCKET_RUNTIMES,
            warm=WEBSOCKET_RUNTIMES if s.warm_runtimes else 1, role="websocket",
        )  # fmt: skip
        self.websocket_pool.start()
        reset()
        create_tables(load_settings())
        get_services()
        get_delivery()  # builds and warms the management client before the first post

    def _start_http(self) -> None:
        from chalice.config import Config

        config = Config(chalice_stage=STAGE, config_from_disk=json.loads((ROOT / ".chalice" / "config.json").read_text()))
        assert self.http_pool is not None
        self._http = local_api_server(self.app, config, self.settings.http_port, self.http_pool.invoke)
        self._http_thread = threading.Thread(
            target=self._http.server.serve_forever, args=(POLL_SECONDS,), name="http-api", daemon=True
        )
        self._http_thread.start()

    def _start_stream_poller(self) -> None:
        """Lambda's DynamoDB event source mapping: the inbox stream into ``deliver``, woken by the app's writes."""
        from chalicelib.storage import dynamo as storage

        runtime = self.runtime
        assert runtime is not None
        self.poller = inbox_stream_poller(lambda event: runtime.invoke("deliver", event), self.settings.faults)
        wake_on_writes(storage.botocore_clients(), self.poller)
        self.poller.start()

    def _start_queue_poller(self, sqs: Any, queues: Any) -> None:
        """Lambda's SQS event source mapping: the fan-out queue into ``fan_out``, woken by the app's sends."""
        from chalicelib.service import get_work_queue

        self.queue_poller = QueuePoller(
            sqs, queues, lambda event: self._invoke("fan_out", event), os.environ["AWS_DEFAULT_REGION"]
        )
        wake_on_sends(get_work_queue().client, self.queue_poller)
        self.queue_poller.start()

    def _start_scheduler(self) -> None:
        """EventBridge Scheduler: moto keeps the snoozes' one-time schedules, the stand-in runs them when due."""
        env = os.environ
        client = boto3.client("scheduler", endpoint_url=env["INAPP_SCHEDULER_ENDPOINT"], region_name=env["AWS_DEFAULT_REGION"])
        prefix = f"{APP_NAME}-{STAGE}-"
        self.scheduler = SchedulerStandIn(client, lambda name, event: self._invoke(name.removeprefix(prefix), event))
        self.scheduler.start()

    def _inject_faults(self) -> None:
        """What INAPP_FAULTS asks for beyond the gateway's posts (see `infra.local.faults`)."""
        from chalicelib.storage import dynamo as storage

        faults = self.settings.faults
        if not faults.active:
            return
        logger.warning("fault injection on: %s", os.environ.get("INAPP_FAULTS"))
        if faults.touches_dynamodb:
            faults.on_dynamodb(storage.botocore_clients())
        if faults.replay_seconds and self.poller is not None:
            faults.replay_stream(self.poller.replay_from_checkpoint, self._stopping)

    def _invoke(self, name: str, event: dict[str, Any], request_id: str | None = None) -> Any:
        context = LambdaContext(f"{APP_NAME}-{STAGE}-{name}")
        if request_id is not None:
            context.aws_request_id = request_id  # kept by Lambda's retries of an asynchronous invocation
        return self.app.handler_map[name](event, context)

    def _invoke_websocket(self, name: str, event: dict[str, Any]) -> Any:
        """A WebSocket route's function, in a runtime of its own pool (its own Lambda function's containers)."""
        if self.websocket_pool is None:
            raise FunctionError("the stack is not started")
        return self.websocket_pool.invoke(event, name)

    def _wake_pollers(self) -> None:
        """After an HTTP request: its writes (in a runtime of the pool) may have left stream records or queued work."""
        for poller in (self.poller, self.queue_poller):
            if poller is not None:
                poller.wake()

    def _check_ready(self) -> None:
        self.runtime.wait_ready()  # type: ignore[union-attr]
        check_ready(self.http_url, self.gateway.management_endpoint, self.lambda_url)  # type: ignore[union-attr]

    def _seed_demo_channel(self) -> None:
        if self.settings.jwks_url is not None:
            return  # the stack cannot sign for an admin of your provider; the banner says so
        seed_demo_channel(self.http_url, self.settings.mint("admin", admin=True))

    def stop(self) -> None:
        """Stop every part, newest first; DynamoDB last, once nothing writes to it any more."""
        self._stopping.set()
        if self.settings.faults.active:
            logger.warning(self.settings.faults.summary())
        for stop in (
            self.lambda_endpoint.stop if self.lambda_endpoint else None,
            self._stop_http,
            self.gateway.stop if self.gateway else None,
            self.websocket_pool.stop if self.websocket_pool else None,  # after the gateway's $disconnects
            self.queue_poller.stop if self.queue_poller else None,
            self.scheduler.stop if self.scheduler else None,
            self._stop_delivery,
            self.dynamodb.stop if self.dynamodb else None,
        ):
            if stop is None:
                continue
            try:
                stop()
            except Exception:  # keep stopping the rest
                logger.exception("stopping a part failed")

    def _stop_delivery(self) -> None:
        """The stream poller told to stop, its runtime stopped (ending a batch still running), the poller joined."""
        if self.poller is not None:
            self.poller.halt()
        if self.runtime is not None:
            self.runtime.stop()
        if self.poller is not None:
            self.poller.stop()

    def _stop_http(self) -> None:
        if self._http_thread is not None and self._http_thread.is_alive():  # shutdown() waits for serve_forever
            self._http.server.shutdown()
        if self._http is not None:
            self._http.server.server_close()
        if self.http_pool is not None:
            self.http_pool.stop()

    # --- what a second terminal needs ------------------------------------------------

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self._http.server.server_address[1]}"

    @property
    def lambda_url(self) -> str:
        assert self.lambda_endpoint is not None
        return self.lambda_endpoint.url

    def state(self, tokens: dict[str, str]) -> StackState:
        """The running stack's URLs (after `start`), for the banner and the state file."""
        assert self.gateway is not None
        return StackState(
            pid=os.getpid(),
            http=self.http_url,
            ws=self.gateway.url,
            management=self.gateway.management_endpoint,
            lambda_invoke=self.lambda_url,
            dynamodb=os.environ["INAPP_DYNAMODB_ENDPOINT"],
            in_memory=self.dynamodb is not None,
            tokens=tokens,
            tenant_claim=self.settings.tenant_claim,
            tenant=self.settings.tenant,
        )
