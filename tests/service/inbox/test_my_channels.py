"""chalicelib.inbox.my_channels: ``GET /me/channels``, newest latest first, from the user's counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.core.clock import iso
from tests.conftest import Api, SendFactory, TokenFactory, assert_counts_exact


def _pages(api: Api, token: str, path: str) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        page = api.call("GET", path + (f"&cursor={cursor}" if cursor else ""), token=token).json_body
        pages.append([c["name"] for c in page["items"]])
        if (cursor := page["nextCursor"]) is None:
            return pages


def test_a_channel_filtered_by_status_previews_its_newest_message_of_that_status(
    api: Api, channel: str, send: SendFactory, token: TokenFactory
) -> None:
    """Under Unread the preview showed the channel's newest message even when it was read."""
    user = token("u1")
    older = send(["u1"], title="older, unread")["id"]
    newest = send(["u1"], title="newest, read")["id"]
    api.change_message(user, newest, {"status": "read"})
    latest = {
        status: [c["latest"] for c in api.call("GET", f"/me/channels?status={status}", token=user).json_body["items"]]
        for status in ("all", "unread", "read")
    }
    assert [(p["id"], p["title"]) for p in latest["unread"]] == [(older, "older, unread")]
    assert [(p["id"], p["title"]) for p in latest["read"]] == [(newest, "newest, read")]
    assert latest["all"] == latest["read"]


def test_my_channels_pages(api: Api, admin_token: str, send: SendFactory, token: TokenFactory) -> None:
    names = [f"ch{i}" for i in range(7)]
    for name in names:
        api.call("POST", "/channels", token=admin_token, json_body={"name": name, "title": name})
        send(["u1"], channel=name)
    pages = _pages(api, token("u1"), "/me/channels?limit=3")
    assert pages == [names[6:3:-1], names[3:0:-1], names[0:1]]


def test_a_snoozed_channel_leaves_the_list_until_its_message_wakes(
    api: Api, admin_token: str, channel: str, send: SendFactory, token: TokenFactory
) -> None:
    user = token("u1")
    api.call("POST", "/channels", token=admin_token, json_body={"name": "ops", "title": "Ops"})
    only = send(["u1"], channel="ops", title="the only one")["id"]
    send(["u1"], channel="news")
    api.change_message(user, only, {"snoozedUntil": iso(datetime.now(UTC) + timedelta(hours=1))})
    assert [c["name"] for c in api.call("GET", "/me/channels", token=user).json_body["items"]] == ["news"]
    api.change_message(user, only, {"snoozedUntil": None})  # back, unread, in its place in time (its id is older)
    (news, ops) = api.call("GET", "/me/channels", token=user).json_body["items"]
    assert (news["name"], ops["name"], ops["unread"], ops["total"]) == ("news", "ops", 1, 1)
    assert_counts_exact("u1")
