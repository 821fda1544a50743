"""The per-user inbox: pages, filters, catch-up, status, mark-all-read, counts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.core import ids
from tests.conftest import Api, SendFactory, TokenFactory, assert_error


@pytest.fixture
def same_millisecond(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every id from now on is minted within one frozen millisecond."""
    monkeypatch.setattr(ids, "_generator", ids.IdGenerator(clock=lambda: 1_790_000_000_000))


def _pages(api: Api, token: str, path: str) -> list[list[dict[str, Any]]]:
    pages = []
    cursor = None
    separator = "&" if "?" in path else "?"
    while True:
        page = api.call("GET", path + (f"{separator}cursor={cursor}" if cursor else ""), token=token).json_body
        pages.append(page["items"])
        cursor = page["nextCursor"]
        if cursor is None:
            return pages


def test_45_messages_page_by_10_each_once_newest_first(
    api: Api, channel: str, send: SendFactory, token: TokenFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = [send(["u1"], title=f"m{i}")["id"] for i in range(20)]
    monkeypatch.setattr(ids, "_generator", ids.IdGenerator(clock=lambda: ids.id_time_ms(sent[-1]) + 1))
    sent += [send(["u1"], title=f"m{i}")["id"] for i in range(20, 45)]  # 25 in one millisecond
    pages = _pages(api, token("u1"), "/me/messages?limit=10")
    assert [len(p) for p in pages] == [10, 10, 10, 10, 5]
    seen = [m["id"] for page in pages for m in page]
    assert seen == list(reversed(sent))
    assert len({m["createdAt"] for page in pages for m in page if m["id"] in sent[20:]}) == 1


@pytest.mark.usefixtures("same_millisecond")
def test_after_returns_newer_messages_oldest_first_in_pages(
    api: Api, channel: str, send: SendFactory, token: TokenFactory
) -> None:
    """And those minted within `ORDER_WINDOW_MS` before it (here, the same millisecond): a concurrent send may land them after."""
    sent = [send(["u1"], title=f"m{i}")["id"] for i in range(13)]
    pages = _pages(api, token("u1"), f"/me/messages?after={sent[2]}&limit=4")
    assert [m["id"] for page in pages for m in page] == sent[:2] + sent[3:]
    assert [len(p) for p in pages] == [4, 4, 4]


def test_after_the_newest_is_empty(api: Api, channel: str, send: SendFactory, token: TokenFactory) -> None:
    last = send(["u1"])["id"]
    assert api.call("GET", f"/me/messages?after={last}", token=token("u1")).json_body == {
        "items": [],
        "nextCursor": None,
    }


def test_after_must_be_an_id(api: Api, token: TokenFactory) -> None:
    response = api.call("GET", "/me/messages?after=yesterday", token=token("u1"))
    assert (response.status_code, response.json_body["Message"]) == (400, "after: must be a message id")


def test_after_with_channel(api: Api, admin_token: str, channel: str, send: SendFactory, token: TokenFactory) -> None:
    api.call("POST", "/channels", token=admin_token, json_body={"name": "ops", "title": "Ops"})
    first = send(["u1"], channel="news")["id"]
    ops = send(["u1"], channel="ops")["id"]
    news = send(["u1"], channel="news")["id"]
    items = api.call("GET", f"/me/messages?after={first}&channel=news", token=token("u1")).json_body["items"]
    assert [m["id"] for m in items] == [news]
    assert ops not in [m["id"] for m in items]


def _seed(api: Api, admin_token: str, send: SendFactory, token: TokenFactory) -> dict[str, str]:
    api.call("POST", "/channels", token=admin_token, json_body={"name": "ops", "title": "Ops"})
    ids_ = {
        "news-read": send(["u1"], channel="news", title="n1")["id"],
        "news-unread": send(["u1"], channel="news", title="n2")["id"],
        "ops-read": send(["u1"], channel="ops", title="o1")["id"],
        "ops-unread": send(["u1"], channel="ops", title="o2")["id"],
    }
    for key in ("news-read", "ops-read"):
        api.call("PATCH", f"/me/messages/{ids_[key]}", token=token("u1"), json_body={"status": "read"})
    return ids_


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["ops-unread", "ops-read", "news-unread", "news-read"]),
        ("?status=all", ["ops-unread", "ops-read", "news-unread", "news-read"]),
        ("?status=unread", ["ops-unread", "news-unread"]),
        ("?status=read", ["ops-read", "news-read"]),
        ("?channel=news", ["news-unread", "news-read"]),
        ("?channel=news&status=unread", ["news-unread"]),
        ("?channel=ops&status=read", ["ops-read"]),
        ("?channel=missing", []),
    ],
)
def test_filters(
    api: Api, admin_token: str, channel: str, send: SendFactory, token: TokenFactory, query: str, expected: list[str]
) -> None:
    seeded = _seed(api, admin_token, send, token)
    items = api.call("GET", "/me/messages" + query, token=token("u1")).json_body["items"]
    assert [m["id"] for m in items] == [seeded[k] for k in expected]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?status=new", "status: must be one of all, unread, read"),
        ("?channel=BAD!", "channel: must match ^[a-z0-9][a-z0-9_-]{0,63}$"),
    ],
)
def test_bad_filters_are_400(api: Api, token: TokenFactory, query: str, message: str) -> None:
    response = api.call("GET", "/me/messages" + query, token=token("u1"))
    assert (response.status_code, response.json_body["Message"]) == (400, message)


