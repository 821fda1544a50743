"""The admin console's Tags and "Expires at" fields in headless Chromium: the API's own error for a bad tag at its
field, the live preview, a send whose stored message has both, and the send log showing them."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chalicelib.core.auth import issue_token
from tests.conftest import SECRET
from tests.e2e import CHROMIUM

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (.ci/run installs it)")

ZONE = "Asia/Kolkata"  # +05:30: an offset with minutes, far from the machine's UTC


@pytest.fixture
def console(new_page: Any, stack: Any) -> Any:
    """The console signed in as an admin, in English, its clock in ZONE; errors and failed calls recorded."""
    page = new_page(viewport={"width": 1280, "height": 900}, locale="en-US", timezone_id=ZONE)
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(f"{stack.urls['http']}/admin#token={issue_token('root', SECRET, admin=True)}")
    page.locator("#screen-channels").wait_for(timeout=10_000)
    page.locator("#screens").get_by_role("button", name="Compose").click()
    page.locator("#compose-channel").select_option("general")
    page.get_by_label("These user ids").check()
    page.get_by_label("Receivers (one per line, or separated by commas)").fill("adm-tags")
    return page


def test_a_bad_tag_shows_the_apis_error_at_the_tags_field_and_sends_nothing(console: Any, stack: Any) -> None:
    from playwright.sync_api import expect

    console.locator("#compose-title").fill("Badly tagged")
    console.get_by_label("Tags (comma or space separated)").fill("billing, Not-Lower")
    error = console.locator("#compose-error")
    expect(error).to_have_text("tags[1]: must match ^[a-z0-9][a-z0-9_-]{0,31}$")  # the preview's answer
    expect(console.locator("#compose-tags")).to_have_attribute("aria-invalid", "true")
    expect(console.locator("#preview-state")).to_have_text("(cannot be sent yet)")
    console.get_by_role("button", name="Send", exact=True).click()
    expect(error).to_have_text("tags[1]: must match ^[a-z0-9][a-z0-9_-]{0,31}$")
    expect(console.locator("#compose-result")).to_be_hidden()
    _, inbox = stack.http("GET", "/me/messages", issue_token("adm-tags", SECRET))
    assert "Badly tagged" not in [m["title"] for m in inbox["items"]]


def test_tags_and_expiry_reach_the_preview_the_stored_message_and_the_send_log(console: Any, stack: Any) -> None:
    from playwright.sync_api import expect

    local = (datetime.now(ZoneInfo(ZONE)) + timedelta(days=3)).replace(second=0, microsecond=0)
    console.locator("#compose-title").fill("Tagged and expiring")
    console.get_by_label("Tags (comma or space separated)").fill("urgent billing,urgent")
    console.get_by_label("Expires at (empty: never)").fill(local.strftime("%Y-%m-%dT%H:%M"))
    expect(console.locator("#preview-state")).to_have_text("(as it will be sent)")
    expect(console.locator("#preview-tags")).to_have_text("billing, urgent")
    expect(console.locator("#preview-expires")).to_have_attribute("datetime", local.isoformat())  # +05:30 kept
    console.get_by_role("button", name="Send", exact=True).click()
    expect(console.locator("#compose-result")).to_contain_text("stored for 1 receiver", timeout=10_000)

    _, inbox = stack.http("GET", "/me/messages", issue_token("adm-tags", SECRET))
    message = next(m for m in inbox["items"] if m["title"] == "Tagged and expiring")
    assert message["tags"] == ["billing", "urgent"]
    assert datetime.fromisoformat(message["expiresAt"]) == local
    row = console.locator("#log-list .send", has_text="Tagged and expiring")
    expect(row.locator(".send-tags")).to_have_text("tags: billing, urgent")
    expect(row.locator(".send-expires time")).to_have_attribute("datetime", message["expiresAt"])
    expect(row.locator(".send-expires")).to_contain_text("expires")
    _, log = stack.http("GET", f"/messages/{message['id']}", issue_token("root", SECRET, admin=True))
    assert (log["tags"], datetime.fromisoformat(log["expiresAt"])) == (["billing", "urgent"], local)
    assert console.errors == []
