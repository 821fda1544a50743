"""Regenerate the docs' screenshots (``make screenshots``).

docs/inbox-{desktop,phone}.png from alice's inbox; docs/inbox-states-*.png (severity, actions, a
critical toast, a muted channel) and docs/inbox-archive-*.png (the Archive view, a delete waiting
for its undo) from carol's; docs/inbox-pins-*.png (a pinned message, tags and their tabs, an expiry,
the Snooze menu open) from dana's; docs/embed-{desktop,phone}.png, the <inapp-inbox> element in a web app
of another origin (tests/browser/hosts/plain.html), from erin's; docs/admin-*-{desktop,phone}.png,
the admin console's screens.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import expect, sync_playwright

from chalicelib.core.auth import issue_token
from infra.local.running import RunningStack
from tests.e2e import CHROMIUM, FLAGS
from tests.foreign_host import ForeignHost

SECRET = "screenshots-secret-0123456789abcdef"
DOCS = Path(__file__).resolve().parent.parent / "docs"
SENDS = [
    (
        "billing",
        "Billing",
        "Invoice #1042 is ready",
        "Your November invoice is available: 3 seats, 148.00 EUR.",
        "/invoices/1042",
    ),
    (
        "deploys",
        "Deployments",
        "Deploy to production finished",
        "Version 2.14.0 is live in eu-west-1 (4 m 12 s).",
        None,
    ),
    (
        "deploys",
        "Deployments",
        "Staging build failed",
        "Step 'integration tests' failed: 3 of 212 tests.",
        "https://ci.example.com/b/981",
    ),
    (
        "security",
        "Security",
        "New sign-in from Firefox on Linux",
        "If this was not you, reset your password.",
        "/account/security",
    ),
    ("billing", "Billing", "Payment received", "Thank you: 148.00 EUR received on 24 Nov.", None),
]


LIVE_SEND = {
    "channel": "security",
    "receivers": ["alice"],
    "title": "Password changed",
    "content": "Your password was changed just now.",
    "duration": 0,
}
VIEWPORTS = (("desktop", {"width": 1100, "height": 640}), ("phone", {"width": 360, "height": 740}))
STATE_SENDS = [
    {"channel": "billing", "title": "Invoice #1041 is ready", "content": "Your October invoice: 148.00 EUR."},
    {"channel": "deploys", "title": "Deploy to staging finished", "content": "Version 2.14.0-rc.2 is live."},
    {"channel": "billing", "title": "Card expires soon", "content": "The card ending 4242 expires in December."},
    {"channel": "security", "title": "New sign-in from Safari on iOS", "content": "If this was not you, reset your password."},
    {
        "channel": "ops",
        "title": "Disk 85% full on worker-3",
        "content": "It fills about 2% a day.",
        "severity": "high",
        "url": "https://metrics.example.com/d/disk",
        "mobileUrl": "/m/metrics/disk",
        "actions": [{"label": "Open dashboard", "url": "https://metrics.example.com/d/disk"}],
    },
    {"channel": "ops", "title": "Nightly backup completed", "content": "412 GB in 38 min."},
]
LIVE_CRITICAL = {
    "channel": "ops",
    "receivers": ["carol"],
    "title": "Database primary is failing over",
    "content": "eu-west-1 primary unhealthy; the replica takes over in about 30 s.",
    "severity": "critical",
    "duration": 5,
    "actions": [
        {"label": "Acknowledge", "url": "/incidents/88/acknowledge"},
        {"label": "Runbook", "url": "https://runbooks.example.com/db-failover"},
    ],
}


def _seed(stack: RunningStack, admin: str, alice: str) -> None:
    """Alice's inbox as the screenshots show it: several channels, one message already read."""
    for name, title in {(s[0], s[1]) for s in SENDS}:
        stack.http("POST", "/channels", admin, {"name": name, "title": title})
    for channel, _, title, content, url in SENDS:
        body = {"channel": channel, "receivers": ["alice"], "title": title, "content": content}
        if url:
            body["url"] = url
        stack.http("POST", "/messages", admin, body)
    _, page = stack.http("GET", "/me/messages?channel=deploys", alice)
    stack.http("PATCH", f"/me/messages/{page['items'][-1]['id']}", alice, {"status": "read"})


