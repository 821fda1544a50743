"""A local API Gateway WebSocket API: sockets, route events, management API.

One port serves both, like API Gateway's two hostnames folded into one:

* ``GET /?token=…`` with ``Upgrade: websocket`` is handed to a `websockets`
  server behind it (websockets 17 cannot parse requests with a body, so the
  front server reads every request head first and pipes upgrades through);
* ``POST/GET/DELETE /{stage}/@connections/{id}`` is the management API
  (`infra.local.apigateway.management`): 410 for unknown or closed ids, 413
  above 128 KiB.

The app's ``$connect``/``$default``/``$disconnect`` handlers get events of
API Gateway's shape; a non-2xx ``$connect`` refuses the handshake, and a
socket becomes postable only once ``$connect`` returned (posting earlier
answers 410, as API Gateway does). ``{"action":"ping"}`` is answered here,
as the template's mock route answers it: no function runs. Idle sockets
close after ``idle_timeout`` and every socket after ``max_lifetime``.

Like API Gateway's access log, it logs every ``$connect`` (accepted or
refused, with the reason the app gave) and ``$disconnect``, so a refused
handshake can be told apart from a network error at a glance. Lines of an
accepted socket carry its connection id and the user id its token names. A
refused token's claims are unverified (anyone can write any ``sub``): its
line carries no user.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from chalicelib.core import logs
from infra.local.apigateway.events import Socket, claimed_user, new_connection_id, route_event
from infra.local.apigateway.management import MAX_POST_BYTES, FrontDoor
from infra.local.faults import FaultPlan

logger = logging.getLogger("inapp.local.gateway")

MAX_HEAD_BYTES = 64 * 1024
CLOSE_TIMEOUT_SECONDS = 0.5  # a client that never answers our close frame does not hold up a stop

Invoke = Callable[[str, dict[str, Any]], Any]
# Routes answered by the gateway itself, as the template's MOCK integrations answer them deployed: no function runs.
MOCK_ROUTES = {"ping": '{"type":"pong"}'}


def mock_reply(body: str) -> str | None:
    """API Gateway's route selection (``$request.body.action``): a mock route's answer, or None for ``$default``.

    A body that is not a JSON object, or whose ``action`` is not a route key, goes to ``$default``.
    """
    try:
        frame = json.loads(body)
    except ValueError:
        return None
    action = frame.get("action") if isinstance(frame, dict) else None
    return MOCK_ROUTES.get(action) if isinstance(action, str) else None


async def _answer(connection: ServerConnection, reply: str) -> None:
    with contextlib.suppress(ConnectionClosed):
        await connection.send(reply)


class WebSocketGateway(FrontDoor):
    """Runs in its own thread with its own event loop."""

    def __init__(
        self,
        invoke: Invoke,
        *,
        port: int,
        stage: str = "api",
        idle_timeout: float = 600.0,
        max_lifetime: float = 7200.0,
        faults: FaultPlan | None = None,
    ) -> None:
        self._invoke = invoke
        self.faults = faults or FaultPlan()
        self.port = port
        self.stage = stage
        self.idle_timeout = idle_timeout
        self.max_lifetime = max_lifetime
        self.sockets: dict[str, Socket] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="ws-gateway", daemon=True)
        self._front: asyncio.Server | None = None
        self._inner: Server | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._doors: set[asyncio.Task[Any]] = set()  # one per connection to the front door
        self._writers: set[asyncio.StreamWriter] = set()
        self._clients: dict[tuple[str, int], asyncio.StreamWriter] = {}

    # --- lifecycle -----------------------------------------------------------

    def start(self) -> None:
        self._thread.start()
        # In a context of its own: the server's tasks copy the context they start in, and the caller's may hold
        # a user bound to the logs (`chalicelib.core.logs`) that every line of every socket would then carry.
        starting = contextvars.Context().run(asyncio.run_coroutine_threadsafe, self._start(), self._loop)
        starting.result(timeout=10)

    async def _start(self) -> None:
        self._inner = await serve(
            self._session,
            "127.0.0.1",
            0,
            process_request=self._connect,
            ping_interval=None,  # API Gateway never pings clients; they ping us
            max_size=MAX_POST_BYTES,
            server_header=None,
            close_timeout=CLOSE_TIMEOUT_SECONDS,
        )
        self._front = await asyncio.start_server(self._front_door, "127.0.0.1", self.port, limit=MAX_HEAD_BYTES)
        self.port = self._front.sockets[0].getsockname()[1]
        self._watchdog = asyncio.create_task(self._enforce_timeouts())

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    async def _stop(self) -> None:
        """Close every socket (each gets its ``$disconnect``), then every other connection, without cancelling them.

        Cancelling a connection's task instead makes asyncio log an error with
        a traceback for each one (its ``start_server`` callback asks a
        cancelled task for its exception).
        """
        if self._watchdog:
            self._watchdog.cancel()
        if self._front:
            self._front.close()
        closing = [sock.websocket.close(1001, "Going away") for sock in list(self.sockets.values())]
        await asyncio.gather(*closing, return_exceptions=True)
        if self._inner:
            self._inner.close()
            await self._inner.wait_closed()
        for writer in list(self._writers):  # keep-alive management connections, pipes
            writer.close()
        running = [*self._doors, *self._tasks]
        if running:
            await asyncio.wait(running, timeout=CLOSE_TIMEOUT_SECONDS)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    @property
    def management_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{self.stage}"

    async def _call(self, name: str, event: dict[str, Any]) -> Any:
        return await asyncio.to_thread(self._invoke, name, event)

    # --- sockets --------------------------------------------------------------

    async def _connect(self, connection: ServerConnection, request: Request) -> Response | None:
        """``$connect``: the handshake goes on only if the app answers 2xx."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.path).query).items()}
        connection_id = new_connection_id()
        connected_at = time.time()
        headers = {k: v for k, v in request.headers.raw_items()}
        source_ip = request.headers.get("X-Forwarded-For", "127.0.0.1")
        user_agent = request.headers.get("User-Agent", "")
        event = route_event(
            self.stage,
            self.port,
            "$connect",
            connection_id,
            connected_at,
            headers=headers,
            multiValueHeaders={k: [v] for k, v in headers.items()},
            queryStringParameters=query or None,
            multiValueQueryStringParameters={k: [v] for k, v in query.items()} or None,
            source_ip=source_ip,
            user_agent=user_agent,
        )
        try:
            result = await self._call("ws_connect", event)
        except Exception:
            logger.exception("websocket refused: $connect failed")
            return connection.respond(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal server error\n")
        status = int((result or {}).get("statusCode", 200))
        if not 200 <= status < 300:
            reason = str((result or {}).get("body") or "Forbidden")
            logger.info("websocket refused %s: %s", status, reason)
            return connection.respond(HTTPStatus(status), reason + "\n")
        user_id = claimed_user(query.get("token"))  # verified now: the app accepted this very token
        logs.bind(user_id=user_id)  # this task's context only
        logger.info("websocket connected %s", connection_id)
        client = self._clients.get(tuple(connection.remote_address[:2]))  # its client's end of the front door's pipe
        connection.inapp = Socket(connection_id, connection, connected_at, source_ip, user_agent, user_id, client)  # type: ignore[attr-defined]
        return None

    async def _session(self, connection: ServerConnection) -> None:
        sock: Socket = connection.inapp  # type: ignore[attr-defined]
        self.sockets[sock.connection_id] = sock
        writer = asyncio.create_task(sock.write_out())
        try:
            async for message in connection:
                sock.last_active = time.time()
                body = message if isinstance(message, str) else message.decode("utf-8", "replace")
                if (reply := mock_reply(body)) is not None:
                    await _answer(connection, reply)
                    continue
                event = route_event(self.stage, self.port, "$default", sock.connection_id, sock.connected_at, body=body)
                task = asyncio.create_task(self._default(event))
                self._tasks.add(task)  # keep a reference until it is done
                task.add_done_callback(self._tasks.discard)
        except ConnectionClosed:
            pass
        finally:
            self.sockets.pop(sock.connection_id, None)
            writer.cancel()
            await self._disconnect(sock, connection.close_code or 1006, connection.close_reason or "")

    async def _disconnect(self, sock: Socket, status_code: int, reason: str) -> None:
        logs.bind(user_id=sock.user_id)
        logger.info("websocket disconnected %s: %s %s", sock.connection_id, status_code, reason or "(no reason)")
        event = route_event(
            self.stage, self.port, "$disconnect", sock.connection_id, sock.connected_at, status_code=status_code, reason=reason
        )
        try:
            await self._call("ws_disconnect", event)
        except Exception:
            logger.exception("$disconnect handler failed")

    async def _default(self, event: dict[str, Any]) -> None:
        try:
            await self._call("ws_message", event)
        except Exception:
            logger.exception("$default handler failed")

    async def _enforce_timeouts(self) -> None:
        while True:
            await asyncio.sleep(min(1.0, self.idle_timeout / 4, self.max_lifetime / 4))
            now = time.time()
            for sock in list(self.sockets.values()):
                if now - sock.connected_at >= self.max_lifetime or now - sock.last_active >= self.idle_timeout:
                    await sock.websocket.close(1001, "Going away")
