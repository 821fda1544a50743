"""What the local WebSocket API hands the app: API Gateway's route events, and its record of a socket."""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt
from websockets.asyncio.server import ServerConnection

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


@dataclass
class Socket:
    connection_id: str
    websocket: ServerConnection
    connected_at: float
    source_ip: str
    user_agent: str
    user_id: str | None
    last_active: float = field(default_factory=time.time)


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
