"""The send log: every send, newest first, with who sent it and how far it got."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from chalicelib.storage.audience_tables import SendLog
from tests.conftest import Api, SendFactory, TokenFactory, assert_error


def _page_through(api: Api, admin_token: str, limit: int, most: int = 60) -> list[str]:
    """Every page's ids in order, following the cursors; a cursor that never ends fails after ``most`` pages."""
    listed: list[str] = []
    path = f"/messages?limit={limit}"
    for _ in range(most):
        page = api.call("GET", path, token=admin_token).json_body
        listed += [e["id"] for e in page["items"]]
        if not page["nextCursor"]:
            return listed
        path = f"/messages?limit={limit}&cursor={page['nextCursor']}"
    raise AssertionError(f"still a next page after {most} pages")


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
    assert _page_through(api, admin_token, 2) == ids[::-1]
    news = api.call("GET", "/messages?channel=news", token=admin_token).json_body
    assert ([e["id"] for e in news["items"]], news["nextCursor"]) == ([ids[3], ids[2], ids[0]], None)
    first = api.call("GET", "/messages?limit=1", token=admin_token).json_body
    other_filter = api.call("GET", f"/messages?channel=news&cursor={first['nextCursor']}", token=admin_token)
    assert_error(other_filter, 400, "cursor: is not valid for this query")


def test_the_log_is_for_admins_and_unknown_ids_are_404(api: Api, admin_token: str, token: TokenFactory) -> None:
    assert_error(api.call("GET", "/messages", token=token("alice")), 403, "Authorization: this operation needs the admin role")
    assert_error(
        api.call("GET", "/messages/01ARZ3NDEKTSV4RRFFQ69G5FAV", token=token("alice")),
        403,
        "Authorization: this operation needs the admin role",
    )
    missing = api.call("GET", "/messages/01ARZ3NDEKTSV4RRFFQ69G5FAV", token=admin_token)
    assert_error(missing, 404, "send_id: send '01ARZ3NDEKTSV4RRFFQ69G5FAV' not found")
    assert_error(api.call("GET", "/messages/nope", token=admin_token), 404, "send_id: send 'nope' not found")
    assert_error(
        api.call("GET", "/messages?channel=Bad!", token=admin_token), 400, "channel: must match ^[a-z0-9][a-z0-9_-]{0,63}$"
    )


def test_a_send_whose_last_group_is_full_is_logged_too(api: Api, admin_token: str, channel: str, send: SendFactory) -> None:
    for count in (49, 50, 100):
        sent = send([f"u{i}" for i in range(count)])
        entry = api.call("GET", f"/messages/{sent['id']}", token=admin_token).json_body
        assert (entry["status"], entry["receivers"], entry["recipients"], entry["stored"]) == ("done", count, count, count)


def test_sends_are_logged_over_more_than_one_log_bucket(api: Api, admin_token: str, channel: str, send: SendFactory) -> None:
    """One log-index key for every send would be one partition taking every send's write (1,000 WRU/s at most)."""
    for i in range(24):
        send(["a"], title=f"t{i}")
    audience = {"channel": "news", "audience": "subscribers", "title": "All"}
    assert api.call("POST", "/messages", token=admin_token, json_body=audience).status_code == 202
    keys = [e.log for e in SendLog.scan()]
    assert len(keys) == 25 and all(re.fullmatch(r"sends#[0-7]", k) for k in keys) and len(set(keys)) > 1


def test_paging_the_whole_log_lists_every_send_once_newest_first(
    api: Api, admin_token: str, channel: str, send: SendFactory
) -> None:
    """The buckets merged: at any page size no send is skipped or repeated, and ids strictly fall."""
    ids = [send(["a"], title=f"t{i}")["id"] for i in range(57)]

    @settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.integers(1, 100))
    @example(1)
    @example(5)
    @example(50)
    def pages(limit: int) -> None:
        assert _page_through(api, admin_token, limit) == ids[::-1]

    pages()
