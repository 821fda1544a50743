"""The local WebSocket API's front door and its management endpoint, ``POST/GET/DELETE /{stage}/@connections/{id}``.

It answers as API Gateway's does: 410 for an unknown, closed or
still-connecting id, 403 for any other path, 413 above 128 KiB (checked
by the front door, `parse_head` and `respond` being its HTTP), and the
faults `INAPP_FAULTS` asks for (410, 429, 500, delays) on posts.

A post is answered once the frame is queued for the socket, as API
Gateway's is: the poster never waits for the client to read. Before,
each post awaited the write to the client's socket, so a client that
stopped reading (the abuse run's mallory holds sockets open and never
reads them) held every post to it, and with them ``deliver``'s batch and
everyone's frames in it. A client more than `MAX_UNSENT_BYTES` behind is
closed (1001) and its posts answer 410 — AWS documents no such bound;
this one only keeps the emulator's memory in check.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from websockets.asyncio.server import Server
from websockets.protocol import State

from infra.local.apigateway.events import Socket
from infra.local.faults import FaultPlan

Answer = tuple[int, Any, str | None]  # status, JSON payload, x-amzn-ErrorType
MAX_POST_BYTES = 128 * 1024  # API Gateway's cap on a posted frame (and on a client's frame)
FLUSH_SECONDS = 2.0  # a DELETE waits this long at most for the frames posted before it (a client not reading)


def _iso(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class FrontDoor:
    """The gateway's one port: each request head is read here, upgrades piped to the WebSocket server behind it.

    A mixin of `WebSocketGateway`, which owns the state named below.
    """

    sockets: dict[str, Socket]
    stage: str
    faults: FaultPlan
    _inner: Server | None
    _doors: set[asyncio.Task[Any]]
    _writers: set[asyncio.StreamWriter]
    _clients: dict[tuple[str, int], asyncio.StreamWriter]  # the pipe's end at the WebSocket server → its client's

    async def _front_door(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        door = asyncio.current_task()
        if door is not None:
            self._doors.add(door)
        self._writers.add(writer)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                method, path, headers = parse_head(head)
                if headers.get("upgrade", "").lower() == "websocket":
                    peer = writer.get_extra_info("peername") or ("127.0.0.1", 0)
                    await self._pipe(head, peer[0], reader, writer)
                    return
                length = int(headers.get("content-length") or 0)
                if length > MAX_POST_BYTES:
                    await respond(writer, 413, {"message": "Request Entity Too Large"}, "PayloadTooLargeException")
                    return
                body = await reader.readexactly(length) if length else b""
                status, payload, error_type = await self._manage(method, path, body)
                await respond(writer, status, payload, error_type)
                if headers.get("connection", "").lower() == "close":
                    return
        finally:
            writer.close()
            self._writers.discard(writer)
            self._doors.discard(door)

    async def _pipe(self, head: bytes, client_ip: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self._inner is not None
        inner_port = self._inner.sockets[0].getsockname()[1]
        inner_reader, inner_writer = await asyncio.open_connection("127.0.0.1", inner_port)
        forwarded = head[:-2] + f"X-Forwarded-For: {client_ip}\r\n\r\n".encode()
        inner_writer.write(forwarded)
        pipe_end = tuple(inner_writer.get_extra_info("sockname")[:2])  # the WebSocket server's remote_address
        self._clients[pipe_end] = writer  # a dropped socket's client is dropped here too (`Socket.drop`)

        async def copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while chunk := await source.read(65536):
                    sink.write(chunk)
                    await sink.drain()
            except ConnectionError:
                pass
            finally:
                sink.close()

        try:
            await asyncio.gather(copy(reader, inner_writer), copy(inner_reader, writer))
        finally:
            self._clients.pop(pipe_end, None)

    async def _manage(self, method: str, path: str, body: bytes) -> Answer:
        return await answer(self.sockets, self.stage, self.faults, method, path, body)


async def answer(sockets: dict[str, Socket], stage: str, faults: FaultPlan, method: str, path: str, body: bytes) -> Answer:
    """The management API's answer to one request: ``(status, payload, x-amzn-ErrorType)``."""
    prefix = f"/{stage}/@connections/"
    if not path.startswith(prefix):
        return 403, {"message": "Forbidden"}, "ForbiddenException"
    connection_id = unquote(path[len(prefix) :].split("?", 1)[0])
    sock = sockets.get(connection_id)
    if sock is None or sock.websocket.state is not State.OPEN:  # closing: its session has yet to forget it
        return 410, {"message": "Gone"}, "GoneException"
    if method == "POST":
        injected = await _injected_fault(faults, sock)
        if injected is not None:
            return injected
        try:
            frame: str | bytes = body.decode("utf-8")
        except UnicodeDecodeError:
            frame = body
        if not sock.queue(frame):  # the client has not read a megabyte of frames: it goes, as a stuck one would
            sockets.pop(connection_id, None)  # gone for every post from now on
            sock.drop()
            return 410, {"message": "Gone"}, "GoneException"
        sock.last_active = time.time()
        return 200, None, None
    if method == "GET":
        info = {
            "connectedAt": _iso(sock.connected_at),
            "identity": {"sourceIp": sock.source_ip, "userAgent": sock.user_agent},
            "lastActiveAt": _iso(sock.last_active),
        }
        return 200, info, None
    if method == "DELETE":
        await sock.flushed(FLUSH_SECONDS)  # the close frame posted just before (4001, 4008) reaches the client first
        await sock.websocket.close(1000, "")
        return 204, None, None
    return 403, {"message": "Forbidden"}, "ForbiddenException"


async def _injected_fault(faults: FaultPlan, sock: Socket) -> Answer | None:
    """A fault `INAPP_FAULTS` asks for, as API Gateway would answer it (a 410 also drops the socket)."""
    fault = faults.post_fault()
    if fault == "delay":
        await asyncio.sleep(faults.delay_ms / 1000)
        return None
    if fault == "gone":
        await sock.websocket.close(1001, "going away")
    return None if fault is None else INJECTED[fault]


INJECTED: dict[str, Answer] = {
    "gone": (410, {"message": "Gone"}, "GoneException"),
    "throttle": (429, {"message": "Too Many Requests"}, "LimitExceededException"),
    "error": (500, {"message": "Internal server error"}, "InternalServerErrorException"),
}


def parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    method, path = (parts[0], parts[1]) if len(parts) >= 2 else ("", "/")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return method, path, headers


async def respond(writer: asyncio.StreamWriter, status: int, payload: Any, error_type: str | None) -> None:
    body = b"" if payload is None else json.dumps(payload).encode()
    reason = HTTPStatus(status).phrase
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}", "Content-Type: application/json"]
    lines.append(f"x-amzn-RequestId: {secrets.token_hex(8)}")
    if error_type:
        lines.append(f"x-amzn-ErrorType: {error_type}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    await writer.drain()
