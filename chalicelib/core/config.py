"""Settings read once from the environment into one frozen object.

Table names have no defaults: a missing one fails loudly with its name, so a
misconfigured stage never writes into a table it guessed.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from datetime import timedelta

from chalicelib.core.errors import ConfigurationError

TABLE_VARIABLES = {
    "inbox": "INAPP_INBOX_TABLE",
    "channels": "INAPP_CHANNELS_TABLE",
    "counters": "INAPP_COUNTERS_TABLE",
    "idempotency": "INAPP_IDEMPOTENCY_TABLE",
    "connections": "INAPP_CONNECTIONS_TABLE",
    "subscribers": "INAPP_SUBSCRIBERS_TABLE",
    "sends": "INAPP_SENDS_TABLE",
}

# Posts per second to @connections from one function container (its fan-out threads share them):
# one batch at a time per stream shard, so five busy shards × 1,500 = 7,500/s, three quarters of the
# account-wide 10,000 RPS throttle (docs/operations.md).
DEFAULT_POST_RATE = 1500
# Posts per second to @connections from every container together (`chalicelib.realtime.budget`): half the
# account-wide 10,000 RPS, the rest left to the account's other APIs. 0: each container paces only itself.
DEFAULT_POST_BUDGET = 5000
SSM_ATTEMPTS = 8
# Messages one bulk change (mark all read, seen, archive) changes per request; `more` asks for the next call.
# Paced at 500 write units a second per user (chalicelib/inbox/states.py), a write in a transaction costs
# 2 units per started KB: 1,000 messages of up to 1 KB cost 2,000 units to mark read or seen (10 transactions
# of 100, ~4 s) and 4,000 to archive (a delete and a put each: 20 transactions of 50, ~8 s), well within a
# 20 s aim under API Gateway's 29 s. Larger messages cost more: the request's unit budget ends it sooner.
DEFAULT_BROADCAST_THRESHOLD = 10_000  # subscribers: an audience send to more is a broadcast (stored once)
DEFAULT_BULK_LIMIT = 1000
# Live WebSocket connections per user: a new one beyond it closes the user's oldest (code 4008), and delivery
# posts to at most this many of a user's connections, so one user's sockets add a bounded share to a batch.
DEFAULT_MAX_CONNECTIONS_PER_USER = 10

# Requests a second per user on the /me routes, and frames a second per WebSocket connection, with a burst
# (`chalicelib.limits`): a page load makes about 5 requests and a bulk "mark all read" loop a few a second,
# so 20 a second with 100 saved up never stops a person, and stops a script at 1,200 a minute. 0: no limit.
DEFAULT_USER_RATE = 20
DEFAULT_USER_BURST = 100


@dataclass(frozen=True)
class AuthSettings:
    """How tokens are checked and cursors sealed: read only by the functions that need it.

    Apart from the rest so that a wrong auth setting fails the first request
    with the setting's name and never the stream, queue or ``send`` functions,
    which verify no token; and so that only they read the SSM parameter.
    """

    jwt_secret: str | None
    jwks_url: str | None
    jwt_issuer: str | None
    jwt_audience: str | None  # checked when set: an ID token's `aud`, a Cognito access token's `client_id`
    roles_claim: str
    cursor_secret: str
    tenant_claim: str | None = None  # the claim naming the caller's tenant (`chalicelib.core.tenants`); None: one tenant


@dataclass(frozen=True)
class Settings:
    """The service's configuration (docs/configuration.md lists every variable)."""

    tables: dict[str, str]
    region: str
    dynamodb_endpoint: str | None
    retention_days: int
    cors_origins: tuple[str, ...]
    ws_management_endpoint: str | None
    ws_client_url: str | None
    fanout_queue_url: str | None
    sqs_endpoint: str | None
    fanout_chunk_size: int
    post_rate: int = DEFAULT_POST_RATE
    post_budget: int = DEFAULT_POST_BUDGET
    bulk_limit: int = DEFAULT_BULK_LIMIT
    max_connections_per_user: int = DEFAULT_MAX_CONNECTIONS_PER_USER
    user_rate: int = DEFAULT_USER_RATE
    user_burst: int = DEFAULT_USER_BURST
    wake_target_arn: str | None = None  # the ``wake`` function, which snoozed messages' schedules invoke
    scheduler_role_arn: str | None = None  # the role EventBridge Scheduler invokes it with
    schedule_group: str = "default"
    scheduler_endpoint: str | None = None
    tenant_claim: str | None = None  # tenants on: the ``send`` Lambda then requires its event's ``tenant``
    broadcast_threshold: int = DEFAULT_BROADCAST_THRESHOLD  # audience sends to more subscribers are stored once

    @property
    def retention(self) -> timedelta:
        """How long a message is kept: its expiry is its id's time plus this."""
        return timedelta(days=self.retention_days)


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"setting {name} is required but not set")
    return value


def _optional(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def _positive_int(name: str, default: int, *, zero: bool = False) -> int:
    raw = os.environ.get(name, "").strip() or str(default)
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"setting {name} must be an integer, got {raw!r}") from None
    if value < 0 or (value == 0 and not zero):
        raise ConfigurationError(f"setting {name} must be positive{' or 0' if zero else ''}, got {value}")
    return value