def test_cursor_is_bound_to_the_query(api: Api, channel: str, send: SendFactory, token: TokenFactory) -> None:
    for _ in range(3):
        send(["u1"])
    cursor = api.call("GET", "/me/messages?limit=1", token=token("u1")).json_body["nextCursor"]
    response = api.call("GET", f"/me/messages?limit=1&status=unread&cursor={cursor}", token=token("u1"))
    assert (response.status_code, response.json_body["Message"]) == (400, "cursor: is not valid for this query")


def test_mark_read_and_unread_move_the_counts(api: Api, channel: str, send: SendFactory, token: TokenFactory) -> None:
    message_id = send(["u1"])["id"]
    read = api.call("PATCH", f"/me/messages/{message_id}", token=token("u1"), json_body={"status": "read"}).json_body
    assert read["status"] == "read" and read["readAt"] is not None
    assert api.call("GET", "/me/unread-count", token=token("u1")).json_body == {"total": 0, "unseen": 0, "channels": {}}
    again = api.call("PATCH", f"/me/messages/{message_id}", token=token("u1"), json_body={"status": "read"}).json_body
    assert again == read  # no change, no double count
    unread = api.call("PATCH", f"/me/messages/{message_id}", token=token("u1"), json_body={"status": "unread"}).json_body
    assert (unread["status"], unread["readAt"]) == ("unread", None)
    assert api.call("GET", "/me/unread-count", token=token("u1")).json_body == {
        "total": 1,
        "unseen": 0,
        "channels": {"news": 1},
    }  # read once: it stays seen


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "status: is required unless archived, pinned or snoozedUntil is given"),
        ({"status": "archived"}, "status: must be read or unread"),
        ({"status": "read", "flagged": True}, "flagged: is not a known field"),
    ],
)
def test_patch_rejects_bad_bodies(
    api: Api, channel: str, send: SendFactory, token: TokenFactory, body: Any, message: str
) -> None:
    message_id = send(["u1"])["id"]
    response = api.call("PATCH", f"/me/messages/{message_id}", token=token("u1"), json_body=body)
    assert (response.status_code, response.json_body["Message"]) == (400, message)
    assert api.call("GET", f"/me/messages/{message_id}", token=token("u1")).json_body["status"] == "unread"


