"""The page's bulk buttons reach every message when the server changes a few per call and answers ``more``."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.core.auth import issue_token
from infra.local.running import RunningStack
from tests.conftest import SECRET
from tests.e2e import CHROMIUM, counted, send

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (.ci/run installs it)")

LIMIT = 5


@pytest.fixture(scope="module")
def small_bulk_stack() -> Iterator[RunningStack]:
    """A stack of its own whose bulk changes take ``LIMIT`` messages a call (the shared one keeps the default)."""
    running = RunningStack(SECRET, {"INAPP_BULK_LIMIT": str(LIMIT)})
    try:
        admin = issue_token("admin", SECRET, admin=True)
        assert running.http("POST", "/channels", admin, {"name": "general", "title": "General"})[0] == 201
        yield running
    finally:
        running.stop()


BUSY = {"Code": "TooManyRequestsError", "Message": "busy"}


def _open(page: Any, stack: RunningStack, user: str, answers: list[tuple[str, int, Any]]) -> None:
    """The inbox signed in as ``user``; ``answers`` collects each bulk call's route, status and body, in order."""

    def record(response: Any) -> None:
        if bulk := re.search(r"/me/messages/(read|seen|archive)$", response.url):
            answers.append((bulk.group(1), response.status, response.json()))

    page.on("response", record)
    page.goto(f"{stack.urls['http']}/#token={issue_token(user, SECRET)}")
    page.locator("#connection[data-state='open']").wait_for(timeout=10_000)


def _answered(page: Any, answers: list[tuple[str, int, Any]], count: int) -> list[tuple[str, int, Any]]:
    """``answers`` once ``count`` calls came back: the pushed frames can empty the list on screen before the last answer."""
    for _ in range(100):
        if len(answers) >= count:
            break
        page.wait_for_timeout(100)  # lets Playwright deliver the response events
    return answers


def _unread(stack: RunningStack, user: str) -> list[Any]:
    return list(stack.http("GET", "/me/messages?status=unread&limit=100", issue_token(user, SECRET))[1]["items"])


def test_mark_every_channel_read_calls_again_while_the_server_answers_more(page: Any, small_bulk_stack: RunningStack) -> None:
    from playwright.sync_api import expect

    for i in range(2 * LIMIT + 2):
        send(small_bulk_stack, ["bulk1"], f"Message {i:02d}")
    counted(small_bulk_stack, "bulk1", 2 * LIMIT + 2)
    answers: list[tuple[str, int, Any]] = []
    _open(page, small_bulk_stack, "bulk1", answers)
    expect(page.locator(".message.unread")).to_have_count(2 * LIMIT + 2)
    page.locator("#mark-everything").click()
    expect(page.locator(".message.unread")).to_have_count(0)
    expect(page.locator("#badge")).to_be_hidden()
    assert _answered(page, answers, 3) == [
        ("read", 200, {"updated": LIMIT, "more": True}),
        ("read", 200, {"updated": LIMIT, "more": True}),
        ("read", 200, {"updated": 2, "more": False}),
    ]
    assert _unread(small_bulk_stack, "bulk1") == []


def test_a_bulk_call_refused_with_429_is_waited_out_and_the_change_still_reaches_every_message(
    page: Any, small_bulk_stack: RunningStack
) -> None:
    from playwright.sync_api import expect

    for i in range(2 * LIMIT):
        send(small_bulk_stack, ["bulk2"], f"Message {i:02d}")
    answers: list[tuple[str, int, Any]] = []
    routed: list[str] = []

    def busy_once_midway(route: Any) -> None:
        routed.append(route.request.url)
        if len(routed) == 2:  # the first call went through: refuse the second, once
            route.fulfill(status=429, content_type="application/json", body=json.dumps(BUSY))
        else:
            route.continue_()

    page.route(re.compile(r"/me/messages/read$"), busy_once_midway)
    _open(page, small_bulk_stack, "bulk2", answers)
    page.locator("#mark-everything").click()
    expect(page.locator(".message.unread")).to_have_count(0, timeout=10_000)
    assert _answered(page, answers, 3) == [
        ("read", 200, {"updated": LIMIT, "more": True}),
        ("read", 429, BUSY),  # waited out (backoff with full jitter), then the same call again
        ("read", 200, {"updated": LIMIT, "more": False}),
    ]
    assert _unread(small_bulk_stack, "bulk2") == []
