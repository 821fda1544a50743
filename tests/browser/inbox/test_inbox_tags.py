"""Tags and expiry on the inbox page in headless Chromium: a tab per tag with its unread count (from the counts'
``tags``, kept by frames), a tag's messages of every channel, and when a message expires."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chalicelib.core.auth import issue_token
from tests.conftest import SECRET
from tests.e2e import CHROMIUM, counted, send

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (.ci/run installs it)")


def _as(user: str) -> str:
    return issue_token(user, SECRET)


def _tab(page: Any, tag: str) -> Any:
    return page.locator(f"#tags [data-tag='{tag}']")


def test_tag_tabs_show_unread_counts_filter_by_tag_and_follow_frames(open_inbox: Any, stack: Any) -> None:
    from playwright.sync_api import expect

    admin = issue_token("admin", SECRET, admin=True)
    stack.http("POST", "/channels", admin, {"name": "tg1-other", "title": "Other"})
    send(stack, ["tg1"], "Invoice due", tags=["billing"])
    both = send(stack, ["tg1"], "Card declined", tags=["billing", "urgent"], channel="tg1-other")["id"]
    send(stack, ["tg1"], "No tag at all")
    read = send(stack, ["tg1"], "Server down", tags=["urgent"])["id"]
    stack.http("PATCH", f"/me/messages/{read}", _as("tg1"), {"status": "read"})
    counted(stack, "tg1", 3)
    page = open_inbox("tg1")
    expect(page.locator("#tags [data-tag]")).to_have_count(2)
    expect(_tab(page, "billing").locator(".count")).to_have_text("2")
    expect(_tab(page, "urgent").locator(".count")).to_have_text("1")

    _tab(page, "billing").click()
    expect(_tab(page, "billing")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#channel-title")).to_have_text("Tagged billing")
    expect(page.locator(".message .title")).to_have_text(["Card declined", "Invoice due"])  # of both channels
    expect(page.locator(".message", has_text="Card declined").locator(".message-tag")).to_have_text(["billing", "urgent"])
    _tab(page, "urgent").click()
    expect(page.locator(".message .title")).to_have_text(["Server down", "Card declined"])
    page.get_by_role("tab", name="Unread", exact=True).click()  # the status filter applies to the tag's list
    expect(page.locator(".message .title")).to_have_text(["Card declined"])

    stack.http("PATCH", f"/me/messages/{both}", _as("tg1"), {"status": "read"})  # another device
    expect(_tab(page, "billing").locator(".count")).to_have_text("1", timeout=5000)
    expect(_tab(page, "urgent").locator(".count")).to_be_hidden()
    expect(page.locator(".message")).to_have_count(0)
    _, counts = stack.http("GET", "/me/unread-count", _as("tg1"))
    assert counts.get("tags") == {"billing": 1}
    _, listed = stack.http("GET", "/me/messages?tag=urgent", _as("tg1"))
    assert [m["title"] for m in listed["items"]] == ["Server down", "Card declined"]

    page.get_by_role("tab", name="All", exact=True).click()
    _tab(page, "urgent").click()  # the open tag again: back to a channel
    expect(_tab(page, "urgent")).to_have_attribute("aria-selected", "false")
    expect(page.locator(".channel[aria-current='true']")).to_have_count(1)
    expect(page.locator("#channel-title")).not_to_have_text("Tagged urgent")


def test_a_message_with_expires_at_says_when_it_expires(open_inbox: Any, stack: Any) -> None:
    from playwright.sync_api import expect

    expires = (datetime.now(UTC) + timedelta(hours=3, minutes=5)).isoformat(timespec="milliseconds")
    sent = send(stack, ["tg2"], "Flash sale", expiresAt=expires)["id"]
    send(stack, ["tg2"], "Lasts")
    page = open_inbox("tg2")
    expiry = page.locator(".message", has_text="Flash sale").locator(".expires")
    expect(expiry).to_have_text("Expires in 3 hours")
    stored = stack.http("GET", f"/me/messages/{sent}", _as("tg2"))[1]["expiresAt"]
    assert datetime.fromisoformat(stored) == datetime.fromisoformat(expires)
    expect(expiry.locator("time")).to_have_attribute("datetime", stored)
    expect(page.locator(".message", has_text="Lasts").locator(".expires")).to_have_count(0)


def test_a_message_leaves_the_list_when_its_expiry_passes_without_a_frame(new_page: Any, stack: Any) -> None:
    """The server sends no frame when a message expires (only the counts change): the page drops it itself. The
    page's clock is Playwright's, run two minutes ahead, so the half-minute refresh finds it expired."""
    from playwright.sync_api import expect

    expires = (datetime.now(UTC) + timedelta(seconds=70)).isoformat(timespec="milliseconds")
    send(stack, ["tg3"], "Gone soon", expiresAt=expires)
    send(stack, ["tg3"], "Stays")
    page = new_page(viewport={"width": 1280, "height": 800})
    page.clock.install()
    page.goto(f"{stack.urls['http']}/#token={_as('tg3')}")
    expect(page.locator("#connection[data-state='open']")).to_be_visible(timeout=10_000)
    expect(page.locator(".message .title")).to_have_text(["Stays", "Gone soon"])
    expect(page.locator(".message", has_text="Gone soon").locator(".expires")).to_have_text("Expires in 1 minute")
    page.clock.fast_forward("01:00")
    expect(page.locator(".message .title")).to_have_text(["Stays", "Gone soon"])  # not yet
    page.clock.fast_forward("01:00")
    expect(page.locator(".message .title")).to_have_text(["Stays"])
    _, listed = stack.http("GET", "/me/messages", _as("tg3"))  # the server's real clock is two minutes behind
    gone = next(m for m in listed["items"] if m["title"] == "Gone soon")
    assert datetime.fromisoformat(gone["expiresAt"]) == datetime.fromisoformat(expires)
