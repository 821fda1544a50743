"""The admin console in every locale, in headless Chromium: no missing key, no raw key, the locale's own words.

The browser's language (Playwright's ``locale``, which sets ``navigator.languages``) picks the locale, as
``?locale=`` in the address does. The console is walked through every view with words of its own: the sign-in
form, channels, a channel's subscribers with a paste result, compose with a refused and a filled preview, and
the send log with a finished send; then its missing-key report, its text and its labels are read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chalicelib.api.pages import LOCALES
from chalicelib.core.auth import issue_token
from tests.conftest import SECRET, recording
from tests.e2e import CHROMIUM, catalogue

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (.ci/run installs it)")

# What a reader sees: the visible text, every label, placeholder and choice, and the window's title.
WORDS = """() => [
  document.title,
  document.body.innerText,
  ...[...document.querySelectorAll("[aria-label]")].map((node) => node.getAttribute("aria-label")),
  ...[...document.querySelectorAll("[placeholder]")].map((node) => node.getAttribute("placeholder")),
  ...[...document.querySelectorAll("option")].map((node) => node.textContent),
].join("\\n")"""
# One word per locale, known without the catalogue: the first screen's name.
CHANNELS = {"en": "Channels", "nl": "Kanalen", "de": "Kanäle", "fr": "Canaux", "es": "Canales", "zh-CN": "频道",
            "ja": "チャンネル"}  # fmt: skip
# Shown in the views this test walks: each must read as the locale's catalogue says.
SHOWN = ["signin.heading", "signin.submit", "screens.compose", "screens.log", "signout", "channels.create",
         "channels.nameHint", "channel.edit", "subscribers.add", "subscribers.back", "subscriber.remove",
         "compose.toSubscribers", "compose.addData", "data.keyPlaceholder", "preview.invalid", "preview.ready",
         "compose.send", "log.heading", "log.all", "status.done", "log.toAll"]  # fmt: skip


@pytest.fixture
def console(new_page: Any, stack: Any) -> Any:
    """Factory: the console's sign-in form in a browser whose language is ``language`` (``query``: after /admin)."""

    def _open(language: str, query: str = "") -> Any:
        page = recording(new_page(viewport={"width": 1280, "height": 900}, locale=language))
        page.goto(f"{stack.urls['http']}/admin{query}")
        page.locator("#signin").wait_for(timeout=10_000)
        return page

    return _open


def _sign_in(page: Any) -> None:
    """A pasted ``#token=`` link signs the open tab in (the address keeps its ``?locale=``)."""
    page.evaluate("token => { location.hash = 'token=' + token; }", issue_token("root", SECRET, admin=True))
    page.locator("#screen-channels").wait_for(timeout=10_000)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_view_of_the_console_reads_in_the_browsers_locale_with_no_missing_key(
    console: Any, stack: Any, locale: str
) -> None:
    from playwright.sync_api import expect

    own, name = catalogue(locale, "admin"), f"loc-{locale.lower()}"
    stack.http("POST", "/channels", issue_token("root", SECRET, admin=True), {"name": name, "title": f"Title {locale}"})
    page = console(locale)
    expect(page.locator("html")).to_have_attribute("lang", locale)
    words = page.evaluate(WORDS)
    _sign_in(page)
    expect(page.locator(f".channel-row[data-channel='{name}']")).to_be_visible()
    words += page.evaluate(WORDS)

    page.locator(f".channel-row[data-channel='{name}'] button").first.click()
    page.locator("#paste-ids").fill("u1\nu2, u1")
    page.locator("#paste-form button[type=submit]").click()
    expect(page.locator("#paste-result")).to_have_text(own["paste.summary.other"].format(count=2, added=2, already=0, refused=0))
    expect(page.locator(".subscriber .user-id")).to_have_text(["u1", "u2"])
    words += page.evaluate(WORDS)

    page.locator("#screens [data-screen='compose']").click()
    page.locator("#compose-channel").select_option(name)
    page.locator("input[value='subscribers']").check()
    expect(page.locator("#receivers-row")).to_be_hidden()
    page.locator("#compose-title").fill("Hello {{who}}")
    expect(page.locator("#preview-state")).to_have_text(own["preview.invalid"])
    expect(page.locator("#compose-error")).to_have_text("data.who: is missing (used in title)")  # the API's words
    words += page.evaluate(WORDS)
    page.locator(".data-key").fill("who")
    page.locator(".data-value").fill(name)
    expect(page.locator("#preview-state")).to_have_text(own["preview.ready"])
    expect(page.locator("#preview-title")).to_have_text(f"Hello {name}")
    words += page.evaluate(WORDS)

    page.locator("#compose-send").click()
    expect(page.locator("#screen-log")).to_be_visible()
    entry = page.locator("#log-list .send", has_text=f"Hello {name}")
    expect(entry).to_be_visible()
    expect(entry.locator(".status")).to_have_text(own["status.done"], timeout=15_000)
    expect(entry.locator(".progress")).to_have_text(own["log.progress"].format(stored=2, total=2))
    now = page.evaluate("locale => new Intl.RelativeTimeFormat(locale, { numeric: 'auto' }).format(0, 'second')", locale)
    expect(entry.locator("time")).to_have_text(now)
    words += page.evaluate(WORDS)

    assert page.evaluate("window.adminMissingKeys") == []
    assert [key for key in catalogue("en", "admin") if key in words] == []  # no key shows as such
    assert [key for key in SHOWN if own[key] not in words] == []
    assert CHANNELS[locale] in words
    assert page.errors == []


@pytest.mark.parametrize(("language", "query", "shown"), [("en-US", "?locale=de", "de"), ("ja-JP", "?locale=zh-TW", "zh-CN"),
                                                          ("nl-BE", "", "nl"), ("pt-BR", "", "en")])  # fmt: skip
def test_locale_in_the_address_wins_over_the_browsers_language_and_en_is_the_fallback(
    console: Any, language: str, query: str, shown: str
) -> None:
    from playwright.sync_api import expect

    page = console(language, query)
    expect(page.locator("html")).to_have_attribute("lang", shown)
    _sign_in(page)
    expect(page.locator("#screens [data-screen='channels']")).to_have_text(CHANNELS[shown])
    assert page.url.endswith(f"/admin{query}")
