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
its module on first use (`chalicelib.core.lazy`): the HTTP function's cold
start skips the posting machinery (~6 ms here).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core import lazy

if TYPE_CHECKING:
    from chalicelib.realtime.budget import AccountBudget as AccountBudget
    from chalicelib.realtime.closing import TOKEN_EXPIRED as TOKEN_EXPIRED
    from chalicelib.realtime.closing import TOO_MANY_CONNECTIONS as TOO_MANY_CONNECTIONS
    from chalicelib.realtime.closing import Closer as Closer
    from chalicelib.realtime.closing import CloseReason as CloseReason
    from chalicelib.realtime.connections import ConnectionRegistry as ConnectionRegistry
    from chalicelib.realtime.connections import LiveConnection as LiveConnection
    from chalicelib.realtime.delivery import POST_WORKERS as POST_WORKERS
    from chalicelib.realtime.delivery import Delivery as Delivery
    from chalicelib.realtime.late import LATE_DELIVERY_MS as LATE_DELIVERY_MS
    from chalicelib.realtime.pacing import Pacer as Pacer
    from chalicelib.realtime.poster import Outcome as Outcome
    from chalicelib.realtime.poster import SocketPoster as SocketPoster
    from chalicelib.realtime.routes import WebSocketRoutes as WebSocketRoutes
    from chalicelib.realtime.stream_mapping import STREAM_BATCH_SIZE as STREAM_BATCH_SIZE
    from chalicelib.realtime.stream_mapping import STREAM_BATCH_WINDOW_SECONDS as STREAM_BATCH_WINDOW_SECONDS
    from chalicelib.realtime.stream_mapping import STREAM_MAX_RECORD_AGE_SECONDS as STREAM_MAX_RECORD_AGE_SECONDS
    from chalicelib.realtime.stream_mapping import STREAM_MAX_RETRY_ATTEMPTS as STREAM_MAX_RETRY_ATTEMPTS

if not TYPE_CHECKING:
    __getattr__, __dir__, __all__ = lazy.exports(
        __name__,
        {
            "budget": ("AccountBudget",),
            "closing": ("TOKEN_EXPIRED", "TOO_MANY_CONNECTIONS", "CloseReason", "Closer"),
            "connections": ("ConnectionRegistry", "LiveConnection"),
            "delivery": ("POST_WORKERS", "Delivery"),
            "late": ("LATE_DELIVERY_MS",),
            "pacing": ("Pacer",),
            "poster": ("Outcome", "SocketPoster"),
            "routes": ("WebSocketRoutes",),
            "stream_mapping": (
                "STREAM_BATCH_SIZE",
                "STREAM_BATCH_WINDOW_SECONDS",
                "STREAM_MAX_RECORD_AGE_SECONDS",
                "STREAM_MAX_RETRY_ATTEMPTS",
            ),
        },
    )
