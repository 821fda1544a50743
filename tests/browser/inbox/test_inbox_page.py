"""The inbox page in headless Chromium (Debian's), against the local stack."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib.core.auth import issue_token
from infra.local.running import client_env
from tests.conftest import SECRET
from tests.e2e import CHROMIUM, ROOT, send

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (.ci/run installs it)")


# The focused control's name: inside the element's shadow root, `document.activeElement` is the element itself.
FOCUSED_NAME = """(() => {
  let focused = document.activeElement;
  while (focused.shadowRoot && focused.shadowRoot.activeElement) focused = focused.shadowRoot.activeElement;
  return focused.getAttribute("aria-label") || focused.textContent.trim();
})()"""


def _stored_token(page: Any) -> Any:
    return page.evaluate("sessionStorage.getItem('inapp-token')")


def test_token_leaves_the_address_bar(open_inbox: Any) -> None:
    page = open_inbox("w0")
    assert "token" not in page.url
    assert page.locator("#signin").is_hidden()


def test_new_message_toasts_counts_and_lists_then_the_toast_closes(open_inbox: Any, stack: Any) -> None:
    from playwright.sync_api import expect

    page = open_inbox("w1")
    send(stack, ["w1"], "Build finished", content="All 42 checks passed.", duration=2)
    toast = page.locator(".toast", has_text="Build finished")
    expect(toast).to_be_visible(timeout=5000)
    expect(toast).to_contain_text("All 42 checks passed.")
    expect(page.locator("#badge")).to_have_text("1")
    expect(page.locator(".channel", has_text="General")).to_be_visible()
    expect(page.locator(".message .title", has_text="Build finished")).to_be_visible()
    expect(toast).to_be_hidden(timeout=4000)


def test_sticky_toast_stays_until_closed_and_opens_its_channel(open_inbox: Any, stack: Any) -> None:
    from playwright.sync_api import expect

    page = open_inbox("w1b")
    send(stack, ["w1b"], "Stays", duration=0)
    toast = page.locator(".toast", has_text="Stays")
    expect(toast).to_be_visible(timeout=5000)
    page.wait_for_timeout(1500)
    expect(toast).to_be_visible()
    toast.locator(".open").click()
    expect(toast).to_be_hidden()
    expect(page.locator("#channel-title")).to_have_text("General")


def test_view_marks_read_navigates_and_the_other_tab_syncs_live(open_inbox: Any, stack: Any) -> None:
    from playwright.sync_api import expect

    first, second = open_inbox("w2"), open_inbox("w2")
    send(stack, ["w2"], "Open the health page", url="/health")
    for page in (first, second):
        expect(page.locator(".message", has_text="Open the health page").locator(".tag")).to_have_text("Unread", timeout=5000)
    first.locator(".message", has_text="Open the health page").get_by_role("button", name="View").click()
    first.wait_for_url(re.compile(r"/health$"), timeout=5000)
    expect(second.locator(".message", has_text="Open the health page").locator(".tag")).to_have_text("Read", timeout=5000)
    expect(second.locator("#badge")).to_be_hidden()


def test_tabs_mark_all_and_load_more(open_inbox: Any, stack: Any) -> None:
    from playwright.sync_api import expect

    sent = [send(stack, ["w3"], f"Message {i:02d}")["id"] for i in range(45)]
    user = issue_token("w3", SECRET)
    stack.http("PATCH", f"/me/messages/{sent[0]}", user, {"status": "read"})
    page = open_inbox("w3")
    expect(page.locator("#badge")).to_have_text("44")
    expect(page.locator(".message")).to_have_count(20)
    page.get_by_role("button", name="Load more").last.click()
    expect(page.locator(".message")).to_have_count(40)
    page.get_by_role("button", name="Load more").last.click()
    expect(page.locator(".message")).to_have_count(45)
    shown = page.locator(".message").evaluate_all("nodes => nodes.map(n => n.dataset.id)")
    assert shown == list(reversed(sent))
    expect(page.locator("#messages-more")).to_be_hidden()

    page.get_by_role("tab", name="Read", exact=True).click()
    expect(page.locator(".message")).to_have_count(1)
    expect(page.locator(".message .title")).to_have_text("Message 00")
    page.get_by_role("tab", name="Unread", exact=True).click()
    expect(page.locator(".message")).to_have_count(20)

    page.locator("#mark-everything").click()
    expect(page.locator("#badge")).to_be_hidden()
    expect(page.locator("#channels-empty")).to_be_visible()
    page.get_by_role("tab", name="All", exact=True).click()
    expect(page.locator(".message.unread")).to_have_count(0)


def test_markup_in_messages_renders_as_text_and_runs_nothing(open_inbox: Any, stack: Any) -> None:
    from playwright.sync_api import expect

    page = open_inbox("w4")
    attack = '<img src=x onerror="window.__xss=1">'
    send(stack, ["w4"], f"Hi {attack}", content=f"Body {attack}", actions=[{"label": attack, "url": "/a"}])
    expect(page.locator(".message .title")).to_have_text(f"Hi {attack}", timeout=5000)
    expect(page.locator(".message .content")).to_have_text(f"Body {attack}")
    expect(page.locator(".message .action")).to_have_text(attack)
    expect(page.locator(".toast strong")).to_have_text(f"Hi {attack}")
    assert page.locator("img").count() == 0
    assert page.evaluate("window.__xss") is None


def test_server_side_close_reconnects_and_catches_up(open_inbox: Any, stack: Any) -> None:
    from playwright.sync_api import expect

    page = open_inbox("w5")
    dynamodb = boto3.client("dynamodb", endpoint_url=stack.urls["dynamodb"], region_name="us-east-1")
    item = dynamodb.get_item(TableName="inapp-dev-connections", Key={"pk": {"S": "user#w5"}})["Item"]
    (element,) = item["connections"]["SS"]
    management = boto3.client("apigatewaymanagementapi", endpoint_url=stack.urls["management"], region_name="us-east-1")
    management.delete_connection(ConnectionId=element.split("|")[0])
    away = [send(stack, ["w5"], f"While away {i}")["id"] for i in range(3)]
    expect(page.locator("#connection[data-state='open']")).to_be_visible(timeout=10_000)
    for message_id in away:
        expect(page.locator(f".message[data-id='{message_id}']")).to_have_count(1, timeout=10_000)
    expect(page.locator("#badge")).to_have_text("3")


def test_phone_width_has_no_horizontal_scroll(open_inbox: Any, stack: Any) -> None:
    from playwright.sync_api import expect

    send(
        stack,
        ["w6"],
        "A rather long title " * 8,
        content="word " * 200 + "x" * 300,
        url="https://example.com/" + "p" * 300,
        mobileUrl="/m/" + "p" * 300,
        severity="critical",
        actions=[{"label": "A" * 40, "url": "/a"}, {"label": "B" * 40, "url": "https://example.com/b"}],
    )
    page = open_inbox("w6", width=360, height=740)
    expect(page.locator(".message")).to_have_count(1, timeout=10_000)  # 5 s was too short on a busy CI machine
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1]


def test_keyboard_reaches_every_control_with_a_name(open_inbox: Any, stack: Any) -> None:
    actions = [{"label": "Approve", "url": "/approve"}, {"label": "Details", "url": "https://example.com/d"}]
    send(stack, ["w7"], "Keyboard", url="/health", actions=actions)
    page = open_inbox("w7")
    page.locator(".message").first.wait_for()
    names = []
    for _ in range(24):
        page.keyboard.press("Tab")
        names.append(page.evaluate(FOCUSED_NAME))
    assert all(names), names
    assert {"All", "Unread", "Read", "Archive", "View", "Approve", "Details", "Delete"} <= set(names)
    assert {"Mute this channel", "Archive this channel's read", "Archive every read message"} <= set(names)


def test_quick_start_alice_sees_make_sends_toast_and_view_opens_the_app_page(page: Any, stack: Any) -> None:
    from playwright.sync_api import expect

    page.goto(f"{stack.urls['http']}/#token={stack.exports()['ALICE']}")
    expect(page.locator("#connection[data-state='open']")).to_be_visible(timeout=10_000)
    env = {**client_env(stack.state_file), "INAPP_JWT_SECRET": stack.secret, "MAKEFLAGS": f"PY={sys.executable}"}
    sent = subprocess.run(["make", "send"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert sent.returncode == 0, sent.stderr
    message_id = json.loads(sent.stdout)["id"]
    toast = page.locator(".toast", has_text="Deployed 2.14.0")
    expect(toast).to_be_visible(timeout=5000)
    expect(toast).to_contain_text("All checks passed.")
    page.locator(f".message[data-id='{message_id}']").get_by_role("button", name="View").click()
    page.wait_for_url(re.compile(r"/releases/2\.14\.0$"), timeout=5000)
    expect(page.locator("h1")).to_have_text("Your app's page: /releases/2.14.0")
    _, message = stack.http("GET", f"/me/messages/{message_id}", stack.exports()["ALICE"])
    assert message["status"] == "read"
    assert not page.errors and not page.failures


def test_bad_or_expired_token_returns_to_sign_in_says_how_to_get_a_new_one_and_forgets_it(page: Any, stack: Any) -> None:
    from playwright.sync_api import expect

    page.goto(f"{stack.urls['http']}/#token={issue_token('x1', SECRET, lifetime_seconds=-60)}")
    notice = page.locator("#signin-notice")
    expect(notice).to_be_visible(timeout=5000)
    expect(notice).to_have_text("Your token is invalid or expired. Get a new one with make token USER=alice and paste it below.")
    expect(page.locator("#signin-hint")).to_have_text("No token? make token USER=alice prints one.")
    expect(page.locator("#inbox")).to_be_hidden()
    expect(page.locator("#sign-out")).to_be_hidden()
    assert _stored_token(page) is None
    page.reload()
    expect(page.locator("#signin")).to_be_visible()
    assert page.errors == []


def test_sign_out_returns_to_sign_in_and_forgets_the_token(open_inbox: Any) -> None:
    from playwright.sync_api import expect

    page = open_inbox("so1")
    assert _stored_token(page)
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#signin")).to_be_visible()
    expect(page.locator("#inbox")).to_be_hidden()
    expect(page.locator("#signin-notice")).to_be_hidden()
    assert _stored_token(page) is None
    page.reload()
    expect(page.locator("#signin")).to_be_visible()


def test_unread_tab_with_nothing_unread_empties_the_right_pane(open_inbox: Any, stack: Any) -> None:
    from playwright.sync_api import expect

    sent = send(stack, ["ur1"], "Already read", url="/health")
    stack.http("PATCH", f"/me/messages/{sent['id']}", issue_token("ur1", SECRET), {"status": "read"})
    page = open_inbox("ur1")
    expect(page.locator(".message")).to_have_count(1)
    page.get_by_role("tab", name="Unread", exact=True).click()
    expect(page.locator("#channels-empty")).to_have_text("Nothing unread.")
    expect(page.locator("#channel-title")).to_have_text("Nothing unread.")
    expect(page.locator(".message")).to_have_count(0)
    expect(page.locator("#mark-channel")).to_be_hidden()
    expect(page.get_by_role("button", name="View")).to_have_count(0)


def test_loading_the_inbox_fails_no_request_and_needs_no_favicon_ico(page: Any, stack: Any) -> None:
    from playwright.sync_api import expect

    page.goto(f"{stack.urls['http']}/#token={issue_token('fv1', SECRET)}")
    expect(page.locator("#connection[data-state='open']")).to_be_visible(timeout=10_000)
    # Headless Chromium asks for no /favicon.ico, a desktop browser would (403 before): the page names its icon inline.
    assert page.locator("link[rel='icon']").get_attribute("href").startswith("data:image/svg+xml,")
    assert page.failures == [] and page.errors == []


def test_a_message_sent_while_the_first_socket_connects_is_shown_at_once(page: Any, stack: Any) -> None:
    """Sent after the page's first fetch but before ``$connect`` ends: no frame reaches it, catch-up must."""
    from playwright.sync_api import expect

    def send_then_connect(socket: Any) -> None:
        send(stack, ["latecomer"], "Sent while connecting")
        socket.connect_to_server()

    page.route_web_socket(re.compile(r"^ws://"), send_then_connect)
    page.goto(f"{stack.urls['http']}/#token={issue_token('latecomer', SECRET)}")
    expect(page.locator(".toast", has_text="Sent while connecting")).to_be_visible(timeout=10_000)