def test_patch_malformed_json_is_400(api: Api, channel: str, send: SendFactory, token: TokenFactory) -> None:
    message_id = send(["u1"])["id"]
    response = api.call("PATCH", f"/me/messages/{message_id}", token=token("u1"), raw="{status: read}")
    assert (response.status_code, response.json_body["Message"]) == (400, "body: is not valid JSON")


@pytest.mark.parametrize("message_id", ["01M87B7Z864SRYNJTHXHH51G00", "not-an-id", "%2E%2E"])
def test_unknown_message_is_404(api: Api, token: TokenFactory, message_id: str) -> None:
    assert_error(
        api.call("GET", f"/me/messages/{message_id}", token=token("u1")), 404, f"message_id: message '{message_id}' not found"
    )
    response = api.call("PATCH", f"/me/messages/{message_id}", token=token("u1"), json_body={"status": "read"})
    assert_error(response, 404, f"message_id: message '{message_id}' not found")


def test_mark_all_read_everything_and_per_channel(
    api: Api, admin_token: str, channel: str, send: SendFactory, token: TokenFactory
) -> None:
    api.call("POST", "/channels", token=admin_token, json_body={"name": "ops", "title": "Ops"})
    for _ in range(3):
        send(["u1"], channel="news")
    for _ in range(2):
        send(["u1"], channel="ops")
    user = token("u1")
    ops = {"channel": "ops"}
    assert api.call("POST", "/me/messages/read", token=user, json_body=ops).json_body == {"updated": 2, "more": False}
    assert api.call("GET", "/me/unread-count", token=user).json_body == {"total": 3, "unseen": 3, "channels": {"news": 3}}
    assert api.call("POST", "/me/messages/read", token=user).json_body == {"updated": 3, "more": False}
    assert api.call("POST", "/me/messages/read", token=user).json_body == {"updated": 0, "more": False}
    assert api.call("GET", "/me/unread-count", token=user).json_body == {"total": 0, "unseen": 0, "channels": {}}
    assert all(m["status"] == "read" for m in api.call("GET", "/me/messages?limit=100", token=user).json_body["items"])


def test_mark_all_read_rejects_bad_bodies(api: Api, token: TokenFactory) -> None:
    response = api.call("POST", "/me/messages/read", token=token("u1"), json_body={"channel": "Bad"})
    assert (response.status_code, response.json_body["Message"]) == (
        400,
        "channel: must match ^[a-z0-9][a-z0-9_-]{0,63}$",
    )
    response = api.call("POST", "/me/messages/read", token=token("u1"), json_body={"all": True})
    assert (response.status_code, response.json_body["Message"]) == (400, "all: is not a known field")


def test_my_channels_newest_first_with_counts_and_filters(
    api: Api, admin_token: str, channel: str, send: SendFactory, token: TokenFactory
) -> None:
    seeded = _seed(api, admin_token, send, token)
    user = token("u1")
    items = api.call("GET", "/me/channels", token=user).json_body["items"]
    assert [(c["name"], c["title"], c["unread"], c["total"]) for c in items] == [
        ("ops", "Ops", 1, 2),
        ("news", "News", 1, 2),
    ]
    assert items[0]["latest"]["id"] == seeded["ops-unread"] and items[0]["latest"]["title"] == "o2"
    api.call("POST", "/me/messages/read", token=user, json_body={"channel": "ops"})
    unread = api.call("GET", "/me/channels?status=unread", token=user).json_body["items"]
    assert [c["name"] for c in unread] == ["news"]
    read = api.call("GET", "/me/channels?status=read", token=user).json_body["items"]
    assert [c["name"] for c in read] == ["ops", "news"]
    send(["u1"], channel="news", title="newest")
    assert [c["name"] for c in api.call("GET", "/me/channels", token=user).json_body["items"]] == ["news", "ops"]


def test_unread_count_for_a_new_user_is_zero(api: Api, token: TokenFactory) -> None:
    assert api.call("GET", "/me/unread-count", token=token("nobody")).json_body == {"total": 0, "unseen": 0, "channels": {}}


