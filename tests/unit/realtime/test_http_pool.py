"""The fan-out's keep-alive pool, against the management-API stand-in."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from chalicelib.realtime.http_pool import ConnectionPool
from tests.standin import ManagementStandIn


@pytest.fixture
def standin() -> Iterator[ManagementStandIn]:
    server = ManagementStandIn().start()
    yield server
    server.stop()


def test_posts_reuse_one_connection_and_reach_the_server(standin: ManagementStandIn) -> None:
    pool = ConnectionPool(standin.endpoint, size=4)
    statuses = [pool.post("/api/@connections/a%3D", b'{"n":%d}' % n, {"Content-Type": "application/json"}) for n in range(3)]
    assert statuses == [200, 200, 200]
    assert standin.frames("a=") == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert pool._idle.qsize() == 1


def test_a_reused_connection_the_server_dropped_is_replaced_once(standin: ManagementStandIn) -> None:
    pool = ConnectionPool(standin.endpoint, size=4)
    assert pool.post("/api/@connections/a%3D", b"{}", {}) == 200
    idle = pool._idle.get_nowait()
    assert idle.sock is not None
    idle.sock.shutdown(socket.SHUT_RDWR)  # as a server closing an idle keep-alive connection
    pool._idle.put(idle)
    assert pool.post("/api/@connections/a%3D", b"{}", {}) == 200
    assert len(standin.frames("a=")) == 2


def test_no_answer_raises_for_the_poster_to_retry() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the with ends: nobody listens
    pool = ConnectionPool(f"http://127.0.0.1:{port}/api", size=1)
    with pytest.raises(ConnectionRefusedError, match="Connection refused"):
        pool.post("/api/@connections/a%3D", b"{}", {})
