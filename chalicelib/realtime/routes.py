"""The WebSocket routes: ``$connect`` (token check, the per-user cap), ``$default`` (other frames), ``$disconnect``.

``{"action":"ping"}`` never gets here deployed or locally: a mock ``ping``
route answers it in API Gateway, with no function (infra/deploy/template.yaml).
``$default`` still answers a ping that reaches it (an API without that route).

A connection beyond the user's cap is accepted, and the user's oldest
connection closed (4008, `chalicelib.realtime.closing`): the newest tab or
device is the one the user is looking at. ``$connect`` keeps the token's
``exp`` with the connection: API Gateway checks a token only at connect,
so ``$default`` closes a connection whose token has expired (4001) at its
next frame, unanswered, and delivery sends it nothing more.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from pynamodb.exceptions import PynamoDBException

from chalicelib.core import logs
from chalicelib.core.auth import verify_token
from chalicelib.core.config import AuthSettings
from chalicelib.core.errors import BusyError, UnauthorizedError, ValidationError
from chalicelib.core.json_text import loads
from chalicelib.limits import RateLimit, RateLimiter
from chalicelib.realtime.closing import TOKEN_EXPIRED, TOO_MANY_CONNECTIONS, Closer
from chalicelib.realtime.connections import ConnectionRegistry, LiveConnection
from chalicelib.realtime.poster import Outcome

logger = logging.getLogger(__name__)

MAX_FRAME_CHARS = 4096
ERROR_HINT = 'send {"action":"ping"}'


def _frame(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode("utf-8")


def _rate_limited(limit: RateLimit, wait: int) -> dict[str, Any]:
    """The error frame of a frame past the connection's limit: what the limit is, and when to send again."""
    message = f"rate: at most {limit.rate} frames a second per connection (a burst of {limit.burst}); retry after {wait} s"
    return {"type": "error", "message": message, "retryAfter": wait}


class WebSocketRoutes:
    """What the three WebSocket routes do; ``post`` answers on the same socket."""

    def __init__(
        self,
        auth: Callable[[], AuthSettings],
        registry: ConnectionRegistry,
        post: Callable[[str, bytes], Outcome],
        closer: Closer,
        limiter: RateLimiter | None = None,
    ) -> None:
        self._auth = auth  # read at the first $connect: $default and $disconnect check no token
        self._registry = registry
        self._post = post
        self._closer = closer
        self._limiter = limiter  # frames a second per connection (None: no limit)

    def connect(self, event: dict[str, Any]) -> dict[str, Any]:
        """Verify ``?token=``; refuse the handshake (401) without storing anything."""
        context = event.get("requestContext") or {}
        logs.clear()
        logs.bind(request_id=context.get("requestId"))
        token = (event.get("queryStringParameters") or {}).get("token")
        try:
            principal = verify_token(token, self._auth(), field="token")
        except UnauthorizedError as error:
            logger.info("connect refused", extra={"reason": str(error)})  # why, never the token
            return {"statusCode": 401, "body": str(error)}
        logs.bind(user_id=principal.user_id)
        connected_at = int(context.get("connectedAt") or time.time() * 1000)
        live = LiveConnection(context["connectionId"], principal.user_id, connected_at, principal.expires_at)
        try:
            self._registry.connect(live)
        except BusyError:  # still conflicting or throttled after the retries: the client reconnects later
            logger.warning("connect busy")
            return {"statusCode": 429, "body": "busy; reconnect shortly"}
        logger.info("connected", extra={"connection_id": live.connection_id})
        self._enforce_cap(live)
        return {"statusCode": 200}

    def _enforce_cap(self, live: LiveConnection) -> None:
        """Close the user's oldest connections beyond the cap; if storage is busy, the next connect (and delivery's
        own cap) still bound them."""
        try:
            for oldest in self._registry.beyond_cap(live):
                self._closer.close(oldest, TOO_MANY_CONNECTIONS)
        except (BusyError, PynamoDBException):
            logger.warning("enforcing the connection cap failed", extra={"connection_id": live.connection_id})

    def message(self, connection_id: str, body: str | None) -> dict[str, Any]:
        """``{"action":"ping"}`` → ``{"type":"pong"}``; anything else, or a frame past the limit → an error frame;
        an expired token's → closed."""
        if self._closed_for_expiry(connection_id):
            return {"statusCode": 200}
        wait = self._limiter.admit(f"conn#{connection_id}") if self._limiter else 0
        reply = _rate_limited(self._limiter.limit, wait) if self._limiter and wait else self._answer(body)
        self._post(connection_id, _frame(reply))
        return {"statusCode": 200}

    def _closed_for_expiry(self, connection_id: str) -> bool:
        """Close the connection (4001) if its token's ``exp`` has passed; True when it did. One GetItem."""
        try:
            live = self._registry.find(connection_id)
        except PynamoDBException:  # cannot tell now: answer this frame; delivery withholds frames all the same
            logger.warning("reading a connection failed", extra={"connection_id": connection_id})
            return False
        if live is None or not live.expired(time.time()):
            return False
        self._closer.close(live, TOKEN_EXPIRED)
        return True

    @staticmethod
    def _answer(body: str | None) -> dict[str, Any]:
        if body is None or len(body) > MAX_FRAME_CHARS:
            return {"type": "error", "message": f"frame: too large or empty; {ERROR_HINT}"}
        try:
            frame = loads(body, "frame")
        except ValidationError as error:
            return {"type": "error", "message": f"{error}; {ERROR_HINT}"}
        if not isinstance(frame, dict):
            return {"type": "error", "message": f"frame: must be a JSON object; {ERROR_HINT}"}
        if frame.get("action") == "ping":
            return {"type": "pong"}
        return {"type": "error", "message": f"action: unknown action {str(frame.get('action'))[:64]!r}; {ERROR_HINT}"}

    def disconnect(self, connection_id: str) -> dict[str, Any]:
        logs.clear()
        user_id = self._registry.disconnect(connection_id)
        logs.bind(user_id=user_id)
        logger.info("disconnected", extra={"connection_id": connection_id})
        return {"statusCode": 200}