def _seed_states(stack: RunningStack, admin: str, carol: str) -> None:
    """Carol's inbox for the new states: an Operations channel, Security muted, two messages archived."""
    stack.http("POST", "/channels", admin, {"name": "ops", "title": "Operations"})
    sent = [stack.http("POST", "/messages", admin, {**body, "receivers": ["carol"]})[1]["id"] for body in STATE_SENDS]
    for message_id in sent[:2]:
        stack.http("PATCH", f"/me/messages/{message_id}", carol, {"archived": True})
    stack.http("PUT", "/me/preferences/channels/security", carol, {"muted": True})


PINS_SENDS = [
    {"channel": "billing", "title": "Invoice #1044 is ready", "content": "148.00 EUR, due on 31 Dec.", "tags": ["invoices"]},
    {"channel": "billing", "title": "Card declined", "content": "Card 4242 was declined.", "tags": ["urgent", "payments"]},
    {"channel": "billing", "title": "Year-end discount: 20% off seats", "content": "Until Friday.", "tags": ["offers"]},
    {"channel": "billing", "title": "Payment received", "content": "148.00 EUR received on 24 Nov.", "tags": ["payments"]},
]


def _seed_pins(stack: RunningStack, admin: str, dana: str) -> None:
    """Dana's Billing: tagged messages, one pinned, one expiring in two days."""
    expires = (datetime.now(UTC) + timedelta(days=1, hours=6)).isoformat()
    sent = []
    for body in PINS_SENDS:
        extra = {"expiresAt": expires} if "discount" in body["title"] else {}
        sent.append(stack.http("POST", "/messages", admin, {**body, **extra, "receivers": ["dana"]})[1]["id"])
    stack.http("PATCH", f"/me/messages/{sent[0]}", dana, {"pinned": True})
    stack.http("PATCH", f"/me/messages/{sent[3]}", dana, {"status": "read"})


def _shoot_pins(browser: Any, stack: RunningStack, dana: str, name: str, viewport: dict[str, int]) -> None:
    """Billing open: the pinned invoice first, tags and their tabs, the offer's expiry and its Snooze menu open."""
    context, tab = _channel_open(browser, stack, dana, viewport, "Billing")
    tab.locator("#tags [data-tag='urgent'] .count").wait_for()
    expect(tab.locator(".message.unseen")).to_have_count(0)  # seen, by frames: nothing redraws the menu below
    tab.locator(".message", has_text="Year-end discount").locator("summary").click()
    tab.locator(".snooze[open] .snooze-option").first.wait_for()
    tab.evaluate("window.scrollTo(0, 0)")  # the sticky bar at the top, not mid-page
    tab.screenshot(path=str(DOCS / f"inbox-pins-{name}.png"), full_page=name == "phone")
    context.close()


def _channel_open(browser: Any, stack: RunningStack, token: str, viewport: dict[str, int], title: str) -> tuple[Any, Any]:
    """A new context (and its tab) signed in with ``token``, connected, the channel ``title`` open."""
    context = browser.new_context(viewport=viewport, device_scale_factor=1)
    tab = context.new_page()
    tab.goto(f"{stack.urls['http']}/#token={token}")
    tab.locator("#connection[data-state='open']").wait_for()
    tab.locator(".channel", has_text=title).click()
    tab.locator(".message").first.wait_for()
    return context, tab


