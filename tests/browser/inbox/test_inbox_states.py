"""The inbox page's message states in headless Chromium: seen, archive, delete, severity, actions, mutes.

Every change made in one tab must reach a second tab (another context: another device) by frames alone.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from chalicelib.core.auth import issue_token
from tests.conftest import SECRET
from tests.e2e import CHROMIUM, send

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (.ci/run installs it)")


def _as(user: str) -> str:
    return issue_token(user, SECRET)


def _message(page: Any, title: str) -> Any:
    return page.locator(".message", has_text=title)


def test_the_bell_opens_the_unread_list_marks_everything_seen_and_both_badges_clear(open_inbox: Any, stack: Any) -> None:
    from playwright.sync_api import expect

    first, second = open_inbox("st1"), open_inbox("st1")
    send(stack, ["st1"], "Seen one")
    send(stack, ["st1"], "Seen two")
    for tab in (first, second):
        expect(tab.locator("#badge")).to_have_text("2", timeout=5000)
        expect(tab.locator(".message.unseen")).to_have_count(2)
    first.locator("#bell").click()
    expect(first.get_by_role("tab", name="Unread", exact=True)).to_have_attribute("aria-selected", "true")
    for tab in (first, second):
        expect(tab.locator("#badge")).to_be_hidden(timeout=5000)
        expect(tab.locator(".message.unseen")).to_have_count(0)
        expect(tab.locator("#bell")).to_have_attribute("aria-label", "New messages: 0 (unread: 2)")
    _, counts = stack.http("GET", "/me/unread-count", _as("st1"))
    assert (counts["unseen"], counts["total"]) == (0, 2)


def test_the_badge_follows_frames_and_never_fetches_the_counts_again(open_inbox: Any, stack: Any) -> None:
    from playwright.sync_api import expect

    page = open_inbox("st2")
    sent = [send(stack, ["st2"], f"Counted {i}")["id"] for i in range(3)]
    expect(page.locator("#badge")).to_have_text("3", timeout=5000)
    stack.http("PATCH", f"/me/messages/{sent[0]}", _as("st2"), {"status": "read"})  # another device; read is seen
    expect(page.locator("#bell")).to_have_attribute("aria-label", "New messages: 2 (unread: 2)", timeout=5000)
    expect(page.locator(".channel .count")).to_have_text("2")
    stack.http("DELETE", f"/me/messages/{sent[1]}", _as("st2"))
    expect(page.locator("#badge")).to_have_text("1", timeout=5000)
    assert page.requested.count("GET /me/unread-count") == 1, page.requested


def test_archive_takes_a_message_out_of_both_tabs_into_the_archive_view(open_inbox: Any, stack: Any) -> None:
    from playwright.sync_api import expect

    first, second = open_inbox("st3"), open_inbox("st3")
    message_id = send(stack, ["st3"], "Archive me")["id"]
    send(stack, ["st3"], "Keep me")
    for tab in (first, second):
        expect(_message(tab, "Archive me")).to_have_count(1, timeout=5000)
    _message(first, "Archive me").get_by_role("button", name="Archive", exact=True).click()
    for tab in (first, second):
        expect(_message(tab, "Archive me")).to_have_count(0, timeout=5000)
        expect(_message(tab, "Keep me")).to_have_count(1)
    second.get_by_role("tab", name="Archive", exact=True).click()
    expect(second.locator("#channel-title")).to_have_text("Archive")
    expect(second.locator(".message")).to_have_count(1)
    expect(_message(second, "Archive me").get_by_role("button", name="Unarchive")).to_be_visible()
    _, message = stack.http("GET", f"/me/messages/{message_id}", _as("st3"))
    assert (message["archived"], message["status"]) == (True, "read")


def test_unarchive_returns_a_message_to_the_inbox_of_both_tabs(open_inbox: Any, stack: Any) -> None:
    from playwright.sync_api import expect

    older = send(stack, ["st4"], "Brought back")["id"]
    send(stack, ["st4"], "Newer one")
    stack.http("PATCH", f"/me/messages/{older}", _as("st4"), {"archived": True})
    archive, inbox = open_inbox("st4"), open_inbox("st4")
    expect(_message(inbox, "Newer one")).to_have_count(1)
    expect(_message(inbox, "Brought back")).to_have_count(0)
    archive.get_by_role("tab", name="Archive", exact=True).click()
    _message(archive, "Brought back").get_by_role("button", name="Unarchive").click()
    expect(_message(archive, "Brought back")).to_have_count(0)
    expect(archive.locator("#messages-empty")).to_have_text("Nothing archived.")
    expect(inbox.locator(".message .title")).to_have_text(["Newer one", "Brought back"], timeout=5000)


def test_delete_hides_at_once_and_deletes_after_the_undo_time_in_both_tabs(open_inbox: Any, stack: Any) -> None:
    from playwright.sync_api import expect

    first, second = open_inbox("st5"), open_inbox("st5")
    message_id = send(stack, ["st5"], "Delete me")["id"]
    for tab in (first, second):
        expect(_message(tab, "Delete me")).to_be_visible(timeout=5000)
    _message(first, "Delete me").get_by_role("button", name="Delete", exact=True).click()
    expect(_message(first, "Delete me")).to_be_hidden()
    expect(first.locator(".toast.undo")).to_have_text("Message deleted.Undo")
    expect(first.get_by_role("button", name="Undo", exact=True)).to_be_focused()
    first.wait_for_timeout(1000)
    assert not any(r.startswith("DELETE") for r in first.requested)
    expect(_message(second, "Delete me")).to_be_visible()
    expect(_message(second, "Delete me")).to_have_count(0, timeout=8000)
    expect(first.locator(".toast.undo")).to_have_count(0)
    assert first.requested.count(f"DELETE /me/messages/{message_id}") == 1
    assert stack.http("GET", f"/me/messages/{message_id}", _as("st5"))[0] == 404


def test_undo_brings_the_message_back_and_deletes_nothing(open_inbox: Any, stack: Any) -> None:
    from playwright.sync_api import expect

    message_id = send(stack, ["st6"], "Undo me")["id"]
    page = open_inbox("st6")
    _message(page, "Undo me").get_by_role("button", name="Delete", exact=True).click()
    expect(_message(page, "Undo me")).to_be_hidden()
    page.get_by_role("button", name="Undo", exact=True).click()
    expect(_message(page, "Undo me")).to_be_visible()
    expect(_message(page, "Undo me").get_by_role("button", name="Delete", exact=True)).to_be_focused()
    page.wait_for_timeout(5500)
    assert not any(r.startswith("DELETE") for r in page.requested)
    assert stack.http("GET", f"/me/messages/{message_id}", _as("st6"))[0] == 200


def test_archive_every_read_message_keeps_the_unread_in_both_tabs(open_inbox: Any, stack: Any) -> None:
    from playwright.sync_api import expect

    read = [send(stack, ["st7"], f"Read {i}")["id"] for i in range(2)]
    send(stack, ["st7"], "Still unread")
    for message_id in read:
        stack.http("PATCH", f"/me/messages/{message_id}", _as("st7"), {"status": "read"})
    first, second = open_inbox("st7"), open_inbox("st7")
    expect(second.locator(".message")).to_have_count(3)
    first.get_by_role("button", name="Archive every read message").click()
    for tab in (first, second):
        expect(tab.locator(".message .title")).to_have_text(["Still unread"], timeout=5000)
    second.get_by_role("tab", name="Archive", exact=True).click()
    expect(second.locator(".message .title")).to_have_text(["Read 1", "Read 0"])


def test_archive_this_channels_read_leaves_other_channels_alone(open_inbox: Any, stack: Any) -> None:
    from playwright.sync_api import expect

    admin = issue_token("admin", SECRET, admin=True)
    stack.http("POST", "/channels", admin, {"name": "st8-other", "title": "Other"})
    for channel in ("general", "st8-other"):
        sent = send(stack, ["st8"], f"Read in {channel}", channel=channel)
        stack.http("PATCH", f"/me/messages/{sent['id']}", _as("st8"), {"status": "read"})
    page = open_inbox("st8")
    page.locator(".channel", has_text="General").click()
    page.get_by_role("button", name="Archive this channel's read").click()
    expect(page.locator(".channel", has_text="General")).to_have_count(0)  # nothing left outside the archive
    expect(page.locator("#channel-title")).to_have_text("Other")
    expect(page.locator(".message .title")).to_have_text(["Read in st8-other"])
    _, other = stack.http("GET", "/me/messages?channel=st8-other", _as("st8"))
    assert [m["title"] for m in other["items"]] == ["Read in st8-other"]


def test_high_and_critical_messages_stand_out_with_a_label(open_inbox: Any, stack: Any) -> None:
    from playwright.sync_api import expect

    for severity in ("normal", "high", "critical"):
        send(stack, ["st9"], f"Severity {severity}", severity=severity)
    page = open_inbox("st9")
    expect(page.locator(".message")).to_have_count(3)
    for severity, label in (("high", "High"), ("critical", "Critical")):
        expect(_message(page, f"Severity {severity}")).to_have_class(re.compile(f"severity-{severity}"))
        expect(_message(page, f"Severity {severity}").locator(".severity")).to_have_text(label)
    expect(_message(page, "Severity normal").locator(".severity")).to_have_count(0)
    borders = page.locator(".message").evaluate_all("nodes => nodes.map(n => getComputedStyle(n).borderLeftWidth)")
    assert borders[0] != "0px" and borders[1] != "0px" and borders[2] == "0px", borders


def test_only_a_critical_toast_stays_until_closed(open_inbox: Any, stack: Any) -> None:
    from playwright.sync_api import expect

    page = open_inbox("st10")
    send(stack, ["st10"], "High goes", severity="high", duration=1)
    send(stack, ["st10"], "Critical stays", severity="critical", duration=1)
    critical = page.locator(".toast", has_text="Critical stays")
    expect(critical).to_be_visible(timeout=5000)
    expect(critical).to_have_attribute("role", "alert")
    expect(page.locator(".toast", has_text="High goes")).to_have_count(0, timeout=4000)
    expect(critical).to_be_visible()
    critical.get_by_role("button", name="Close notification").click()
    expect(critical).to_have_count(0)


def test_action_buttons_come_primary_first_and_open_their_url(open_inbox: Any, stack: Any) -> None:
    from playwright.sync_api import expect

    actions = [{"label": "Approve", "url": "/approvals/7"}, {"label": "Details", "url": "https://example.com/d/7"}]
    message_id = send(stack, ["st11"], "Needs approval", actions=actions)["id"]
    page = open_inbox("st11")
    buttons = _message(page, "Needs approval").locator(".action")
    expect(buttons).to_have_text(["Approve", "Details"])
    expect(buttons.nth(0)).to_have_class(re.compile("primary-action"))
    expect(buttons.nth(1)).to_have_class(re.compile("secondary-action"))
    expect(buttons.nth(1)).to_have_attribute("href", "https://example.com/d/7")
    expect(buttons.nth(1)).to_have_attribute("target", "_blank")
    buttons.nth(0).click()
    page.wait_for_url(re.compile(r"/approvals/7$"), timeout=5000)
    assert stack.http("GET", f"/me/messages/{message_id}", _as("st11"))[1]["status"] == "read"


def test_view_opens_the_mobile_url_on_a_narrow_screen_and_the_url_on_a_wide_one(open_inbox: Any, stack: Any) -> None:
    from playwright.sync_api import expect

    send(stack, ["st12"], "Two links", url="https://example.com/orders/7", mobileUrl="/m/orders/7")
    wide, narrow = open_inbox("st12"), open_inbox("st12", width=360, height=740)
    expect(wide.get_by_role("link", name="View")).to_have_attribute("href", "https://example.com/orders/7")
    narrow.get_by_role("button", name="View").click()
    narrow.wait_for_url(re.compile(r"/m/orders/7$"), timeout=5000)


def test_muting_a_channel_silences_it_in_both_tabs(open_inbox: Any, stack: Any) -> None:
    from playwright.sync_api import expect

    send(stack, ["st13"], "Before the mute")
    stack.http("POST", "/me/messages/seen", _as("st13"), {})
    first, second = open_inbox("st13"), open_inbox("st13")
    first.get_by_role("button", name="Mute this channel").click()
    for tab in (first, second):
        expect(tab.get_by_role("button", name="Mute this channel")).to_have_attribute("aria-pressed", "true", timeout=5000)
        expect(tab.locator(".channel .muted-flag")).to_have_text("muted")
    send(stack, ["st13"], "Quiet one")
    for tab in (first, second):
        expect(_message(tab, "Quiet one")).to_have_count(1, timeout=5000)
        expect(tab.locator(".channel .count")).to_have_text("2", timeout=5000)  # per channel, muted ones count
        expect(tab.locator("#badge")).to_be_hidden()
        expect(tab.locator(".toast")).to_have_count(0)
    _, preferences = stack.http("GET", "/me/preferences", _as("st13"))
    assert preferences["channels"]["general"] == {"muted": True}


def test_a_critical_message_on_a_muted_channel_still_toasts_and_counts(open_inbox: Any, stack: Any) -> None:
    from playwright.sync_api import expect

    stack.http("PUT", "/me/preferences/channels/general", _as("st14"), {"muted": True})
    page = open_inbox("st14")
    send(stack, ["st14"], "Muted but critical", severity="critical")
    expect(page.locator(".toast", has_text="Muted but critical")).to_be_visible(timeout=5000)
    expect(page.locator("#badge")).to_have_text("1")


def test_a_muted_channels_message_caught_up_after_connecting_shows_no_toast(page: Any, stack: Any) -> None:
    """Sent while the socket connects, it arrives by catch-up (no frame, no ``silent``): the client's mutes decide."""
    from playwright.sync_api import expect

    stack.http("PUT", "/me/preferences/channels/general", _as("st15"), {"muted": True})

    def send_then_connect(socket: Any) -> None:
        send(stack, ["st15"], "Caught up quietly")
        socket.connect_to_server()

    page.route_web_socket(re.compile(r"^ws://"), send_then_connect)
    page.goto(f"{stack.urls['http']}/#token={_as('st15')}")
    expect(_message(page, "Caught up quietly")).to_have_count(1, timeout=10_000)
    expect(page.locator(".toast")).to_have_count(0)


