"""Toasts only for messages that arrive while the inbox page is open, in headless Chromium against the local stack."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from chalicelib.core.auth import issue_token
from tests.conftest import SECRET
from tests.e2e import CHROMIUM, send

PAGE = 100  # the newest messages the client lists when it connects (inbox-client.js, SEEN_AT_START)

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (.ci/run installs it)")


def _channel(stack: Any, name: str, subscribers: tuple[str, ...] = ()) -> None:
    admin = issue_token("admin", SECRET, admin=True)
    status, body = stack.http("POST", "/channels", admin, {"name": name, "title": name.title()})
    assert status == 201, body
    if subscribers:
        status, body = stack.http("POST", f"/channels/{name}/subscribers", admin, {"add": list(subscribers)})
        assert status == 200, body


def _audience_send(stack: Any, channel: str, title: str) -> str:
    """An audience send, once the fan-out has stored it (late, with an older id than what follows)."""
    admin = issue_token("admin", SECRET, admin=True)
    body = {"channel": channel, "audience": "subscribers", "title": title, "duration": 0}
    status, answer = stack.http("POST", "/messages", admin, body)
    assert status == 202, answer
    deadline = time.monotonic() + 20
    while stack.http("GET", f"/messages/{answer['id']}", admin)[1]["status"] != "done":
        assert time.monotonic() < deadline, "the audience send never finished"
        time.sleep(0.05)
    return str(answer["id"])


def _open_until_the_first_catch_up_is_answered(page: Any, url: str) -> None:
    """Open ``url`` and wait until the catch-up the client asks for once its socket is made has been answered."""
    socket_made: list[Any] = []
    asked: list[Any] = []
    answered: list[Any] = []
    page.on("websocket", lambda socket: socket_made.append(socket))
    page.on("request", lambda r: asked.append(r) if socket_made and "after=" in r.url else None)
    page.on("requestfinished", lambda r: answered.append(r) if r in asked else None)
    page.goto(url)
    page.locator("#connection[data-state='open']").wait_for(timeout=10_000)
    for _ in range(200):
        if answered:
            return
        page.wait_for_timeout(50)
    raise AssertionError("no catch-up after the socket was made")


def test_messages_stored_before_the_page_opened_never_toast_whatever_their_channel(page: Any, stack: Any) -> None:
    """A newcomer saw toasts on every load for audience messages: stored late, caught up again as if new."""
    from playwright.sync_api import expect

    user = "toast-late"
    _channel(stack, "tl-crowd", subscribers=(user,))
    _channel(stack, "tl-ops")
    send(stack, [user], "Older on ops", channel="tl-ops", duration=0)
    _audience_send(stack, "tl-crowd", "To every subscriber")
    for i in range(PAGE):  # newer direct sends: a page of them, so the audience message is not on the first page
        send(stack, [user], f"Newer, direct {i}", duration=0)
    deadline = time.monotonic() + 20
    while stack.http("GET", "/me/unread-count", issue_token(user, SECRET))[1]["total"] < PAGE + 2:
        assert time.monotonic() < deadline, "the stream never counted every message"  # settled, as after a while
        time.sleep(0.05)
    _open_until_the_first_catch_up_is_answered(page, f"{stack.urls['http']}/#token={issue_token(user, SECRET)}")
    expect(page.locator(".channel")).to_have_count(3)
    expect(page.locator(".toast")).to_have_count(0)

    send(stack, [user], "Arrived while open", duration=0)
    expect(page.locator(".toast", has_text="Arrived while open")).to_be_visible(timeout=10_000)
    # Whatever the catch-up toasted was shown long before this frame came, and stays (duration 0).
    expect(page.locator(".toast")).to_have_count(1)


def test_a_busy_answer_while_the_page_takes_stock_of_what_is_stored_is_retried(page: Any, stack: Any) -> None:
    """The catch-up before the socket (what is stored already) answered 429 twice: the page still connects."""
    from playwright.sync_api import expect

    refused: list[str] = []

    def busy_twice(route: Any) -> None:
        if "after=" in route.request.url and len(refused) < 2:
            refused.append(route.request.url)
            route.fulfill(
                status=429, content_type="application/json", body='{"Code":"TooManyRequestsError","Message":"rate: busy"}'
            )
        else:
            route.continue_()

    page.route(re.compile(r"/me/messages\?"), busy_twice)
    page.goto(f"{stack.urls['http']}/#token={issue_token('taking-stock', SECRET)}")
    expect(page.locator("#connection[data-state='open']")).to_be_visible(timeout=15_000)
    assert len(refused) == 2
    send(stack, ["taking-stock"], "After the retries")
    expect(page.locator(".toast", has_text="After the retries")).to_be_visible(timeout=10_000)
