"""The whole local stack of SPEC §7 in one process.

Order: DynamoDB (embedded moto, or ``INAPP_DYNAMODB_ENDPOINT``) → tables from
the models → the Chalice app's HTTP routes → the WebSocket gateway → the
stream poller → the Lambda Invoke endpoint. Everything binds to loopback.
"""

from __future__ import annotations

import errno
import functools
import json
import logging
import os
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config as BotoConfig

from infra.local.dynamodb import EmbeddedDynamoDB
from infra.local.gateway import WebSocketGateway
from infra.local.lambda_endpoint import LambdaEndpoint
from infra.local.poller import StreamPoller, wake_on_writes
from infra.local.streams import ShardReader

ROOT = Path(__file__).resolve().parents[2]
DEV_SECRET = "local-dev-secret-not-for-production-0123456789"
STAGE = "dev"
WS_STAGE = "api"
APP_NAME = "inapp"
logger = logging.getLogger("inapp.local")


class PortInUseError(RuntimeError):
    pass


@dataclass(frozen=True)
class StackSettings:
    http_port: int
    ws_port: int
    lambda_port: int
    dynamodb_endpoint: str | None
    jwt_secret: str
    ws_idle_seconds: float
    ws_max_seconds: float

    @classmethod
    def from_env(cls) -> StackSettings:
        env = os.environ
        return cls(
            http_port=int(env.get("INAPP_HTTP_PORT", "8000")),
            ws_port=int(env.get("INAPP_WS_PORT", "8001")),
            lambda_port=int(env.get("INAPP_LAMBDA_PORT", "8002")),
            dynamodb_endpoint=env.get("INAPP_DYNAMODB_ENDPOINT") or None,
            jwt_secret=env.get("INAPP_JWT_SECRET") or DEV_SECRET,
            ws_idle_seconds=float(env.get("INAPP_WS_IDLE_SECONDS", "600")),
            ws_max_seconds=float(env.get("INAPP_WS_MAX_SECONDS", "7200")),
        )


def _stage_environment() -> dict[str, str]:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return dict(config["stages"][STAGE].get("environment_variables", {}))


class _Context:
    """The few LambdaContext fields handlers may read."""

    def __init__(self, name: str) -> None:
        self.function_name = f"{APP_NAME}-{STAGE}-{name}"
        self.aws_request_id = os.urandom(8).hex()
        self.memory_limit_in_mb = 512

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


