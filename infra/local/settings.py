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
DEMO_TENANT = "demo"  # the tenant of the stack's own tokens when INAPP_TENANT_CLAIM is set


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
    tenant_claim: str | None = None  # INAPP_TENANT_CLAIM: the stack's own tokens then carry `tenant`
    tenant: str | None = None
    # Every runtime of each pool started with the stack, not on demand: a runtime's cold start here takes seconds
    # of the machine's CPU from every other process (on AWS a new container runs on its own share of a host), so
    # a measurement that compares steady states (the abuse run) starts them all first.
    warm_runtimes: bool = False

    def mint(self, user: str, *, admin: bool = False) -> str:
        """A token of the stack's own, of its tenant when tenants are on."""
        return mint(user, self.jwt_secret, admin=admin, tenant=self.tenant, tenant_claim=self.tenant_claim)

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
            tenant_claim=env.get("INAPP_TENANT_CLAIM") or None,
            tenant=local_tenant(env.get("INAPP_TENANT_CLAIM"), env.get("INAPP_LOCAL_TENANT")),
            warm_runtimes=env.get("INAPP_LOCAL_WARM_RUNTIMES", "") in ("1", "true"),
        )


def local_tenant(claim: str | None, tenant: str | None) -> str | None:
    """The tenant of the stack's own tokens: ``INAPP_LOCAL_TENANT`` or ``demo``, when tenants are on."""
    from chalicelib.core.tenants import TENANT, TENANT_RULE

    if not claim:
        return None
    chosen = tenant or DEMO_TENANT
    if not TENANT.fullmatch(chosen):
        raise ValueError(f"setting INAPP_LOCAL_TENANT {TENANT_RULE}, got {chosen!r}")
    return chosen


def mint(user: str, secret: str, *, admin: bool = False, tenant: str | None = None, tenant_claim: str | None = None,
         lifetime_seconds: int = 86400) -> str:  # fmt: skip
    """An HS256 token, with the tenant claim when tenants are on (``tenant_claim`` and ``tenant`` set)."""
    from chalicelib.core.auth import DEFAULT_TENANT_CLAIM, issue_token

    claim = tenant_claim or DEFAULT_TENANT_CLAIM
    return issue_token(user, secret, admin=admin, lifetime_seconds=lifetime_seconds, tenant=tenant, tenant_claim=claim)


def stage_environment() -> dict[str, str]:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return dict(config["stages"][STAGE].get("environment_variables", {}))
