"""The inbox page shows the user's own changes in its counts as soon as the change is answered, not when the stream's
counts frame comes: here no counts frame reaches the page at all (the test holds them back)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from chalicelib.core.auth import issue_token
from tests.conftest import SECRET
from tests.e2e import CHROMIUM, send

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (.ci/run installs it)")


def test_read_and_mark_channel_read_show_in_the_badge_and_channel_counts_without_a_counts_frame(page: Any, stack: Any) -> None:
    from playwright.sync_api import expect

    held: list[str] = []

    def without_counts_frames(socket: Any) -> None:
        server = socket.connect_to_server()
        server.on_message(lambda frame: held.append(frame) if '"counts.updated"' in frame else socket.send(frame))

    user = "own-changes"
    for i in range(3):
        send(stack, [user], f"Mine {i}")
    page.route_web_socket(re.compile(r"^ws://"), without_counts_frames)
    page.goto(f"{stack.urls['http']}/#token={issue_token(user, SECRET)}")
    expect(page.locator("#connection[data-state='open']")).to_be_visible(timeout=10_000)
    bell, count = page.locator("#bell"), page.locator(".channel .count")
    expect(bell).to_have_attribute("aria-label", "New messages: 3 (unread: 3)")
    expect(count).to_have_text("3")

    page.locator(".message", has_text="Mine 0").get_by_role("button", name="Unread — mark as read").click()
    expect(bell).to_have_attribute("aria-label", "New messages: 2 (unread: 2)")
    expect(count).to_have_text("2")
    expect(page.locator("#badge")).to_have_text("2")

    page.get_by_role("button", name="Mark this channel read").click()
    expect(bell).to_have_attribute("aria-label", "New messages: 0 (unread: 0)")
    expect(count).to_have_count(0)
    expect(page.locator("#badge")).to_be_hidden()
    for _ in range(100):  # the stream did send its counts frames; none reached the page
        if held:
            break
        page.wait_for_timeout(50)
    assert held