def _shoot_states(browser: Any, stack: RunningStack, admin: str, carol: str, name: str, viewport: dict[str, int]) -> None:
    """Operations open with a live critical toast; then the Archive view with a delete waiting for its undo."""
    context, tab = _channel_open(browser, stack, carol, viewport, "Operations")
    _, live = stack.http("POST", "/messages", admin, LIVE_CRITICAL)
    tab.locator(".toast.severity-critical").wait_for()
    tab.locator(".message.severity-critical").wait_for()
    tab.screenshot(path=str(DOCS / f"inbox-states-{name}.png"), full_page=name == "phone")
    tab.locator(".toast.severity-critical .close").click()
    tab.get_by_role("tab", name="Archive", exact=True).click()
    tab.locator(".message").nth(1).wait_for()
    tab.locator(".message").first.get_by_role("button", name="Delete", exact=True).click()
    tab.locator(".toast.undo").wait_for()
    tab.screenshot(path=str(DOCS / f"inbox-archive-{name}.png"), full_page=name == "phone")
    tab.get_by_role("button", name="Undo", exact=True).click()
    context.close()
    stack.http("DELETE", f"/me/messages/{live['id']}", carol)  # the next width starts from the same inbox


def _shoot(browser: Any, stack: RunningStack, admin: str, alice: str, name: str, viewport: dict[str, int]) -> None:
    """One screenshot: the Deployments channel open, a live toast, the badge caught up."""
    context, tab = _channel_open(browser, stack, alice, viewport, "Deployments")
    stack.http("POST", "/messages", admin, LIVE_SEND)
    tab.locator(".toast").first.wait_for()
    _, counts = stack.http("GET", "/me/unread-count", alice)
    tab.locator("#badge", has_text=str(counts["unseen"])).wait_for()
    tab.locator(".channel", has_text="Password changed").wait_for()
    tab.screenshot(path=str(DOCS / f"inbox-{name}.png"), full_page=name == "phone")
    context.close()


EMBED_SENDS = [
    {
        "channel": "billing",
        "title": "Invoice #1043 is ready",
        "content": "Your December invoice: 148.00 EUR.",
        "url": "/invoices/1043",
    },
    {"channel": "deploys", "title": "Deploy to production finished", "content": "Version 2.15.0 is live.", "severity": "high"},
]
EMBED_LIVE = {
    "channel": "deploys",
    "receivers": ["erin"],
    "title": "Staging build failed",
    "content": "Step 'integration tests' failed: 3 of 212 tests.",
    "duration": 0,
    "actions": [{"label": "Open the build", "url": "https://ci.example.com/b/982"}],
}


def _shoot_embed(browser: Any, stack: RunningStack, host: ForeignHost, admin: str, name: str, viewport: dict[str, int]) -> None:
    """The element in a page of another origin: its panel open from the bell, a live message's toast and badge."""
    context = browser.new_context(viewport=viewport, device_scale_factor=1)
    tab = context.new_page()
    tab.goto(f"{host.origin}/plain.html")
    expect(tab.locator("#connection")).to_have_attribute("data-state", "open")
    with tab.expect_response(lambda response: response.url.endswith("/me/messages/seen")):
        tab.locator("#bell").click()  # everything seen once answered: the live message is the one new one
    tab.locator(".message").first.wait_for()
    _, live = stack.http("POST", "/messages", admin, EMBED_LIVE)
    tab.locator(".toast").first.wait_for()
    tab.locator("#badge", has_text="1").wait_for()
    tab.locator(".message", has_text=EMBED_LIVE["title"]).wait_for()
    tab.screenshot(path=str(DOCS / f"embed-{name}.png"))
    context.close()
    stack.http("DELETE", f"/me/messages/{live['id']}", issue_token(host.user, SECRET))  # the next width starts the same


SUBSCRIBERS = "alice\nbob, carol\ndave\nerin, frank\n" + "x" * 130
COMPOSE = {
    "#compose-title": "Deployed {{version}}",
    "#compose-content": "{{service}} {{version}} is live in eu-west-1.",
    "#compose-url": "/releases/{{version}}",
    "#compose-tags": "releases billing-api",
    "#action-0-label": "Release notes",
    "#action-0-url": "/releases/{{version}}/notes",
}
DATA = (("version", "2.15.0"), ("service", "Billing API"))


