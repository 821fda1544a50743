"""Real time: stream records in, WebSocket frames out.

`delivery` turns a stream batch into each user's counts and frames,
`frames` says which frame a record asks for, `connections` keeps each
user's live connections, `routes` answers ``$connect``/``$default``/
``$disconnect``, `closing` closes a connection with its reason, and
`poster` posts through the management API (`sigv4` signs, `http_pool`
sends, `pacing` paces each container, `budget` all of them together);
`stream_mapping` says how Lambda feeds ``deliver``.

Every function imports app.py, which reads the stream mapping; only the
``deliver`` and WebSocket functions post. So a name here is imported from
its module on first use (PEP 562 ``__getattr__``): the HTTP function's cold
start skips the posting machinery (~6 ms here).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from chalicelib.realtime.stream_mapping import (
    STREAM_BATCH_SIZE,
    STREAM_BATCH_WINDOW_SECONDS,
    STREAM_MAX_RECORD_AGE_SECONDS,
    STREAM_MAX_RETRY_ATTEMPTS,
)

if TYPE_CHECKING:
    from chalicelib.realtime.budget import AccountBudget
    from chalicelib.realtime.closing import TOKEN_EXPIRED, TOO_MANY_CONNECTIONS, Closer, CloseReason
    from chalicelib.realtime.connections import ConnectionRegistry
    from chalicelib.realtime.delivery import POST_WORKERS, Delivery
    from chalicelib.realtime.pacing import Pacer
    from chalicelib.realtime.poster import SocketPoster
    from chalicelib.realtime.routes import WebSocketRoutes

# Each lazily imported name's module, as the TYPE_CHECKING imports above name it.
_HOMES = {
    "AccountBudget": "budget",
    "TOKEN_EXPIRED": "closing",
    "TOO_MANY_CONNECTIONS": "closing",
    "Closer": "closing",
    "CloseReason": "closing",
    "ConnectionRegistry": "connections",
    "POST_WORKERS": "delivery",
    "Delivery": "delivery",
    "Pacer": "pacing",
    "SocketPoster": "poster",
    "WebSocketRoutes": "routes",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)


__all__ = [
    "POST_WORKERS",
    "STREAM_BATCH_SIZE",
    "STREAM_BATCH_WINDOW_SECONDS",
    "STREAM_MAX_RECORD_AGE_SECONDS",
    "STREAM_MAX_RETRY_ATTEMPTS",
    "TOKEN_EXPIRED",
    "TOO_MANY_CONNECTIONS",
    "AccountBudget",
    "CloseReason",
    "Closer",
    "ConnectionRegistry",
    "Delivery",
    "Pacer",
    "SocketPoster",
    "WebSocketRoutes",
]
