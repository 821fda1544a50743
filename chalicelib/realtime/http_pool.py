"""Keep-alive HTTP connections to one host, shared by the fan-out threads.

Why not urllib3 (which botocore brings along): per request it re-checks the
URL, merges header dicts and writes the request head and body in two
``send`` calls; for a ~300-byte frame that was a third of the CPU of a post.
Nor ``http.client``'s ``HTTPConnection.request``: it also writes head and
body in two calls (a second system call per post, and on loopback the
receiver's TCP work is charged to the sender), and checks every header
against its grammar. Here a request's head is one string — the path is
percent-quoted and every header is the signer's own, so there is nothing
to check — written with the body in one ``sendall``; ``http.client``'s
``HTTPResponse`` reads the answer (status, headers, a Content-Length or
chunked body, ``will_close``). CPU per post: ``bench/posts.py``.

The pool does only what fan-out needs: at most ``size`` connections,
reused most-recent first, and one fresh-connection retry when a *reused*
connection turns out to have been closed by the server (the request never
reached it, or reached it on a dead socket — at-least-once delivery
tolerates the rare repeat).

Example::

    pool = ConnectionPool("https://abc.execute-api.eu-west-1.amazonaws.com", size=68)
    status = pool.post("/prod/@connections/Ab3%3D", b"{}", headers)
"""

from __future__ import annotations

import http.client
import queue
import socket
import ssl
import threading
from urllib.parse import urlsplit

from chalicelib.realtime.sigv4 import host_header

STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, http.client.CannotSendRequest)


class Connection:
    """One keep-alive socket: a request's head and body in one write, the answer read by ``http.client``."""

    def __init__(self, address: tuple[str, int], timeout: float, context: ssl.SSLContext | None) -> None:
        sock = socket.create_connection(address, timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = context.wrap_socket(sock, server_hostname=address[0]) if context is not None else sock

    def exchange(self, method: str, head: bytes, body: bytes) -> tuple[int, bytes, bool]:
        """The answer's status and body, and whether the server will close the connection after it."""
        self.sock.sendall(head + body)
        response = http.client.HTTPResponse(self.sock, method=method)
        response.begin()
        return response.status, response.read(), response.will_close

    def close(self) -> None:
        self.sock.close()


class ConnectionPool:
    """At most ``size`` keep-alive connections to the endpoint's host; ``post`` blocks while all are busy."""

    def __init__(self, endpoint: str, size: int, timeout: float = 5.0) -> None:
        parts = urlsplit(endpoint)
        https = parts.scheme == "https"
        self._address = (parts.hostname or "", parts.port or (443 if https else 80))
        self._host = host_header(endpoint)
        self._timeout = timeout
        self._context = ssl.create_default_context() if https else None
        self._slots = threading.BoundedSemaphore(size)
        self._idle: queue.LifoQueue[Connection] = queue.LifoQueue()

    def _new(self) -> Connection:
        return Connection(self._address, self._timeout, self._context)

    def _exchange(self, connection: Connection, method: str, head: bytes, body: bytes) -> tuple[int, bytes]:
        try:
            status, answer, closing = connection.exchange(method, head, body)
        except BaseException:
            connection.close()
            raise
        if closing:
            connection.close()
        else:
            self._idle.put(connection)
        return status, answer

    def exchange(self, path: str, body: bytes, headers: dict[str, str], method: str = "POST") -> tuple[int, bytes]:
        """The answer's status and body; raises ``OSError`` or ``http.client.HTTPException`` when there is none.

        ``path`` must be percent-quoted and ``headers`` the caller's own: they go out as given.
        """
        fields = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        head = f"{method} {path} HTTP/1.1\r\nHost: {self._host}\r\nContent-Length: {len(body)}\r\n{fields}\r\n".encode("latin-1")
        with self._slots:
            try:
                connection = self._idle.get_nowait()
            except queue.Empty:
                return self._exchange(self._new(), method, head, body)
            try:
                return self._exchange(connection, method, head, body)
            except STALE:  # the server closed it while it sat idle: once more on a new one
                return self._exchange(self._new(), method, head, body)

    def post(self, path: str, body: bytes, headers: dict[str, str], method: str = "POST") -> int:
        """The answer's status (its body is read and dropped); raises like `exchange`."""
        return self.exchange(path, body, headers, method)[0]

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return
