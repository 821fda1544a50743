"""The element in every locale, in headless Chromium: no missing key, no raw key, the locale's own words.

The inbox is brought into every state that has words of its own (severities, actions, a muted channel, a
toast, the undo of a delete, the archive, an empty list), then its `missingKeys`, its text and its labels
are read.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from chalicelib.api.pages import LOCALES
from chalicelib.core.auth import issue_token
from tests.conftest import SECRET
from tests.e2e import CHROMIUM, catalogue, send

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (.ci/run installs it)")

WORDS = """node => [
  node.shadowRoot.textContent,
  ...[...node.shadowRoot.querySelectorAll("[aria-label]")].map((child) => child.getAttribute("aria-label")),
].join("\\n")"""
# Shown in the states this test brings on: each must read as the locale's catalogue says.
SHOWN = ["tab.all", "tab.archived", "bulk.readEverything", "bulk.archiveEverything", "channel.muted", "message.unarchive",
         "severity.critical", "toast.close", "undo.undo", "undo.deleted", "connection.open", "empty.unread",
         "empty.archived"]  # fmt: skip


def _as(user: str) -> str:
    return issue_token(user, SECRET)


@pytest.mark.parametrize("locale", LOCALES)
def test_the_element_renders_every_state_in_the_locale_with_no_missing_key(open_inbox: Any, stack: Any, locale: str) -> None:
    from playwright.sync_api import expect

    user = f"locale-{locale.lower()}"
    stack.http("PUT", "/me/preferences/channels/general", _as(user), {"muted": True})
    archived = send(stack, [user], "Archived already")["id"]
    stack.http("PATCH", f"/me/messages/{archived}", _as(user), {"archived": True})
    actions = [{"label": "Approve", "url": "/approve"}, {"label": "Details", "url": "https://example.com/d"}]
    send(stack, [user], "High one", severity="high", url="https://example.com/h", actions=actions)
    own = catalogue(locale)
    page = open_inbox(user)
    inbox = page.locator("inapp-inbox")
    inbox.evaluate("(node, locale) => node.setAttribute('locale', locale)", locale)
    expect(page.locator(".root")).to_have_attribute("lang", locale)
    expect(page.locator("#connection")).to_have_attribute("data-state", "open", timeout=10_000)

    send(stack, [user], "Critical one", severity="critical", duration=0)  # toasts on a muted channel: critical
    expect(page.locator(".toast.severity-critical")).to_be_visible(timeout=10_000)
    expect(page.locator(".message.severity-critical")).to_have_count(1)
    now = page.evaluate("locale => new Intl.RelativeTimeFormat(locale, { numeric: 'auto' }).format(0, 'second')", locale)
    expect(page.locator(".message.severity-critical time")).to_have_text(now)
    page.locator(".message.severity-high .delete").click()
    expect(page.locator(".toast.undo")).to_be_visible()
    words = inbox.evaluate(WORDS)
    page.locator(".undo-button").click()
    page.locator("[data-status='archived']").click()
    expect(page.locator(".message .archive")).to_have_count(1)
    words += inbox.evaluate(WORDS)
    page.locator(".message .archive").click()  # unarchived: into the inbox again, and the archive is empty
    expect(page.locator("#messages-empty")).to_be_visible()
    words += inbox.evaluate(WORDS)
    page.locator("#mark-everything").click()
    page.locator("[data-status='unread']").click()
    expect(page.locator("#channels-empty")).to_be_visible()
    expect(page.locator("#bell")).to_have_attribute("aria-label", own["bell.label"].format(unseen=0, total=0))
    words += inbox.evaluate(WORDS)

    assert inbox.evaluate("node => node.missingKeys") == []
    assert [key for key in catalogue("en") if key in words] == []  # no key shows as such
    assert [key for key in SHOWN if own[key] not in words] == []


@pytest.mark.parametrize(("language", "shown"), [("nl-BE", "nl"), ("zh-CN", "zh-CN"), ("de-DE", "de"), ("pt-BR", "en")])
def test_without_a_locale_attribute_the_browsers_language_decides_and_en_is_the_fallback(
    host_page: Any, language: str, shown: str
) -> None:
    from playwright.sync_api import expect

    page = host_page("plain", "locale-default", locale=language)  # the plain host page sets no locale
    expect(page.locator(".root")).to_have_attribute("lang", shown)
    expect(page.locator("[data-status='all']")).to_have_text(catalogue(shown)["tab.all"])
    expect(page.locator("#connection")).to_have_text(catalogue(shown)["connection.open"])


# The words of pins, snoozes, tags and expiry; those with a placeholder are checked piece by piece.
SHOWN_STATES = ["message.unpin", "message.pinned", "message.snooze", "message.snoozeHour", "message.snoozeTomorrow",
                "message.snoozeNextWeek", "tab.snoozed", "snoozed.title", "message.wake", "message.expires",
                "message.snoozedUntil", "tag.title"]  # fmt: skip


@pytest.mark.parametrize("locale", LOCALES)
def test_pins_snoozes_tags_and_expiry_read_in_the_locale_with_no_missing_key(open_inbox: Any, stack: Any, locale: str) -> None:
    from datetime import UTC, datetime, timedelta

    from playwright.sync_api import expect

    user = f"states-{locale.lower()}"
    later = (datetime.now(UTC) + timedelta(hours=5)).isoformat()
    pinned = send(stack, [user], "Pinned one", tags=["billing"], expiresAt=later)["id"]
    snoozed = send(stack, [user], "Snoozed one")["id"]
    stack.http("PATCH", f"/me/messages/{pinned}", _as(user), {"pinned": True})
    stack.http("PATCH", f"/me/messages/{snoozed}", _as(user), {"snoozedUntil": later})
    own = catalogue(locale)
    page = open_inbox(user)
    inbox = page.locator("inapp-inbox")
    inbox.evaluate("(node, locale) => node.setAttribute('locale', locale)", locale)
    expect(page.locator(".root")).to_have_attribute("lang", locale)
    expect(page.locator(".message .pinned")).to_have_count(1, timeout=10_000)
    page.locator(".message summary").click()  # the Snooze menu, open
    expect(page.locator(".snooze-option")).to_have_count(3)
    words = inbox.evaluate(WORDS)
    page.locator("#tags [data-tag='billing']").click()
    expect(page.locator("#channel-title")).to_have_text(own["tag.title"].format(tag="billing"))
    words += inbox.evaluate(WORDS)
    page.locator("[data-status='snoozed']").click()
    expect(page.locator("#channel-title")).to_have_text(own["snoozed.title"])
    expect(page.locator(".message .title")).to_have_text(["Snoozed one"])
    expect(page.locator(".message .wake")).to_have_count(1)
    words += inbox.evaluate(WORDS)

    assert inbox.evaluate("node => node.missingKeys") == []
    assert [key for key in catalogue("en") if key in words] == []
    pieces = {key: [piece for piece in re.split(r"\{\w+\}", own[key]) if piece.strip()] for key in SHOWN_STATES}
    assert [key for key, texts in pieces.items() if not all(text.strip() in words for text in texts)] == []