def test_opening_the_inbox_toasts_none_of_the_messages_already_there(page: Any, stack: Any) -> None:
    """The catch-up after the newest id returns the seconds before it too (two sends at once land in either order).

    Those were listed with the page, not new: the client starts with the newest page as seen, not the newest one.
    """
    from playwright.sync_api import expect

    send(stack, ["settled"], "Already here 1")
    send(stack, ["settled"], "Already here 2")
    with page.expect_response(lambda response: "after=" in response.url, timeout=10_000):
        page.goto(f"{stack.urls['http']}/#token={issue_token('settled', SECRET)}")
    expect(page.locator(".message")).to_have_count(2)
    page.wait_for_timeout(500)  # the catch-up's answer has been handled by now
    expect(page.locator(".toast")).to_have_count(0)


def test_a_catch_up_refused_with_429_is_retried_until_it_shows_what_arrived(page: Any, stack: Any) -> None:
    """The client had swallowed a failed catch-up: a 429 on reconnect hid what arrived while away until the next one."""
    from playwright.sync_api import expect

    refused: list[str] = []
    answered: list[str] = []
    connected: list[Any] = []

    def busy_twice(route: Any) -> None:
        if "after=" not in route.request.url or not connected:  # the catch-ups once the socket is made
            route.continue_()
        elif len(refused) < 2:
            refused.append(route.request.url)
            route.fulfill(status=429, content_type="application/json", body='{"Code":"TooManyRequestsError","Message":"busy"}')
        else:
            answered.append(route.request.url)
            route.continue_()

    def send_then_connect(socket: Any) -> None:
        send(stack, ["patient"], "Sent while connecting")
        connected.append(socket)
        socket.connect_to_server()

    page.route(re.compile(r"/me/messages\?"), busy_twice)
    page.route_web_socket(re.compile(r"^ws://"), send_then_connect)
    page.goto(f"{stack.urls['http']}/#token={issue_token('patient', SECRET)}")
    # The message comes by catch-up, or by a frame when delivery found the socket registered already.
    expect(page.locator(".toast", has_text="Sent while connecting")).to_be_visible(timeout=15_000)
    for _ in range(150):  # the retries wait up to 0.5 s, then 1 s (full jitter)
        if answered:
            break
        page.wait_for_timeout(100)
    assert len(refused) == 2 and answered  # refused twice, then asked again until answered