def _websocket_api(variable: str) -> str | None:
    """An address of the WebSocket API, as the template passes it (built with the partition's URL suffix)."""
    value = _optional(variable)
    return value.rstrip("/") if value else None


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def _management_endpoint() -> str | None:
    """Where frames are posted, signed: https, except on loopback (the local stack's gateway)."""
    endpoint = _websocket_api("INAPP_WS_ENDPOINT")
    if endpoint is None or endpoint.startswith("https://"):
        return endpoint
    host = endpoint.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
    if endpoint.startswith("http://") and host in LOOPBACK_HOSTS:
        return endpoint
    raise ConfigurationError("setting INAPP_WS_ENDPOINT must be an https:// URL (signed requests carry credentials)")


def _secret_from_parameter() -> str | None:
    """The service secret from an SSM SecureString, so it never sits in a template or config.

    Read once per container by the functions that check tokens; retried with
    backoff when throttled (GetParameter allows 40 TPS per account by default,
    and a burst of cold starts can pass it).
    """
    name = _optional("INAPP_SECRET_PARAMETER")
    if not name:
        return None
    import boto3
    from botocore.config import Config

    client = boto3.client("ssm", config=Config(retries={"mode": "standard", "max_attempts": SSM_ATTEMPTS}))
    response = client.get_parameter(Name=name, WithDecryption=True)
    return str(response["Parameter"]["Value"])


def load_auth_settings() -> AuthSettings:
    """The token and cursor settings, failing with the missing setting's name."""
    jwks_url = _optional("INAPP_JWKS_URL")
    stored_secret = _secret_from_parameter()
    jwt_secret = _optional("INAPP_JWT_SECRET") or (None if jwks_url else stored_secret)
    if not jwt_secret and not jwks_url:
        raise ConfigurationError("setting INAPP_JWT_SECRET or INAPP_JWKS_URL is required but not set")
    if jwks_url and not _optional("INAPP_JWT_ISSUER"):
        # A shared JWKS (a Cognito region's, an OIDC provider's) signs for others too: the issuer says whose.
        raise ConfigurationError("setting INAPP_JWT_ISSUER is required with INAPP_JWKS_URL")
    cursor_secret = _optional("INAPP_CURSOR_SECRET") or stored_secret or jwt_secret
    if not cursor_secret:
        raise ConfigurationError("setting INAPP_CURSOR_SECRET is required when INAPP_JWKS_URL is used")
    return AuthSettings(
        jwt_secret=jwt_secret,
        jwks_url=jwks_url,
        jwt_issuer=_optional("INAPP_JWT_ISSUER"),
        jwt_audience=_optional("INAPP_JWT_AUDIENCE"),
        roles_claim=_optional("INAPP_ROLES_CLAIM") or "roles",
        cursor_secret=cursor_secret,
        tenant_claim=_optional("INAPP_TENANT_CLAIM"),
    )


def load_settings() -> Settings:
    """Read every setting but the auth ones from the environment, failing on the first missing one."""
    origins = tuple(o.strip() for o in os.environ.get("INAPP_CORS_ORIGINS", "").split(",") if o.strip())
    return Settings(
        tables={kind: _required(var) for kind, var in TABLE_VARIABLES.items()},
        region=_optional("AWS_REGION") or _optional("AWS_DEFAULT_REGION") or "us-east-1",
        dynamodb_endpoint=_optional("INAPP_DYNAMODB_ENDPOINT"),
        retention_days=_positive_int("INAPP_RETENTION_DAYS", 365),
        cors_origins=origins,
        ws_management_endpoint=_management_endpoint(),  # where frames are posted
        ws_client_url=_websocket_api("INAPP_WS_URL"),  # what browsers connect to
        post_rate=_positive_int("INAPP_POST_RATE", DEFAULT_POST_RATE),
        post_budget=_positive_int("INAPP_POST_BUDGET", DEFAULT_POST_BUDGET, zero=True),
        fanout_queue_url=_optional("INAPP_FANOUT_QUEUE_URL"),  # audience sends and channel clean-up
        sqs_endpoint=_optional("INAPP_SQS_ENDPOINT"),
        fanout_chunk_size=_positive_int("INAPP_FANOUT_CHUNK_SIZE", 500),  # subscribers per worker step
        bulk_limit=_positive_int("INAPP_BULK_LIMIT", DEFAULT_BULK_LIMIT),  # messages per bulk change request
        max_connections_per_user=_positive_int("INAPP_MAX_CONNECTIONS_PER_USER", DEFAULT_MAX_CONNECTIONS_PER_USER),
        user_rate=_positive_int("INAPP_USER_RATE", DEFAULT_USER_RATE, zero=True),  # per user (HTTP) and connection (WS)
        user_burst=_positive_int("INAPP_USER_BURST", DEFAULT_USER_BURST),
        wake_target_arn=_optional("INAPP_WAKE_TARGET_ARN"),
        scheduler_role_arn=_optional("INAPP_SCHEDULER_ROLE_ARN"),
        schedule_group=_optional("INAPP_SCHEDULE_GROUP") or "default",
        scheduler_endpoint=_optional("INAPP_SCHEDULER_ENDPOINT"),
        tenant_claim=_optional("INAPP_TENANT_CLAIM"),  # off by default: one tenant, nothing scoped
        broadcast_threshold=_positive_int("INAPP_BROADCAST_THRESHOLD", DEFAULT_BROADCAST_THRESHOLD, zero=True),
    )


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read on first use (never at import time)."""
    return load_settings()


@functools.lru_cache(maxsize=1)
def get_auth_settings() -> AuthSettings:
    """The process-wide auth settings, read on the first token check (never by stream or queue functions)."""
    return load_auth_settings()
