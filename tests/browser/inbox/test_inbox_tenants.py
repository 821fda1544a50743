"""Tenants in one browser: the same ``sub`` in two tenants is two users, two sockets, and no frame crosses.

Tabs of one browser and user share one socket (`inbox-client.js`); with tenants on, "the same user" must
include the tenant, whatever the deployment names its claim: else one tenant's tab would hear the other
tenant's frames through the shared socket.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.core.auth import issue_token
from infra.local.running import RunningStack
from tests.browser.inbox.test_inbox_tabs import OPEN, START
from tests.conftest import SECRET
from tests.e2e import CHROMIUM, until

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (.ci/run installs it)")
CLAIM = "org"


@pytest.fixture(scope="module")
def tenant_stack() -> Iterator[RunningStack]:
    running = RunningStack(SECRET, {"INAPP_TENANT_CLAIM": CLAIM, "INAPP_LOCAL_TENANT": "team-a"})
    yield running
    running.stop()


def _token(user: str, tenant: str, admin: bool = False) -> str:
    return issue_token(user, SECRET, admin=admin, tenant=tenant, tenant_claim=CLAIM)


def _client_page(context: Any, stack: RunningStack, token: str) -> Any:
    page = context.new_page()
    page.sockets = []
    page.on("websocket", lambda socket: page.sockets.append(socket))
    page.goto(f"{stack.urls['http']}/")
    page.evaluate(START, {"token": token, "options": {}})
    until(page, OPEN)
    return page


def test_the_same_sub_in_two_tenants_holds_two_sockets_and_hears_only_its_own_tenant(
    browser: Any, tenant_stack: RunningStack
) -> None:
    context = browser.new_context()  # one browser profile: its tabs share Web Locks and BroadcastChannels
    try:
        mine = _client_page(context, tenant_stack, _token("alice", "team-a"))
        theirs = _client_page(context, tenant_stack, _token("alice", "team-b"))
        assert (mine.evaluate("client.role"), theirs.evaluate("client.role")) == ("leader", "leader")
        assert (len(mine.sockets), len(theirs.sockets)) == (1, 1)
        sent = {}
        for tenant in ("team-a", "team-b"):
            admin = _token("admin", tenant, admin=True)
            tenant_stack.http("POST", "/channels", admin, {"name": "ops", "title": "Ops"})
            status, answer = tenant_stack.http(
                "POST", "/messages", admin, {"channel": "ops", "receivers": ["alice"], "title": f"for {tenant}"}
            )
            assert status == 202, answer
            sent[tenant] = answer["id"]
        until(mine, f"window.received.includes({sent['team-a']!r})")
        until(theirs, f"window.received.includes({sent['team-b']!r})")
        time.sleep(1.0)  # a frame passed on by the other tenant's tab would have arrived by now
        assert mine.evaluate("window.received") == [sent["team-a"]]
        assert theirs.evaluate("window.received") == [sent["team-b"]]
    finally:
        context.close()
