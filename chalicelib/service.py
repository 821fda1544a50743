"""The per-container objects the handlers share, built lazily on first use.

Nothing here runs at import time; each getter builds its objects once per
Lambda container (clients are expensive: ~300 ms for a botocore client's
first call) and the tests reset them when they change the environment.
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import boto3
from botocore.config import Config

from chalicelib.config import Settings, get_settings
from chalicelib.connections import ConnectionRegistry
from chalicelib.cursors import CursorCodec
from chalicelib.delivery import FAN_OUT_WORKERS, Delivery, ManagementPoster
from chalicelib.errors import ConfigurationError
from chalicelib.models import bind_models
from chalicelib.realtime import WebSocketRoutes
from chalicelib.sending import Sender

# 429 (LimitExceeded) and 5xx are retried by botocore's standard mode:
# exponential backoff with full jitter, at most 4 attempts in all.
MANAGEMENT_RETRIES = {"mode": "standard", "total_max_attempts": 4}


@dataclass(frozen=True)
class Services:
    settings: Settings
    cursors: CursorCodec
    sender: Sender
    registry: ConnectionRegistry


@functools.lru_cache(maxsize=1)
def get_services() -> Services:
    """Settings read, models bound, helpers built — once per container."""
    settings = get_settings()
    bind_models(settings)
    return Services(
        settings=settings,
        cursors=CursorCodec(settings.cursor_secret),
        sender=Sender(timedelta(days=settings.retention_days)),
        registry=ConnectionRegistry(),
    )


def management_client(settings: Settings) -> Any:
    """The project's own API Gateway management client, endpoint from configuration."""
    if not settings.ws_endpoint:
        raise ConfigurationError("setting INAPP_WS_ENDPOINT (or INAPP_WS_API_ID and INAPP_WS_STAGE) is required")
    config = Config(
        max_pool_connections=FAN_OUT_WORKERS + 4,
        connect_timeout=2,
        read_timeout=5,
        retries=MANAGEMENT_RETRIES,
    )
    return boto3.session.Session().client(
        "apigatewaymanagementapi", endpoint_url=settings.ws_endpoint, region_name=settings.region, config=config
    )


@functools.lru_cache(maxsize=1)
def get_poster() -> ManagementPoster:
    return ManagementPoster(management_client(get_services().settings))


@functools.lru_cache(maxsize=1)
def get_delivery() -> Delivery:
    services = get_services()
    executor = ThreadPoolExecutor(max_workers=FAN_OUT_WORKERS, thread_name_prefix="fanout")
    return Delivery(services.registry, get_poster().post, executor)


@functools.lru_cache(maxsize=1)
def get_websocket_routes() -> WebSocketRoutes:
    services = get_services()
    return WebSocketRoutes(services.settings, services.registry, get_poster().post)


def reset() -> None:
    """Forget everything built from the environment (tests change it)."""
    for getter in (get_websocket_routes, get_delivery, get_poster, get_services, get_settings):
        getter.cache_clear()
