"""Closing a connection from the server, with the reason the client needs.

API Gateway closes a connection only through ``DELETE @connections/{id}``,
which takes no close code: the client sees 1000 (AWS's ``$disconnect`` says
"Connection Closed Normally"). So the code travels in a frame posted just
before, ``{"type":"close","code":…,"reason":…}``, and the browser client
closes its socket with that code itself (`inbox-client.js`): 4008 when a
newer connection of the user pushed it beyond the cap (no reconnect), 4001
when its token expired (reconnect with a fresh token).

The connection is forgotten before the ``DELETE``, so the ``$disconnect``
that follows finds nothing left to do. Every step is safe to repeat (a
retried stream batch closes again): a second frame or ``DELETE`` answers
410, forgetting a forgotten connection changes nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from pynamodb.exceptions import PynamoDBException

from chalicelib.core.errors import BusyError
from chalicelib.realtime.connections import ConnectionRegistry, LiveConnection
from chalicelib.realtime.poster import Outcome

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CloseReason:
    code: int
    reason: str

    @property
    def frame(self) -> bytes:
        return json.dumps({"type": "close", "code": self.code, "reason": self.reason}, separators=(",", ":")).encode()


TOKEN_EXPIRED = CloseReason(4001, "token expired")
TOO_MANY_CONNECTIONS = CloseReason(4008, "too many connections")


class Closer:
    """Tells a connection why, forgets it, closes it."""

    def __init__(
        self, registry: ConnectionRegistry, post: Callable[[str, bytes], Outcome], delete: Callable[[str], Outcome]
    ) -> None:
        self._registry = registry
        self._post = post
        self._delete = delete

    def close(self, live: LiveConnection, why: CloseReason) -> bool:
        """True once it is forgotten; False when storage would not (conflicting, throttled): a later call retries."""
        self._post(live.connection_id, why.frame)  # any answer: a gone socket needs no reason
        try:
            self._registry.forget(live)
        except (BusyError, PynamoDBException):
            logger.warning("forgetting a closed connection failed", extra={"connection_id": live.connection_id})
            return False
        self._delete(live.connection_id)
        logger.info("connection closed", extra={"connection_id": live.connection_id, "code": why.code})
        return True
