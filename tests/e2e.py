"""Helpers for end-to-end tests against a real local stack in a subprocess."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection

from chalicelib.core.auth import issue_token
from infra.local.running import RunningStack

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "chalicelib" / "api" / "static"
CHROMIUM = "/usr/bin/chromium"  # Debian's; Playwright drives it (it cannot download its own here)
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def frames(
    socket: ClientConnection, count: int, timeout: float = 10.0, kinds: tuple[str, ...] | None = None
) -> list[dict[str, Any]]:
    """Exactly the next ``count`` frames of ``kinds`` (default: all but ``counts.updated``; fails on a timeout)."""
    received: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(received) < count:
        frame = json.loads(socket.recv(timeout=max(0.01, deadline - time.monotonic())))
        if frame.get("type") in kinds if kinds is not None else frame.get("type") != "counts.updated":
            received.append(frame)
    return received


def no_frame(socket: ClientConnection, wait: float = 1.0) -> bool:
    """No frame but ``counts.updated`` ones arrives within ``wait`` seconds."""
    deadline = time.monotonic() + wait
    try:
        while True:
            if json.loads(socket.recv(timeout=max(0.01, deadline - time.monotonic()))).get("type") != "counts.updated":
                return False
    except TimeoutError:
        return True


def until(page: Any, expression: str, timeout: float = 10.0) -> None:
    """Poll ``expression`` in ``page`` until true (the pages' CSP forbids the eval that ``wait_for_function`` uses)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"still false after {timeout} s: {expression}"
        page.wait_for_timeout(100)


def send(stack: RunningStack, receivers: list[str], title: str, **fields: Any) -> dict[str, Any]:
    """``POST /messages`` as an admin, on ``general`` unless ``channel=`` says otherwise; the 202 body."""
    admin = issue_token("admin", stack.secret, admin=True)
    status, body = stack.http(
        "POST", "/messages", admin, {"channel": "general", "receivers": receivers, "title": title, **fields}
    )
    assert status == 202, body
    return body  # type: ignore[no-any-return]


def counted(stack: RunningStack, user: str, total: int, timeout: float = 10.0) -> None:
    """Until the stream has counted ``total`` unread messages for ``user``: a page lists its channels from the
    counts, and a page opened while the stream is still behind lists none until a frame comes."""
    deadline = time.monotonic() + timeout
    while stack.http("GET", "/me/unread-count", issue_token(user, stack.secret))[1]["total"] < total:
        assert time.monotonic() < deadline, f"the stream never counted {total} messages for {user}"
        time.sleep(0.05)


def catalogue(locale: str, of: str = "") -> dict[str, str]:
    """The element's words in ``locale`` (``of="admin"``: the console's): ``static/i18n-<locale>.js`` (or
    ``i18n-admin-<locale>.js``) is strict JSON after ``export default``."""
    name = f"i18n-{of}-{locale}.js" if of else f"i18n-{locale}.js"
    source = (STATIC / name).read_text(encoding="utf-8")
    body = source[source.index("export default ") + len("export default ") :].strip()
    assert body.endswith(";"), f"{name} must end in `;` after its JSON"
    words: dict[str, str] = json.loads(body.removesuffix(";"))
    return words
