"""The per-container objects the handlers share, built lazily on first use.

Nothing here runs at import time; each getter builds its objects once per
Lambda container (clients are expensive: ~300 ms for a botocore client's
first call) and the tests reset them when they change the environment.
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib import audience, broadcast, inbox, limits, realtime, sending, storage
from chalicelib.core.config import Settings, get_auth_settings, get_settings
from chalicelib.core.cursors import CursorCodec
from chalicelib.core.errors import ConfigurationError

if TYPE_CHECKING:
    from chalicelib.audience import AudienceWorker
    from chalicelib.broadcast import BroadcastFrames
    from chalicelib.inbox import EventBridgeScheduler
    from chalicelib.limits import Leases, RateLimiter
    from chalicelib.realtime import Closer, ConnectionRegistry, Delivery, SocketPoster, WebSocketRoutes
    from chalicelib.sending import Sender
    from chalicelib.storage import WorkQueue

# The API function's timeout (``lambda_timeout`` in .chalice/config.json): no request runs longer.
API_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class Services:
    """The container's settings, and the helpers several functions share, each built (and imported) on first use:
    the WebSocket functions never load the send path, nor the HTTP routes the connections' registry."""

    settings: Settings

    @functools.cached_property
    def sender(self) -> Sender:
        broadcaster = broadcast.Broadcaster(self.settings.broadcast_threshold, get_work_queue, self.settings.retention)
        return sending.Sender(self.settings.retention, get_work_queue, broadcaster)

    @functools.cached_property
    def registry(self) -> ConnectionRegistry:
        return realtime.ConnectionRegistry(max_per_user=self.settings.max_connections_per_user)


@functools.lru_cache(maxsize=1)
def get_services() -> Services:
    """Settings read and models bound — once per container."""
    settings = get_settings()
    storage.bind_models(settings)
    return Services(settings)


@functools.lru_cache(maxsize=1)
def get_cursors() -> CursorCodec:
    """Cursors sealed with the auth settings' key: read by the HTTP routes only."""
    return CursorCodec(get_auth_settings().cursor_secret)


@functools.lru_cache(maxsize=1)
def get_work_queue() -> WorkQueue:
    """The fan-out queue (audience sends, channel clean-up), from configuration."""
    import boto3  # here, not at import: only audience sends, channel deletes and the worker queue work

    settings = get_services().settings
    if not settings.fanout_queue_url:
        raise ConfigurationError("setting INAPP_FANOUT_QUEUE_URL is required")
    client = boto3.client("sqs", region_name=settings.region, endpoint_url=settings.sqs_endpoint)
    return storage.WorkQueue(client, settings.fanout_queue_url)


@functools.lru_cache(maxsize=1)
def get_wake_scheduler() -> EventBridgeScheduler | None:
    """One-time schedules that wake snoozed messages, from configuration; None without it (a snooze then fails
    naming the settings, while waking, archiving and deleting still work, cancelling no schedule)."""
    import boto3  # here, not at import: only the /me/messages/{id} changes ask for or cancel a schedule

    settings = get_services().settings
    if not settings.wake_target_arn or not settings.scheduler_role_arn:
        return None
    client = boto3.client("scheduler", region_name=settings.region, endpoint_url=settings.scheduler_endpoint)
    return inbox.EventBridgeScheduler(client, settings.wake_target_arn, settings.scheduler_role_arn, settings.schedule_group)


@functools.lru_cache(maxsize=1)
def get_audience_worker() -> AudienceWorker:
    services = get_services()
    return audience.AudienceWorker(services.sender, get_work_queue(), services.settings.fanout_chunk_size, get_broadcast_frames)


@functools.lru_cache(maxsize=1)
def get_broadcast_frames() -> BroadcastFrames | None:
    """A broadcast's frames to the users online; None without a WebSocket API (nobody can be online)."""
    if not get_services().settings.ws_management_endpoint:
        return None
    executor = ThreadPoolExecutor(max_workers=realtime.POST_WORKERS, thread_name_prefix="broadcast-posts")
    return broadcast.BroadcastFrames(get_services().registry, get_socket_poster().post, executor, closer=get_closer())


@functools.lru_cache(maxsize=1)
def get_socket_poster() -> SocketPoster:
    """Posts frames through the WebSocket API's management endpoint, from configuration."""
    import botocore.session  # here, not at import: only delivery and WebSocket functions post

    settings = get_services().settings
    if not settings.ws_management_endpoint:
        raise ConfigurationError("setting INAPP_WS_ENDPOINT is required")
    credentials = botocore.session.get_session().get_credentials()
    budget = realtime.AccountBudget(settings.post_budget) if settings.post_budget else None
    return realtime.SocketPoster(
        settings.ws_management_endpoint,
        settings.region,
        credentials,
        pool_size=realtime.POST_WORKERS + 4,
        pacer=realtime.Pacer(settings.post_rate, budget=budget),
    )


@functools.lru_cache(maxsize=1)
def get_closer() -> Closer:
    """Closes connections with a reason (a newer one beyond the cap, an expired token)."""
    poster = get_socket_poster()
    return realtime.Closer(get_services().registry, poster.post, poster.close)


@functools.lru_cache(maxsize=1)
def get_delivery() -> Delivery:
    services = get_services()
    executor = ThreadPoolExecutor(max_workers=realtime.POST_WORKERS, thread_name_prefix="posts")
    return realtime.Delivery(
        services.registry, get_socket_poster().post, executor, closer=get_closer(), held_counts=broadcast.counts_adders
    )


@functools.lru_cache(maxsize=1)
def get_request_limiter() -> RateLimiter | None:
    """Each user's requests on the /me routes, each connection's frames: None when ``INAPP_USER_RATE`` is 0."""
    settings = get_services().settings
    return limits.RateLimiter(limits.RateLimit(settings.user_rate, settings.user_burst)) if settings.user_rate else None


@functools.lru_cache(maxsize=1)
def get_bulk_leases() -> Leases:
    """One bulk change at a time per user, for as long as the API function may run (its ``lambda_timeout``)."""
    return limits.Leases(API_TIMEOUT_SECONDS)


@functools.lru_cache(maxsize=1)
def get_websocket_routes() -> WebSocketRoutes:
    services = get_services()
    return realtime.WebSocketRoutes(
        get_auth_settings, services.registry, get_socket_poster().post, get_closer(), get_request_limiter()
    )


def reset() -> None:
    """Forget everything built from the environment (tests change it)."""
    getters = (
        get_wake_scheduler,
        get_audience_worker,
        get_broadcast_frames,
        get_work_queue,
        get_websocket_routes,
        get_request_limiter,
        get_bulk_leases,
        get_delivery,
        get_closer,
        get_socket_poster,
        get_cursors,
        get_services,
        get_settings,
        get_auth_settings,
    )
    for getter in getters:
        getter.cache_clear()
