"""End to end on the local stack: an audience send goes through moto's SQS, the queue poller and the worker."""

from __future__ import annotations

import time
from contextlib import ExitStack

from chalicelib.core.auth import issue_token
from infra.local.running import RunningStack
from tests.conftest import SECRET
from tests.e2e import frames


def test_an_audience_send_reaches_every_open_socket_and_the_log_reaches_done(stack: RunningStack) -> None:
    admin = issue_token("admin", SECRET, admin=True)
    status, _ = stack.http("POST", "/channels", admin, {"name": "broadcast", "title": "Broadcast"})
    assert status == 201
    users = [f"aud-{i:02d}" for i in range(50)]
    status, body = stack.http("POST", "/channels/broadcast/subscribers", admin, {"add": users})
    assert (status, body) == (200, {"added": 50, "removed": 0})
    with ExitStack() as sockets:
        online = [sockets.enter_context(stack.socket(issue_token(user, SECRET))) for user in users[:10]]
        status, sent = stack.http("POST", "/messages", admin, {"channel": "broadcast", "audience": "subscribers", "title": "All"})
        assert (status, sent["status"]) == (202, "queued")
        for socket in online:
            (frame,) = frames(socket, 1, timeout=30)
            assert (frame["type"], frame["message"]["id"]) == ("message.created", sent["id"])
    deadline = time.monotonic() + 30
    while True:
        _, entry = stack.http("GET", f"/messages/{sent['id']}", admin)
        if entry["status"] == "done" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert (entry["status"], entry["recipients"], entry["stored"], entry["sender"]) == ("done", 50, 50, "admin")
