"""The send log: every send, newest first, with who sent it and how far it got."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api, SendFactory, TokenFactory, assert_error


def test_a_receivers_send_is_logged_done_at_once(api: Api, admin_token: str, channel: str, send: SendFactory) -> None:
    sent = send(["a", "b", "a"], title="Hi")
    entry = api.call("GET", f"/messages/{sent['id']}", token=admin_token).json_body
    assert entry == {
        "id": sent["id"],
        "channel": "news",
        "title": "Hi",
        "sender": "admin-1",
        "receivers": 2,
        "recipients": 2,
        "stored": 2,
        "status": "done",
        "createdAt": entry["createdAt"],
        "completedAt": entry["completedAt"],
    }
    assert entry["createdAt"] <= entry["completedAt"]


def test_the_log_lists_newest_first_all_or_one_channel_with_a_cursor(
    api: Api, admin_token: str, channel: str, send: SendFactory
) -> None:
    api.call("POST", "/channels", token=admin_token, json_body={"name": "other", "title": "Other"})
    ids = [send(["a"], title=f"t{i}", channel="other" if i == 1 else "news")["id"] for i in range(4)]
    listed: list[Any] = []
    path = "/messages?limit=2"
    while path:
        page = api.call("GET", path, token=admin_token).json_body
        listed += [e["id"] for e in page["items"]]
        path = page["nextCursor"] and f"/messages?limit=2&cursor={page['nextCursor']}"
    assert listed == ids[::-1]
    news = api.call("GET", "/messages?channel=news", token=admin_token).json_body
    assert ([e["id"] for e in news["items"]], news["nextCursor"]) == ([ids[3], ids[2], ids[0]], None)
    first = api.call("GET", "/messages?limit=1", token=admin_token).json_body
    other_filter = api.call("GET", f"/messages?channel=news&cursor={first['nextCursor']}", token=admin_token)
    assert_error(other_filter, 400, "cursor: is not valid for this query")


def test_the_log_is_for_admins_and_unknown_ids_are_404(api: Api, admin_token: str, token: TokenFactory) -> None:
    assert_error(api.call("GET", "/messages", token=token("alice")), 403, "this operation needs the admin role")
    assert_error(
        api.call("GET", "/messages/01ARZ3NDEKTSV4RRFFQ69G5FAV", token=token("alice")), 403, "this operation needs the admin role"
    )
    missing = api.call("GET", "/messages/01ARZ3NDEKTSV4RRFFQ69G5FAV", token=admin_token)
    assert_error(missing, 404, "send '01ARZ3NDEKTSV4RRFFQ69G5FAV' not found")
    assert_error(api.call("GET", "/messages/nope", token=admin_token), 404, "send 'nope' not found")
    assert_error(
        api.call("GET", "/messages?channel=Bad!", token=admin_token), 400, "channel: must match ^[a-z0-9][a-z0-9_-]{0,63}$"
    )


def test_a_send_whose_last_group_is_full_is_logged_too(api: Api, admin_token: str, channel: str, send: SendFactory) -> None:
    for count in (49, 50, 100):
        sent = send([f"u{i}" for i in range(count)])
        entry = api.call("GET", f"/messages/{sent['id']}", token=admin_token).json_body
        assert (entry["status"], entry["receivers"], entry["recipients"], entry["stored"]) == ("done", count, count, count)