LAMBDA_ANSWER_LIMIT = 6_291_456  # bytes: what a Lambda function may answer


def _leaving_lambda(response: Any) -> int:
    """The bytes of the proxy answer's body field: the JSON body carried as a JSON string."""
    return len(json.dumps(response.body.decode("ascii")))


@pytest.mark.parametrize("content", ["😀" * 4096, "\\\\" * 8192], ids=["emoji", "backslashes"])
def test_a_page_of_the_largest_messages_is_cut_short_by_size_and_continues(
    api: Api, admin_token: str, channel: str, token: TokenFactory, content: str
) -> None:
    """100 messages at the content limit would answer 6–12 MB: the page stops under Lambda's 6 MB, nothing lost."""
    body = {"channel": "news", "receivers": ["big"], "title": "😀" * 200, "content": content}
    sent = [api.send_message(admin_token, body).json_body["id"] for _ in range(100)]
    for path in ("/me/messages?limit=100", f"/me/messages?limit=100&after={ids.first_id_at_ms(0)}"):
        seen: list[str] = []
        cursor = None
        while True:
            response = api.call("GET", path + (f"&cursor={cursor}" if cursor else ""), token=token("big"))
            assert _leaving_lambda(response) < LAMBDA_ANSWER_LIMIT - 10_000  # room for the status and headers
            seen += [item["id"] for item in response.json_body["items"]]
            cursor = response.json_body["nextCursor"]
            if cursor is None:
                break
        assert sorted(seen) == sorted(sent), path  # each once, none lost across the cuts


def test_a_message_past_its_retention_is_never_listed_before_ttl_deletes_it(
    api: Api, admin_token: str, channel: str, token: TokenFactory, send: SendFactory
) -> None:
    """DynamoDB's TTL deletes expired items within days, not at once: until then they are gone for the reader."""
    from datetime import UTC, datetime, timedelta

    from chalicelib.storage.inbox_tables import InboxMessage

    floor = ids.first_id_at_ms(0)
    old, kept = send(["u1"], title="old")["id"], send(["u1"], title="kept")["id"]
    (expired,) = [m for m in InboxMessage.query("u1") if m.message_id == old]
    expired.update(actions=[InboxMessage.expires_at.set(datetime.now(UTC) - timedelta(minutes=1))])
    for path in ("/me/messages", "/me/messages?status=unread", "/me/messages?channel=news", f"/me/messages?after={floor}"):
        items = api.call("GET", path, token=token("u1")).json_body["items"]
        assert [m["id"] for m in items] == [kept], path
    assert_error(api.call("GET", f"/me/messages/{old}", token=token("u1")), 404, f"message_id: message '{old}' not found")


def test_a_message_minted_before_after_but_stored_after_it_comes_in_the_catch_up(
    api: Api, channel: str, send: SendFactory, token: TokenFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by the chaos run: two sends at once, the older id landing a moment after the newer one.

    The client saw the newer one, lost its socket as the older one's frame came, and caught up after the
    newer id: the older one was in neither the id range nor `stored-index` (stored at once, unmarked).
    """
    from chalicelib.inbox import queries
    from chalicelib.sending import sender

    minted = ids.id_time_ms(ids.new_id())
    monkeypatch.setattr(ids, "_generator", ids.IdGenerator(clock=lambda: minted + 300))
    newer = send(["u1"], title="newer")["id"]
    monkeypatch.setattr(ids, "_generator", ids.IdGenerator(clock=lambda: minted))
    older = send(["u1"], title="older, stored after the newer one")["id"]
    assert older < newer
    page = api.call("GET", f"/me/messages?after={newer}", token=token("u1")).json_body
    assert ([m["id"] for m in page["items"]], page["nextCursor"]) == ([older], None)
    assert queries.ORDER_WINDOW_MS >= sender.FRESH_START_MS + 5000  # a first attempt's start, plus clocks and the write
