"""`inbox-client.js` and token expiry, in headless Chromium against the local stack."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import jwt
import pytest

from chalicelib.core.auth import issue_token
from tests.conftest import SECRET
from tests.e2e import CHROMIUM, send, until

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (.ci/run installs it)")

LIFETIME = 8  # seconds: the client asks for a fresh token a quarter of it before exp (its 1 min default is longer)

START = """async ([useProvider, options]) => {
  const { InboxClient } = await import("./static/inbox-client.js");
  const wsUrl = document.querySelector("inapp-inbox").wsUrl;
  Object.assign(window, { states: [], received: [], refused: [] });
  const token = useProvider ? () => window.mintToken() : await window.mintToken();
  const client = new InboxClient({ apiUrl: new URL(".", location.href).href, wsUrl, token, ...options });
  client.addEventListener("connection", (e) => window.states.push(e.detail.state));
  client.addEventListener("message", (e) => window.received.push(e.detail.message.title));
  client.addEventListener("unauthorized", (e) => window.refused.push(e.detail.message));
  await client.connect();
}"""


def _start(page: Any, stack: Any, user: str, lifetime: int, provider: bool, **options: Any) -> list[str]:
    """A page running the client for ``user``, its tokens minted here (``lifetime`` seconds each); the tokens issued."""
    issued: list[str] = []

    def mint() -> str:
        issued.append(issue_token(user, SECRET, lifetime_seconds=lifetime))
        return issued[-1]

    page.expose_function("mintToken", mint)
    page.goto(f"{stack.urls['http']}/")
    page.evaluate(START, [provider, options])
    until(page, "window.states.includes('open')")
    return issued


def _wait_past_exp(token: str) -> None:
    time.sleep(max(0.0, jwt.decode(token, options={"verify_signature": False})["exp"] + 0.5 - time.time()))


def test_a_token_provider_reconnects_with_a_fresh_token_before_the_old_one_expires(page: Any, stack: Any) -> None:
    issued = _start(page, stack, "tp1", LIFETIME, provider=True)
    until(page, "window.states.filter((s) => s === 'open').length >= 2", timeout=15)
    assert len(issued) >= 2
    _wait_past_exp(issued[0])
    send(stack, ["tp1"], "After the first token expired")
    until(page, "window.received.includes('After the first token expired')")
    assert page.evaluate("window.states").count("reconnecting") == 0  # the new socket opened before the old closed
    assert page.evaluate("window.refused") == []


def test_a_plain_tokens_socket_gets_no_message_after_its_exp_and_the_client_says_unauthorized(page: Any, stack: Any) -> None:
    issued = _start(page, stack, "tp2", 3, provider=False)
    _wait_past_exp(issued[0])
    send(stack, ["tp2"], "After the token expired")
    until(page, "window.refused.length > 0")
    assert page.evaluate("window.received") == []
    assert page.evaluate("window.states").count("reconnecting") == 0  # closed for good: no retry with that token


def test_a_socket_is_replaced_before_api_gateways_2_hour_limit_without_a_gap_or_a_catch_up(page: Any, stack: Any) -> None:
    """`rotateAfterMs` (115 minutes; 3 s here): a new socket opens while the old one is open, then the old one closes;
    no frame can have been missed, so no catch-up and no counts are fetched, and the next message arrives."""
    sockets: list[Any] = []
    fetched: list[str] = []
    page.on("websocket", lambda socket: sockets.append(socket))
    page.on("request", lambda request: fetched.append(request.url) if "/me/" in request.url else None)
    _start(page, stack, "rot1", 3600, provider=False, rotateAfterMs=3000)
    deadline = time.monotonic() + 10
    while not (any("after=" in u for u in fetched) and any("unread-count" in u for u in fetched)):
        assert time.monotonic() < deadline, fetched  # the first socket's catch-up and counts
        page.wait_for_timeout(50)
    settled = len(fetched)
    deadline = time.monotonic() + 15
    while len(sockets) < 3 and time.monotonic() < deadline:  # the first, then two rotations
        page.wait_for_timeout(200)
    assert len(sockets) >= 3 and all(s.is_closed() for s in sockets[:-1]) and not sockets[-1].is_closed()
    assert page.evaluate("window.states").count("reconnecting") == 0
    assert [url for url in fetched[settled:] if "after=" in url or "unread-count" in url] == []
    send(stack, ["rot1"], "After two new sockets")
    until(page, "window.received.includes('After two new sockets')")