def test_leaving_the_page_sends_a_delete_still_waiting_for_its_undo(open_inbox: Any, stack: Any) -> None:
    from playwright.sync_api import expect

    message_id = send(stack, ["st16"], "Gone when I leave")["id"]
    page = open_inbox("st16")
    _message(page, "Gone when I leave").get_by_role("button", name="Delete", exact=True).click()
    expect(page.locator(".toast.undo")).to_be_visible()
    page.goto(f"{stack.urls['http']}/health")
    deadline = time.monotonic() + 5
    while stack.http("GET", f"/me/messages/{message_id}", _as("st16"))[0] != 404 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert stack.http("GET", f"/me/messages/{message_id}", _as("st16"))[0] == 404


def test_a_bulk_change_elsewhere_reaches_the_page_as_one_frame_and_the_page_reloads(open_inbox: Any, stack: Any) -> None:
    """Mark-all-read of more than FOLD_AFTER messages on another device: one ``inbox.changed``, not one frame a message."""
    from playwright.sync_api import expect

    from chalicelib.realtime.frames import FOLD_AFTER

    count = FOLD_AFTER + 5
    for i in range(count):
        send(stack, ["st17"], f"Folded {i:02d}")
    page = open_inbox("st17")
    expect(page.locator("#badge")).to_have_text(str(count), timeout=10_000)
    expect(page.locator(".message.unread")).to_have_count(20)  # the first page
    listed = page.requested.count("GET /me/messages")
    status, answer = stack.http("POST", "/me/messages/read", _as("st17"), {})  # another device: all of them at once
    assert (status, answer) == (200, {"updated": count, "more": False})
    expect(page.locator(".message.unread")).to_have_count(0, timeout=10_000)
    expect(page.locator(".message.read")).to_have_count(20)
    expect(page.locator("#badge")).to_be_hidden()
    assert page.frame_types.count("inbox.changed") == 1 and "message.updated" not in page.frame_types, page.frame_types
    assert page.requested.count("GET /me/messages") == listed + 1  # reloaded once, not once a message
