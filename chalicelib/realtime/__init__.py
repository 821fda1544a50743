"""Real time: stream records in, WebSocket frames out.

`delivery` turns a stream batch into each user's counts and frames,
`frames` says which frame a record asks for, `connections` keeps each
user's live connections, `routes` answers ``$connect``/``$default``/
``$disconnect``, `closing` closes a connection with its reason, and
`poster` posts through the management API (`sigv4` signs, `http_pool`
sends, `pacing` paces each container, `budget` all of them together).
"""

from chalicelib.realtime.budget import AccountBudget
from chalicelib.realtime.closing import TOKEN_EXPIRED, TOO_MANY_CONNECTIONS, Closer, CloseReason
from chalicelib.realtime.connections import ConnectionRegistry
from chalicelib.realtime.delivery import POST_WORKERS, STREAM_BATCH_SIZE, STREAM_BATCH_WINDOW_SECONDS, Delivery
from chalicelib.realtime.pacing import Pacer
from chalicelib.realtime.poster import SocketPoster
from chalicelib.realtime.routes import WebSocketRoutes

__all__ = [
    "POST_WORKERS",
    "STREAM_BATCH_SIZE",
    "STREAM_BATCH_WINDOW_SECONDS",
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
