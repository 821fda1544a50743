"""Keep-alive HTTP connections to one host, shared by the fan-out threads.

Why not urllib3 (which botocore brings along): per request it re-checks the
URL, merges header dicts and writes the request head and body in two
``send`` calls; for a ~300-byte frame that was a third of the CPU of a post.
``http.client`` sends head and body in one call, and this pool does only
what fan-out needs: at most ``size`` connections, reused most-recent first,
and one fresh-connection retry when a *reused* connection turns out to have
been closed by the server (the request never reached it, or reached it on
a dead socket — at-least-once delivery tolerates the rare repeat).

Example::

    pool = ConnectionPool("https://abc.execute-api.eu-west-1.amazonaws.com", size=68)
    status = pool.post("/prod/@connections/Ab3%3D", b"{}", headers)
"""

from __future__ import annotations

import http.client
import queue
import ssl
import threading
from urllib.parse import urlsplit

STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, http.client.CannotSendRequest)


class ConnectionPool:
    """At most ``size`` keep-alive connections to the endpoint's host; ``post`` blocks while all are busy."""

    def __init__(self, endpoint: str, size: int, timeout: float = 5.0) -> None:
        parts = urlsplit(endpoint)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if self._https else 80)
        self._timeout = timeout
        self._context = ssl.create_default_context() if self._https else None
        self._slots = threading.BoundedSemaphore(size)
        self._idle: queue.LifoQueue[http.client.HTTPConnection] = queue.LifoQueue()

    def _new(self) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(self._host, self._port, timeout=self._timeout, context=self._context)
        return http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)

    def _exchange(
        self, connection: http.client.HTTPConnection, method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        try:
            connection.request(method, path, body, headers)
            response = connection.getresponse()
            answer = response.read()
        except BaseException:
            connection.close()
            raise
        if response.will_close:
            connection.close()
        else:
            self._idle.put(connection)
        return response.status, answer

    def exchange(self, path: str, body: bytes, headers: dict[str, str], method: str = "POST") -> tuple[int, bytes]:
        """The answer's status and body; raises ``OSError`` or ``http.client.HTTPException`` when there is none."""
        with self._slots:
            try:
                connection = self._idle.get_nowait()
            except queue.Empty:
                return self._exchange(self._new(), method, path, body, headers)
            try:
                return self._exchange(connection, method, path, body, headers)
            except STALE:  # the server closed it while it sat idle: once more on a new one
                return self._exchange(self._new(), method, path, body, headers)

    def post(self, path: str, body: bytes, headers: dict[str, str], method: str = "POST") -> int:
        """The answer's status (its body is read and dropped); raises like `exchange`."""
        return self.exchange(path, body, headers, method)[0]

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return
