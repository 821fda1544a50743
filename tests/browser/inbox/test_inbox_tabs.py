"""Tabs of one browser and user share one WebSocket (`inbox-client.js`): headless Chromium against the local stack.

Each test's pages live in one browser context, as the tabs of one browser profile do: they share its Web
Locks and BroadcastChannels. ``page.sockets`` lists the WebSockets a page opened (Playwright's ``websocket``
event); the local gateway's connection records say what the server holds.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import boto3
import jwt
import pytest

from chalicelib.core.auth import issue_token
from infra.local.running import RunningStack
from tests.conftest import SECRET
from tests.e2e import CHROMIUM, send, until

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (.ci/run installs it)")

START = """async ({ token, options }) => {
  const { InboxClient } = await import("./static/inbox-client.js");
  const wsUrl = document.querySelector("inapp-inbox").wsUrl;
  Object.assign(window, { states: [], received: [], refused: [] });
  const client = new InboxClient({ apiUrl: new URL(".", location.href).href, wsUrl, token, ...options });
  window.client = client;
  client.addEventListener("connection", (e) => window.states.push(e.detail));
  client.addEventListener("message", (e) => window.received.push(e.detail.message.id));
  client.addEventListener("unauthorized", (e) => window.refused.push(e.detail.message));
  await client.connect();
}"""
OPEN = "window.states.some((s) => s.state === 'open')"


class Tabs:
    """Pages of one browser context: the tabs of one browser."""

    def __init__(self, context: Any, stack: RunningStack) -> None:
        self.context = context
        self.stack = stack

    def new(self) -> Any:
        page = self.context.new_page()
        page.sockets = []
        page.on("websocket", lambda socket: page.sockets.append(socket))
        return page

    def inbox(self, user: str) -> Any:
        """The inbox page, signed in as ``user`` and connected."""
        from playwright.sync_api import expect

        page = self.new()
        page.goto(f"{self.stack.urls['http']}/#token={issue_token(user, SECRET)}")
        expect(page.locator("#connection[data-state='open']")).to_be_visible(timeout=10_000)
        return page

    def client(self, user: str, token: str | None = None, page: Any = None, **options: Any) -> Any:
        """A page (``page``, else a new one) running an `InboxClient` of ``user`` (``window.client``), connected,
        recording its events."""
        page = page or self.new()
        page.goto(f"{self.stack.urls['http']}/")
        page.evaluate(START, {"token": token or issue_token(user, SECRET), "options": options})
        until(page, OPEN)
        return page


@pytest.fixture
def tabs(browser: Any, stack: RunningStack) -> Iterator[Tabs]:
    context = browser.new_context()
    yield Tabs(context, stack)
    context.close()


def _sockets(*pages: Any) -> int:
    return sum(len(page.sockets) for page in pages)


def _gateway_connections(stack: RunningStack, user: str) -> int:
    """How many connections of ``user`` the local gateway has registered (the connections table's record)."""
    dynamodb = boto3.client("dynamodb", endpoint_url=stack.urls["dynamodb"], region_name="us-east-1")
    item = dynamodb.get_item(TableName="inapp-dev-connections", Key={"pk": {"S": f"user#{user}"}}, ConsistentRead=True)
    return len(item.get("Item", {}).get("connections", {}).get("SS", []))


def _settled(stack: RunningStack, user: str, expected: int, timeout: float = 10.0) -> int:
    """The gateway's count for ``user`` once it is ``expected`` (a closed socket's ``$disconnect`` takes a moment)."""
    deadline = time.monotonic() + timeout
    while (count := _gateway_connections(stack, user)) != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    return count


def _roles(*pages: Any) -> list[str]:
    return sorted(page.evaluate("window.client.role") for page in pages)


@pytest.mark.parametrize("count", [2, 3])
def test_inbox_tabs_of_one_user_hold_one_websocket_and_all_show_a_sent_message(tabs: Tabs, count: int) -> None:
    from playwright.sync_api import expect

    user = f"tabs{count}"
    pages = [tabs.inbox(user) for _ in range(count)]
    assert _sockets(*pages) == 1
    assert _gateway_connections(tabs.stack, user) == 1
    sent = send(tabs.stack, [user], "To every tab")
    for page in pages:
        expect(page.locator(f".message[data-id='{sent['id']}']")).to_have_count(1, timeout=10_000)
        expect(page.locator(".toast", has_text="To every tab")).to_be_visible()
        expect(page.locator("#badge")).to_have_text("1")
    assert _sockets(*pages) == 1


def _leave(page: Any, how: str) -> None:
    """The leader goes: Chromium releases a closed or left page's Web Lock, ``close()`` its client's."""
    if how == "page closed":
        page.close()
    elif how == "page left":
        page.goto(f"{page.url}health")
    else:
        page.evaluate("window.client.close()")


def _stored(stack: RunningStack, user: str, count: int, timeout: float = 10.0) -> None:
    """Wait until the stream has counted ``count`` messages for ``user`` (it has posted their frames by then)."""
    token = issue_token(user, SECRET)
    deadline = time.monotonic() + timeout
    while stack.http("GET", "/me/unread-count", token)[1]["total"] < count:
        assert time.monotonic() < deadline, f"the stream never counted {count} messages"
        time.sleep(0.05)


@pytest.mark.parametrize("leaving", ["page closed", "page left", "client closed"])
def test_the_leader_going_midway_through_a_series_of_sends_loses_no_message_and_shows_none_twice(
    tabs: Tabs, leaving: str
) -> None:
    """Sends before, during and after the handover; those during it reach no socket (the test holds the new one back)."""
    user = "handover-" + leaving.replace(" ", "-")
    pages = [tabs.client(user) for _ in range(3)]
    (leader,) = [page for page in pages if page.sockets]  # one socket, the first tab's
    assert leader.evaluate("window.client.role") == "leader"
    assert _roles(*pages) == ["follower", "follower", "leader"]
    remaining = [page for page in pages if page is not leader]
    sent = [send(tabs.stack, [user], f"Before {i}")["id"] for i in range(4)]

    def send_then_connect(socket: Any) -> None:
        sent.extend(send(tabs.stack, [user], f"While no tab held the socket {i}")["id"] for i in range(4))
        _stored(tabs.stack, user, len(sent))
        socket.connect_to_server()

    for page in remaining:
        page.route_web_socket(re.compile(r"^ws://"), send_then_connect)
    _leave(leader, leaving)
    until(remaining[0], "window.states.filter((s) => s.state === 'open').length >= 2")  # the new leader's socket
    sent.extend(send(tabs.stack, [user], f"After {i}")["id"] for i in range(4))
    for page in remaining:
        until(page, f"window.received.length >= {len(sent)}", timeout=15)
    remaining[0].wait_for_timeout(1000)  # a repeat would have come by now
    for page in remaining:
        assert sorted(page.evaluate("window.received")) == sorted(sent)  # every message, each once
    assert _roles(*remaining) == ["follower", "leader"]
    assert _sockets(*remaining) == 1  # the new leader's
    assert _settled(tabs.stack, user, 1) == 1


def test_two_users_in_one_browser_hold_a_socket_each_and_hear_only_their_own(tabs: Tabs) -> None:
    first = [tabs.client("pair-a") for _ in range(2)]
    second = [tabs.client("pair-b") for _ in range(2)]
    assert _sockets(*first) == 1 and _sockets(*second) == 1
    assert _gateway_connections(tabs.stack, "pair-a") == 1 and _gateway_connections(tabs.stack, "pair-b") == 1
    to_first = send(tabs.stack, ["pair-a"], "For a")["id"]
    to_second = send(tabs.stack, ["pair-b"], "For b")["id"]
    for page in (*first, *second):
        until(page, "window.received.length > 0")
    first[0].wait_for_timeout(500)
    assert [page.evaluate("window.received") for page in first] == [[to_first]] * 2
    assert [page.evaluate("window.received") for page in second] == [[to_second]] * 2


def test_share_socket_false_opens_a_socket_per_tab(tabs: Tabs) -> None:
    pages = [tabs.client("apart", shareSocket=False) for _ in range(3)]
    assert [len(page.sockets) for page in pages] == [1, 1, 1]
    assert _roles(*pages) == ["alone"] * 3
    assert _gateway_connections(tabs.stack, "apart") == 3
    sent = send(tabs.stack, ["apart"], "To each socket")["id"]
    for page in pages:
        until(page, f"window.received.includes('{sent}')")


def _wait_past_exp(token: str) -> None:
    time.sleep(max(0.0, jwt.decode(token, options={"verify_signature": False})["exp"] + 0.5 - time.time()))


def test_a_follower_whose_plain_token_expires_says_unauthorized_and_hears_nothing_more(tabs: Tabs) -> None:
    leader = tabs.client("fexp")
    short = issue_token("fexp", SECRET, lifetime_seconds=5)
    follower = tabs.client("fexp", token=short)
    assert follower.evaluate("window.client.role") == "follower"
    _wait_past_exp(short)
    until(follower, "window.refused.length > 0")
    sent = send(tabs.stack, ["fexp"], "After the follower's token expired")["id"]
    until(leader, f"window.received.includes('{sent}')")
    follower.wait_for_timeout(500)
    assert follower.evaluate("window.received") == []
    assert follower.evaluate("window.client.role") == "alone" and not follower.sockets


def test_a_leader_whose_plain_token_expires_says_unauthorized_and_the_next_tab_takes_the_socket(tabs: Tabs) -> None:
    """The server closes the leader's socket (4001) at the first message after its token's exp; nothing is lost."""
    short = issue_token("lexp", SECRET, lifetime_seconds=5)
    leader = tabs.client("lexp", token=short)
    follower = tabs.client("lexp")
    _wait_past_exp(short)
    sent = send(tabs.stack, ["lexp"], "After the leader's token expired")["id"]
    until(leader, "window.refused.length > 0")
    until(follower, f"window.received.includes('{sent}')")
    assert leader.evaluate("window.received") == []
    assert follower.evaluate("window.client.role") == "leader" and len(follower.sockets) == 1


def test_a_4008_closes_every_tab_of_the_group_for_good_and_a_tab_opened_later_connects(tabs: Tabs) -> None:
    """Reconnecting at once would close the user's next oldest socket: the group stops, as one tab alone does."""
    leader = tabs.client("evicted")
    follower = tabs.client("evicted")
    closed = "window.states.some((s) => s.state === 'closed' && s.code === 4008)"
    with ExitStack() as sockets:
        for _ in range(10):  # the user's cap: the group's socket is the oldest, closed with 4008
            sockets.enter_context(tabs.stack.socket(issue_token("evicted", SECRET)))
        for page in (leader, follower):
            until(page, closed)
        follower.wait_for_timeout(1000)
        assert _sockets(leader, follower) == 1  # nobody reconnected
        newcomer = tabs.client("evicted")
        assert newcomer.evaluate("window.client.role") == "leader" and len(newcomer.sockets) == 1
        sent = send(tabs.stack, ["evicted"], "To the newcomer")["id"]
        until(newcomer, f"window.received.includes('{sent}')")
        assert leader.evaluate("window.received") == [] and follower.evaluate("window.received") == []


def test_a_leader_past_its_plain_tokens_exp_shows_no_message_that_another_tab_caught_up(tabs: Tabs) -> None:
    """A joining tab's catch-up finds a message before the server closes the expired leader's socket (4001)."""
    short = issue_token("lexp2", SECRET, lifetime_seconds=5)
    leader = tabs.client("lexp2", token=short)
    _wait_past_exp(short)
    caught_up: list[str] = []

    def send_before_the_joining_catch_up(route: Any) -> None:
        caught_up.append(route.request.url)
        if len(caught_up) == 2:  # the first is connect()'s, taking what is stored as seen
            caught_up.append(send(tabs.stack, ["lexp2"], "Found by the joining tab")["id"])
        route.continue_()

    joining = tabs.new()
    joining.route(re.compile(r"/me/messages\?after="), send_before_the_joining_catch_up)
    tabs.client("lexp2", page=joining)
    until(joining, f"window.received.includes('{caught_up[2]}')")
    until(leader, "window.refused.length > 0")
    assert leader.evaluate("window.received") == []