def test_each_mark_all_read_button_names_its_scope(open_inbox: Any, stack: Any) -> None:
    """Two buttons both said "Mark all as read": one for every channel, one for the open channel."""
    from playwright.sync_api import expect

    send(stack, ["scoped"], "One")
    page = open_inbox("scoped")
    page.locator(".channel", has_text="General").click()
    expect(page.get_by_role("button", name="Mark every channel read")).to_be_visible()
    expect(page.get_by_role("button", name="Mark this channel read")).to_be_visible()
    assert page.get_by_role("button", name="Mark all as read").count() == 0


def _routed_socket(page: Any, stack: Any, user: str) -> Any:
    """The page signed in as ``user``, its WebSocket routed through the test: what the test sends, the page gets."""
    from playwright.sync_api import expect

    sockets: list[Any] = []

    def keep(socket: Any) -> None:
        socket.connect_to_server()
        sockets.append(socket)

    page.route_web_socket(re.compile(r"^ws://"), keep)
    page.goto(f"{stack.urls['http']}/#token={issue_token(user, SECRET)}")
    expect(page.locator("#signin")).to_be_hidden()
    for _ in range(50):
        if sockets:
            break
        page.wait_for_timeout(100)
    return sockets[0]


def test_a_counts_frame_older_than_the_shown_one_is_ignored(page: Any, stack: Any) -> None:
    """Two stream shards' batches post at once: their counts frames may arrive crossed; the newest one wins."""
    from playwright.sync_api import expect

    socket = _routed_socket(page, stack, "crossed")
    newer = {"type": "counts.updated", "counts": {"total": 3, "unseen": 3, "channels": {}}, "version": 8}
    older = {**newer, "counts": {"total": 7, "unseen": 7, "channels": {}}, "version": 7}
    socket.send(json.dumps(newer))
    expect(page.locator("#badge")).to_have_text("3")
    socket.send(json.dumps(older))
    page.wait_for_timeout(300)
    expect(page.locator("#badge")).to_have_text("3")


