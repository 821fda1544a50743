"""What the local WebSocket API hands the app: API Gateway's route events, and its record of a socket."""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

API_ID = "local"


def new_connection_id() -> str:
    """API Gateway-like: 16 characters of base64, often ending in ``=``."""
    return base64.b64encode(secrets.token_bytes(11)).decode()[:15] + "="


def claimed_user(token: str | None) -> str | None:
    """The ``sub`` a token names, read without checking it: call it only once the app's ``$connect`` accepted the token."""
    try:
        sub = jwt.decode(token or "", options={"verify_signature": False}).get("sub")
    except jwt.PyJWTError:
        return None
    return sub[:128] if isinstance(sub, str) else None


# Frames posted to a socket and not yet written to it: past this, the client is not reading and is dropped.
MAX_UNSENT_BYTES = 1024 * 1024


@dataclass
class Socket:
    """A connected socket; posted frames wait in ``outbox`` for its writer (`write_out`), never for the client."""

    connection_id: str
    websocket: ServerConnection
    connected_at: float
    source_ip: str
    user_agent: str
    user_id: str | None
    client: asyncio.StreamWriter | None = None  # the client's connection to the front door, piped to this one
    last_active: float = field(default_factory=time.time)
    outbox: asyncio.Queue[str | bytes] = field(default_factory=asyncio.Queue)
    unsent: int = 0  # bytes in the outbox

    def queue(self, frame: str | bytes) -> bool:
        """Take a posted frame for the writer; False when the client is so far behind that it must go."""
        size = len(frame)
        if self.unsent + size > MAX_UNSENT_BYTES:
            return False
        self.unsent += size
        self.outbox.put_nowait(frame)
        return True

    async def flushed(self, seconds: float) -> None:
        """Until the frames posted so far are written (a close after a post must not pass it), ``seconds`` at most."""
        deadline = time.monotonic() + seconds
        while self.unsent and time.monotonic() < deadline:
            await asyncio.sleep(0.005)

    def drop(self) -> None:
        """Close a client that stopped reading, without waiting for its closing handshake (it reads nothing).

        Its own TCP connection too: the front door's pipe to it would wait for ever to write what it holds.
        """
        self.websocket.transport.abort()
        if self.client is not None:
            self.client.transport.abort()

    async def write_out(self) -> None:
        """The socket's writer, for as long as it is open: its posted frames in order, at the client's pace."""
        while True:
            frame = await self.outbox.get()
            try:
                await self.websocket.send(frame)
            except ConnectionClosed:
                return
            finally:
                self.unsent -= len(frame)


def route_event(stage: str, port: int, route: str, connection_id: str, connected_at: float, **extra: Any) -> dict[str, Any]:
    """A ``$connect``/``$default``/``$disconnect`` event as API Gateway hands it to the route's Lambda."""
    event_type = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route, "MESSAGE")
    now = time.time()
    context = {
        "routeKey": route,
        "eventType": event_type,
        "connectionId": connection_id,
        "connectedAt": int(connected_at * 1000),
        "requestTimeEpoch": int(now * 1000),
        "requestTime": datetime.fromtimestamp(now, tz=UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "requestId": secrets.token_hex(8),
        "extendedRequestId": secrets.token_hex(8),
        "messageDirection": "IN",
        "stage": stage,
        "domainName": f"127.0.0.1:{port}",
        "apiId": API_ID,
        "identity": {"sourceIp": extra.pop("source_ip", "127.0.0.1"), "userAgent": extra.pop("user_agent", "")},
    }
    if event_type == "MESSAGE":
        context["messageId"] = secrets.token_hex(8)
    if event_type == "DISCONNECT":
        context["disconnectStatusCode"] = extra.pop("status_code", 1000)
        context["disconnectReason"] = extra.pop("reason", "")
    return {"requestContext": context, "isBase64Encoded": False, **extra}