class LocalStack:
    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        self.dynamodb: EmbeddedDynamoDB | None = None
        self.gateway: WebSocketGateway | None = None
        self.poller: StreamPoller | None = None
        self.lambda_endpoint: LambdaEndpoint | None = None
        self._http: Any = None
        self._http_thread: threading.Thread | None = None
        self.app: Any = None

    # --- start / stop ------------------------------------------------------------

    def start(self) -> None:
        try:
            self._start()
        except OSError as error:
            self.stop()
            if error.errno == errno.EADDRINUSE:
                raise PortInUseError(str(error)) from None
            raise

    def _start(self) -> None:
        s = self.settings
        env = os.environ
        for name, value in _stage_environment().items():
            env.setdefault(name, value)
        env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        env["AWS_ACCOUNT_ID_ENDPOINT_MODE"] = "disabled"
        env["INAPP_JWT_SECRET"] = s.jwt_secret
        if s.dynamodb_endpoint:
            endpoint = s.dynamodb_endpoint
        else:
            env.setdefault("AWS_ACCESS_KEY_ID", "local")
            env.setdefault("AWS_SECRET_ACCESS_KEY", "local")
            self.dynamodb = EmbeddedDynamoDB()
            self.dynamodb.start()
            endpoint = self.dynamodb.endpoint
        env["INAPP_DYNAMODB_ENDPOINT"] = endpoint

        from chalice.config import Config
        from chalice.local import create_local_server

        from app import app
        from chalicelib.config import load_settings
        from chalicelib.models import MODELS, InboxMessage, create_tables
        from chalicelib.service import get_delivery, get_services, reset

        self.app = app
        self.gateway = WebSocketGateway(
            self._invoke, port=s.ws_port, stage=WS_STAGE, idle_timeout=s.ws_idle_seconds, max_lifetime=s.ws_max_seconds
        )
        self.gateway.start()
        env["INAPP_WS_ENDPOINT"] = self.gateway.management_endpoint
        env["INAPP_WS_URL"] = self.gateway.url
        reset()
        create_tables(load_settings())
        get_services()
        get_delivery()  # builds and warms the management client before the first post

        config = Config(chalice_stage=STAGE, config_from_disk=json.loads((ROOT / ".chalice" / "config.json").read_text()))
        self._http = create_local_server(app, config, "127.0.0.1", s.http_port)
        self._http_thread = threading.Thread(target=self._http.server.serve_forever, name="http-api", daemon=True)
        self._http_thread.start()

        streams = boto3.client(
            "dynamodbstreams",
            endpoint_url=endpoint,
            region_name=env["AWS_DEFAULT_REGION"],
            config=BotoConfig(retries={"mode": "standard", "total_max_attempts": 3}),
        )
        arn = InboxMessage.describe_table()["LatestStreamArn"]
        reader = ShardReader(streams, arn, env["AWS_DEFAULT_REGION"], start="LATEST")
        self.poller = StreamPoller(reader, lambda batch: self._invoke("deliver", batch))
        wake_on_writes([m._get_connection().connection.client for m in MODELS.values()], self.poller)
        self.poller.start()

        send = functools.partial(self._invoke, "send")
        self.lambda_endpoint = LambdaEndpoint({"send": send, f"{APP_NAME}-{STAGE}-send": send}, port=s.lambda_port)
        self.lambda_endpoint.start()
        self._check_ready()

    def _invoke(self, name: str, event: dict[str, Any]) -> Any:
        return self.app.handler_map[name](event, _Context(name))

    def _check_ready(self) -> None:
        with urllib.request.urlopen(f"{self.http_url}/health", timeout=5) as response:
            assert json.load(response) == {"status": "ok"}
        probe = urllib.request.Request(f"{self.gateway.management_endpoint}/@connections/probe", method="GET")  # type: ignore[union-attr]
        try:
            urllib.request.urlopen(probe, timeout=5)
        except urllib.error.HTTPError as error:
            assert error.code == 410
        dry_run = urllib.request.Request(
            f"{self.lambda_url}/2015-03-31/functions/send/invocations",
            data=b"{}",
            method="POST",
            headers={"X-Amz-Invocation-Type": "DryRun"},
        )
        with urllib.request.urlopen(dry_run, timeout=5) as response:
            assert response.status == 204

    def stop(self) -> None:
        for stop in (
            self.lambda_endpoint.stop if self.lambda_endpoint else None,
            self.poller.stop if self.poller else None,
            self.gateway.stop if self.gateway else None,
            self._stop_http,
            self.dynamodb.stop if self.dynamodb else None,
        ):
            if stop is None:
                continue
            try:
                stop()
            except Exception:  # keep stopping the rest
                logger.exception("stopping a part failed")

    def _stop_http(self) -> None:
        if self._http is not None:
            self._http.server.shutdown()
            self._http.server.server_close()

    # --- what to print -------------------------------------------------------------

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self._http.server.server_address[1]}"

    @property
    def lambda_url(self) -> str:
        assert self.lambda_endpoint is not None
        return self.lambda_endpoint.url

    def banner(self, tokens: dict[str, str]) -> str:
        assert self.gateway is not None
        dynamodb = f"{os.environ['INAPP_DYNAMODB_ENDPOINT']}" + (" (embedded moto)" if self.dynamodb else "")
        lines = [
            "In-app messages — local stack",
            f"  HTTP API        {self.http_url}",
            f"  Inbox page      {self.http_url}/",
            f"  WebSocket       {self.gateway.url}?token=<JWT>",
            f"  Management API  {self.gateway.management_endpoint}",
            f"  Lambda Invoke   {self.lambda_url}  (FunctionName 'send' or '{APP_NAME}-{STAGE}-send')",
            f"  DynamoDB        {dynamodb}",
            "Tokens (valid 24 h):",
        ]
        lines += [f"  {name:<6} {token}" for name, token in tokens.items()]
        lines.append("Inbox links:")
        lines += [f"  {name:<6} {self.http_url}/#token={token}" for name, token in tokens.items() if name != "admin"]
        return "\n".join(lines)