def test_a_new_messages_frame_brings_the_badge_its_counts(page: Any, stack: Any) -> None:
    """One frame per message: the counts ride on ``message.created``; an older one's counts are ignored, not its message."""
    from playwright.sync_api import expect

    socket = _routed_socket(page, stack, "onefr")

    def created(id_: str, title: str, unseen: int, version: int) -> str:
        message = {"id": id_, "channel": "general", "channelTitle": "General", "title": title, "content": "", "url": None,
                   "mobileUrl": None, "duration": 8, "severity": "normal", "actions": [], "status": "unread", "seen": False,
                   "seenAt": None, "archived": False, "archivedAt": None, "createdAt": "2026-12-07T02:00:00.000Z",
                   "readAt": None}  # fmt: skip
        counts = {"total": unseen, "unseen": unseen, "channels": {"general": unseen}}
        return json.dumps({"type": "message.created", "message": message, "silent": False, "counts": counts, "version": version})

    socket.send(created("01KC0000000000000000000002", "Newer", 2, 9))
    expect(page.locator("#badge")).to_have_text("2")
    socket.send(created("01KC0000000000000000000001", "Crossed", 1, 8))
    expect(page.locator(".toast", has_text="Crossed")).to_be_visible()
    expect(page.locator("#badge")).to_have_text("2")


