"""Headless Chromium (Debian's) for the inbox page's tests and screenshots: where it is, how it starts, sends."""

from __future__ import annotations

from typing import Any

from chalicelib.auth import issue_token
from tests.e2e import RunningStack

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip


def send(stack: RunningStack, receivers: list[str], title: str, **fields: Any) -> dict[str, Any]:
    """``POST /messages`` as an admin, on ``general`` unless ``channel=`` says otherwise; the 202 body."""
    admin = issue_token("admin", stack.secret, admin=True)
    status, body = stack.http(
        "POST", "/messages", admin, {"channel": "general", "receivers": receivers, "title": title, **fields}
    )
    assert status == 202, body
    return body  # type: ignore[no-any-return]
