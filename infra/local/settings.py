"""What `make run` is asked for: ports, endpoints, secret, limits, log format and faults, from the environment."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from infra.local import DEV_SECRET, console_logs
from infra.local.faults import FaultPlan
from infra.local.state import ROOT

STAGE = "dev"


WS_STAGE = "api"


APP_NAME = "inapp"


class PortInUseError(RuntimeError):
    """A port the stack was asked to serve on is taken."""


@dataclass(frozen=True)
class StackSettings:
    http_port: int
    ws_port: int
    lambda_port: int
    dynamodb_endpoint: str | None
    sqs_endpoint: str | None
    jwt_secret: str
    jwks_url: str | None  # your identity provider's keys: the stack then mints no tokens
    ws_idle_seconds: float
    ws_max_seconds: float
    log_format: str
    faults: FaultPlan = field(default_factory=FaultPlan)

    @classmethod
    def from_env(cls) -> StackSettings:
        env = os.environ
        return cls(
            http_port=int(env.get("INAPP_HTTP_PORT", "8000")),
            ws_port=int(env.get("INAPP_WS_PORT", "8001")),
            lambda_port=int(env.get("INAPP_LAMBDA_PORT", "8002")),
            dynamodb_endpoint=env.get("INAPP_DYNAMODB_ENDPOINT") or None,
            sqs_endpoint=env.get("INAPP_SQS_ENDPOINT") or None,
            jwt_secret=env.get("INAPP_JWT_SECRET") or DEV_SECRET,
            jwks_url=env.get("INAPP_JWKS_URL") or None,
            ws_idle_seconds=float(env.get("INAPP_WS_IDLE_SECONDS", "600")),
            ws_max_seconds=float(env.get("INAPP_WS_MAX_SECONDS", "7200")),
            log_format=console_logs.log_format(),
            faults=FaultPlan.parse(env.get("INAPP_FAULTS", "")),
        )


def stage_environment() -> dict[str, str]:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return dict(config["stages"][STAGE].get("environment_variables", {}))
