"""``<inapp-inbox>`` in web apps of another origin — plain HTML, React 18, Vue 3 — in headless Chromium.

Each host page (tests/browser/hosts/, docs/browser.md's examples) loads the element from the local stack's
origin, and the element calls the stack's API and WebSocket from the host's origin (CORS).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chalicelib.core.auth import issue_token
from tests.conftest import SECRET
from tests.e2e import CHROMIUM, counted, send
from tests.foreign_host import FRAMEWORKS, ForeignHost

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (.ci/run installs it)")


@pytest.mark.parametrize("name", list(FRAMEWORKS))
def test_a_message_sent_through_the_api_shows_counts_toasts_and_view_marks_it_read(
    host_page: Any, stack: Any, foreign_host: ForeignHost, name: str
) -> None:
    from playwright.sync_api import expect

    user = f"embed-{name}"
    page = host_page(name, user)
    expect(page.locator("#connection")).to_have_attribute("data-state", "open", timeout=10_000)
    sent = send(stack, [user], f"Order 7 shipped ({name})", content="It arrives on Friday.", url="/orders/7", duration=0)

    toast = page.locator(".toast", has_text=f"Order 7 shipped ({name})")
    expect(toast).to_be_visible(timeout=10_000)
    expect(toast).to_contain_text("It arrives on Friday.")
    expect(page.locator("#badge")).to_have_text("1")
    expect(page.locator("#bell")).to_have_attribute("aria-label", "New messages: 1 (unread: 1)")
    expect(page.locator("#latest")).to_have_text(f"Order 7 shipped ({name})")  # inapp:message reached the host
    expect(page.locator("#unread")).to_have_text("1")  # and inapp:counts

    page.locator("#bell").click()  # opens the panel on the Unread list; everything in it is seen
    panel = page.locator("#panel")
    expect(panel).to_be_visible()
    expect(page.locator("#badge")).to_be_hidden(timeout=5000)
    message = panel.locator(".message", has_text=f"Order 7 shipped ({name})")
    expect(message.locator(".tag")).to_have_text("Unread")
    message.get_by_role("button", name="View").click()

    expect(page.locator("#route")).to_have_text("/orders/7")  # inapp:view reached the host, which routed it
    assert page.url == f"{foreign_host.origin}/orders/7"  # by pushState: the element loaded no page
    expect(page.locator("#unread")).to_have_text("0", timeout=5000)  # View marked it read
    expect(page.locator("#bell")).to_have_attribute("aria-label", "New messages: 0 (unread: 0)")
    expect(page.locator("#badge")).to_be_hidden()
    expect(panel).to_be_hidden()
    _, stored = stack.http("GET", f"/me/messages/{sent['id']}", issue_token(user, SECRET))
    assert stored["status"] == "read"
    assert page.errors == [] and page.failures == []


def test_the_popover_closes_on_escape_and_a_press_outside_and_themes_follow_the_host(host_page: Any) -> None:
    from playwright.sync_api import expect

    page = host_page("plain", "embed-popover")
    bell, panel = page.locator("#bell"), page.locator("#panel")
    expect(bell).to_have_attribute("aria-expanded", "false")
    bell.click()
    expect(panel).to_be_visible()
    expect(bell).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(bell).to_be_focused()
    bell.click()
    expect(panel).to_be_visible()
    page.locator("main").click(position={"x": 5, "y": 5})  # left of the panel, which opens under the bell (right)
    expect(panel).to_be_hidden()
    # The host's --inapp-font and ::part(badge) reach into the shadow root.
    assert "Georgia" in page.locator("#bell").evaluate("node => getComputedStyle(node).fontFamily")
    assert page.locator("#badge").evaluate("node => getComputedStyle(node).backgroundColor") == "rgb(245, 158, 11)"


def test_a_phone_width_panel_stays_inside_the_screen(host_page: Any, stack: Any) -> None:
    from playwright.sync_api import expect

    user = "embed-phone"
    send(stack, [user], "A rather long title " * 6, content="word " * 80, url="/orders/8")
    counted(stack, user, 1)
    page = host_page("plain", user)
    page.set_viewport_size({"width": 360, "height": 740})
    page.locator("#bell").click()
    expect(page.locator(".message")).to_have_count(1, timeout=10_000)
    box = page.locator("#panel").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 360, box
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1]