def _admin_screens(tab: Any) -> dict[str, Any]:
    """Each admin screen, brought on: the channels, one channel's subscribers, compose with its preview, the log."""

    def subscribers() -> None:
        tab.locator("#screens").get_by_role("button", name="Channels").click()
        tab.get_by_role("button", name="Subscribers of deploys").click()
        tab.locator("#paste-ids").fill(SUBSCRIBERS)
        tab.get_by_role("button", name="Add subscribers").click()
        tab.locator("#paste-result .refused").wait_for()

    def compose() -> None:
        tab.locator("#screens").get_by_role("button", name="Compose").click()
        tab.locator("#compose-channel").select_option("deploys")
        tab.get_by_label("All subscribers of the channel").check()
        for selector, value in COMPOSE.items():
            tab.locator(selector).fill(value)
        for number, (key, value) in enumerate(DATA, start=1):
            if tab.locator(".data-row").count() < number:
                tab.get_by_role("button", name="Add a data row").click()
            tab.get_by_label(f"Data key {number}").fill(key)
            tab.get_by_label(f"Data value {number}").fill(value)
        tab.locator("#preview-title", has_text="Deployed 2.15.0").wait_for()

    def log() -> None:
        tab.get_by_role("button", name="Send", exact=True).click()
        newest = tab.locator("#log-list .send").first
        expect(newest.locator(".send-title")).to_have_text("Deployed 2.15.0")
        expect(newest.locator(".status")).to_have_text("done", timeout=30_000)

    return {
        "channels": lambda: tab.locator(".channel-row").first.wait_for(),
        "subscribers": subscribers,
        "compose": compose,
        "log": log,
    }


DESCRIPTIONS = {
    "billing": "Invoices and payments",
    "deploys": "Every production and staging deploy",
    "security": "Sign-ins and password changes",
}


def _shoot_admin(browser: Any, stack: RunningStack, admin: str, name: str, viewport: dict[str, int]) -> None:
    for channel, description in DESCRIPTIONS.items():
        stack.http("PATCH", f"/channels/{channel}", admin, {"description": description})
    context = browser.new_context(viewport=viewport, device_scale_factor=1)
    tab = context.new_page()
    tab.goto(f"{stack.urls['http']}/admin#token={admin}")
    for screen, bring_on in _admin_screens(tab).items():
        bring_on()
        tab.evaluate("window.scrollTo(0, 0)")  # the sticky bar at the top, not mid-page
        tab.screenshot(path=str(DOCS / f"admin-{screen}-{name}.png"), full_page=True)
    context.close()


def main() -> None:
    host = ForeignHost(SECRET)
    host.user = "erin"
    stack = RunningStack(SECRET, {"INAPP_CORS_ORIGINS": host.origin})
    host.api = stack.urls["http"]
    try:
        admin, alice = issue_token("admin", SECRET, admin=True), issue_token("alice", SECRET)
        carol, dana = issue_token("carol", SECRET), issue_token("dana", SECRET)
        _seed(stack, admin, alice)
        for body in EMBED_SENDS:
            stack.http("POST", "/messages", admin, {**body, "receivers": ["erin"]})
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            _seed_states(stack, admin, carol)
            _seed_pins(stack, admin, dana)
            for name, viewport in VIEWPORTS:
                _shoot_states(browser, stack, admin, carol, name, viewport)
                _shoot_pins(browser, stack, dana, name, viewport)
            for name, viewport in VIEWPORTS:
                _shoot(browser, stack, admin, alice, name, viewport)
                _shoot_embed(browser, stack, host, admin, name, viewport)
                _shoot_admin(browser, stack, admin, name, viewport)
            browser.close()
    finally:
        stack.stop()
        host.stop()


if __name__ == "__main__":
    main()
