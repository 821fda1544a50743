"""The inbox page's sign-in by a pasted link, its tabs and its "mark read" buttons, in headless Chromium."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from chalicelib.core.auth import issue_token
from tests.conftest import SECRET
from tests.e2e import CHROMIUM, send

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (.ci/run installs it)")


def _read(stack: Any, user: str, message_id: str) -> None:
    status, body = stack.http("PATCH", f"/me/messages/{message_id}", issue_token(user, SECRET), {"status": "read"})
    assert status == 200, body


def _listed(stack: Any, user: str, channels: int, messages: int) -> None:
    """Until the stream has counted what was sent to ``user``: the page's channel list comes from the counts."""
    deadline = time.monotonic() + 10
    while True:
        listed = stack.http("GET", "/me/channels", issue_token(user, SECRET))[1]["items"]
        if len(listed) == channels and sum(c["total"] for c in listed) == messages:
            return
        assert time.monotonic() < deadline, f"{user}'s channels never listed {messages} messages"
        time.sleep(0.05)


def test_a_token_link_pasted_into_an_open_signed_out_tab_signs_in_without_a_reload(page: Any, stack: Any) -> None:
    from playwright.sync_api import expect

    send(stack, ["pasted"], "Waiting for you")
    _listed(stack, "pasted", 1, 1)
    page.goto(f"{stack.urls['http']}/")
    expect(page.locator("#signin")).to_be_visible()
    page.evaluate("window.__sameDocument = true")
    page.goto(f"{stack.urls['http']}/#token={issue_token('pasted', SECRET)}")  # only the hash changes: no load
    expect(page.locator("#connection[data-state='open']")).to_be_visible(timeout=10_000)
    expect(page.locator(".message .title")).to_have_text("Waiting for you")
    assert page.evaluate("window.__sameDocument") is True
    assert "token" not in page.url
    assert page.errors == []


def test_the_open_channel_stays_open_when_switching_all_unread_read_and_archive(open_inbox: Any, stack: Any) -> None:
    from playwright.sync_api import expect

    admin = issue_token("admin", SECRET, admin=True)
    for name in ("kept-a", "kept-b"):
        stack.http("POST", "/channels", admin, {"name": name, "title": name.replace("-", " ").title()})
    user = "kept"
    for channel in ("kept-a", "kept-b"):  # kept-b holds the newest message: it comes first in every list
        _read(stack, user, send(stack, [user], f"{channel} read", channel=channel)["id"])
        send(stack, [user], f"{channel} unread", channel=channel)
    _listed(stack, user, 2, 4)
    page = open_inbox(user)
    expect(page.locator(".channel").first).to_contain_text("Kept B")
    page.locator(".channel", has_text="Kept A").click()
    for tab, titles in (("Read", ["kept-a read"]), ("Unread", ["kept-a unread"]), ("All", ["kept-a unread", "kept-a read"])):
        page.get_by_role("tab", name=tab, exact=True).click()
        expect(page.locator("#channel-title")).to_have_text("Kept A")
        expect(page.locator(".channel[aria-current='true']")).to_contain_text("Kept A")
        expect(page.locator(".message .title")).to_have_text(titles)
    page.get_by_role("tab", name="Archive", exact=True).click()
    expect(page.locator("#channel-title")).to_have_text("Archive")
    page.get_by_role("tab", name="Unread", exact=True).click()
    expect(page.locator("#channel-title")).to_have_text("Kept A")
    expect(page.locator(".message .title")).to_have_text(["kept-a unread"])


def test_mark_read_buttons_are_disabled_while_there_is_nothing_unread(open_inbox: Any, stack: Any) -> None:
    from playwright.sync_api import expect

    empty = open_inbox("nothing-yet")
    expect(empty.get_by_role("button", name="Mark every channel read")).to_be_disabled()

    _read(stack, "all-read", send(stack, ["all-read"], "Read already")["id"])
    _listed(stack, "all-read", 1, 1)
    page = open_inbox("all-read")
    expect(page.locator(".message.read")).to_have_count(1)
    expect(page.get_by_role("button", name="Mark every channel read")).to_be_disabled()
    expect(page.get_by_role("button", name="Mark this channel read")).to_be_disabled()
    send(stack, ["all-read"], "Something new")
    expect(page.get_by_role("button", name="Mark every channel read")).to_be_enabled(timeout=5000)
    expect(page.get_by_role("button", name="Mark this channel read")).to_be_enabled()
    page.get_by_role("button", name="Mark this channel read").click()
    expect(page.get_by_role("button", name="Mark every channel read")).to_be_disabled()
    expect(page.get_by_role("button", name="Mark this channel read")).to_be_disabled()