@pytest.fixture(scope="module")
def broadcast_stack() -> Any:
    """A stack of its own where every audience send with a subscriber is a broadcast (the shared one keeps 10,000)."""
    from infra.local.running import RunningStack

    running = RunningStack(SECRET, {"INAPP_BROADCAST_THRESHOLD": "0"})
    try:
        admin = issue_token("admin", SECRET, admin=True)
        assert running.http("POST", "/channels", admin, {"name": "general", "title": "General"})[0] == 201
        assert running.http("POST", "/channels/general/subscribers", admin, {"add": ["bc1", "bc2"]})[0] == 200
        yield running
    finally:
        running.stop()


def test_a_broadcast_toasts_counts_on_the_badge_and_view_reads_it_like_any_message(new_page: Any, broadcast_stack: Any) -> None:
    from playwright.sync_api import expect

    pages = []
    for user in ("bc1", "bc2"):
        page = new_page()
        page.goto(f"{broadcast_stack.urls['http']}/#token={issue_token(user, SECRET)}")
        page.locator("#connection[data-state='open']").wait_for(timeout=10_000)
        pages.append(page)
    admin = issue_token("admin", SECRET, admin=True)
    body = {"channel": "general", "audience": "subscribers", "title": "To everyone", "url": "/health"}
    status, sent = broadcast_stack.http("POST", "/messages", admin, body)
    assert status == 202, sent
    for page in pages:  # its frame carries no counts: the page counts it itself
        expect(page.locator(".toast", has_text="To everyone")).to_be_visible(timeout=5000)
        expect(page.locator("#badge")).to_have_text("1")
    first, second = pages
    first.locator(".message", has_text="To everyone").get_by_role("button", name="View").click()
    first.wait_for_url(re.compile(r"/health$"), timeout=5000)
    assert broadcast_stack.http("GET", "/me/unread-count", issue_token("bc1", SECRET))[1]["total"] == 0
    expect(second.locator("#badge")).to_have_text("1")  # the other subscriber's is theirs
    second.reload()
    second.locator("#connection[data-state='open']").wait_for(timeout=10_000)
    expect(second.locator("#badge")).to_have_text("1")  # and so the server counts it
