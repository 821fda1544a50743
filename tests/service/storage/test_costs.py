"""DynamoDB call budgets, counted with a botocore ``before-call`` hook."""

from __future__ import annotations

import math

import pytest

from chalicelib.storage.audience_tables import LOG_BUCKETS
from chalicelib.storage.inbox_tables import ARCHIVED, READ, UNREAD, InboxMessage
from tests.conftest import Api, CallCounter, SendFactory, TokenFactory, write_unread


@pytest.mark.parametrize("receivers", [1, 25, 51, 1000])
def test_send_costs_ceil_r_over_25_batch_writes_plus_4(
    api: Api, admin_token: str, channel: str, dynamodb_calls: CallCounter, receivers: int
) -> None:
    """Channel read, key claim, the items in 25s (no transaction, no counter), the log item, the key's answer."""
    body = {"channel": "news", "receivers": [f"u{i}" for i in range(receivers)], "title": "t"}
    dynamodb_calls.reset()
    response = api.call("POST", "/messages", token=admin_token, json_body=body, headers={"Idempotency-Key": "k"})
    assert response.status_code == 202
    assert dynamodb_calls.calls["BatchWriteItem"] == math.ceil(receivers / 25)
    assert dynamodb_calls.total == math.ceil(receivers / 25) + 4
    assert "TransactWriteItems" not in dynamodb_calls.calls
    stored = sum(1 for _ in InboxMessage.scan())
    assert stored == receivers


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?status=unread",
        "?status=read",
        "?channel=news",
        "?channel=news&status=unread",
        "?after=00000000000000000000000000",
        "?archived=true",
        "?archived=true&channel=news",
    ],
)
def test_an_inbox_page_is_one_query_and_a_first_page_one_more_for_the_pins(
    api: Api, channel: str, send: SendFactory, token: TokenFactory, dynamodb_calls: CallCounter, query: str
) -> None:
    for _ in range(30):
        send(["u1"])
    if "archived" in query:
        assert api.call("POST", "/me/messages/archive", token=token("u1")).json_body == {"updated": 30, "more": False}
    dynamodb_calls.reset()
    page = api.call("GET", "/me/messages" + query, token=token("u1")).json_body
    # The catch-up also asks stored-index for messages stored late behind `after` (none here: no BatchGetItem);
    # a live list's first page also reads the user's pin entries (none here: no BatchGetItem); a list that may
    # show broadcasts (live, not only read ones) reads the user's counts item and the registers of channels that
    # had one (`chalicelib.broadcast`: one BatchGetItem; no more when none of them names a channel of the user's).
    held = {} if "archived" in query or "status=read" in query else {"BatchGetItem": 1}
    assert dynamodb_calls.calls == {"Query": 1 if "archived" in query else 2, **held}
    if "read" not in query.replace("unread", ""):
        assert len(page["items"]) == 20 and page["nextCursor"]
        dynamodb_calls.reset()
        separator = "&" if "?" in query else "?"
        api.call("GET", f"/me/messages{query}{separator}cursor={page['nextCursor']}", token=token("u1"))
        assert dynamodb_calls.calls == {"Query": 1, **held}  # every later page: one Query (and the broadcasts' read)


def test_unread_count_with_10000_unread_is_two_calls(api: Api, token: TokenFactory, dynamodb_calls: CallCounter) -> None:
    write_unread("heavy", 10_000)
    api.counts.catch_up()  # the stream counts them (one UpdateItem for the user's 10,000 records)
    dynamodb_calls.reset()
    body = api.call("GET", "/me/unread-count", token=token("heavy")).json_body
    assert body == {"total": 10_000, "unseen": 10_000, "channels": {"news": 10_000}}
    # the counts (with the registers of channels that had broadcasts), and the expired TTL has yet to delete
    assert dynamodb_calls.calls == {"BatchGetItem": 1, "Query": 1}


@pytest.mark.parametrize(
    ("path", "per_transaction", "after"),
    # Each transaction: its messages and the counts update that shows the change at once (100 actions at most).
    [("/me/messages/read", 99, {READ}), ("/me/messages/seen", 99, {UNREAD}), ("/me/messages/archive", 49, {READ})],
)
def test_every_mark_all_of_n_costs_at_most_n_over_25_writes(
    api: Api, token: TokenFactory, dynamodb_calls: CallCounter, path: str, per_transaction: int, after: set[str]
) -> None:
    write_unread("many", 1000)
    dynamodb_calls.reset()
    assert api.call("POST", path, token=token("many")).json_body == {"updated": 1000, "more": False}
    assert dynamodb_calls.calls["TransactWriteItems"] == math.ceil(1000 / per_transaction) <= math.ceil(1000 / 25)
    # and the user's bulk lease: one conditional write to take it, one to give it back; and the broadcasts they hold
    assert set(dynamodb_calls.calls) == {"Query", "TransactWriteItems", "UpdateItem", "DeleteItem", "BatchGetItem"}
    assert dynamodb_calls.calls["BatchGetItem"] == 1
    assert (dynamodb_calls.calls["UpdateItem"], dynamodb_calls.calls["DeleteItem"]) == (1, 1)
    assert dynamodb_calls.calls["Query"] == 1  # a page of the limit and one more: it holds them all, and says no more
    assert {m.status for m in InboxMessage.query("many")} == after
    counts = api.call("GET", "/me/unread-count", token=token("many")).json_body
    unread = 0 if after == {READ} else 1000
    assert (counts["total"], counts["unseen"]) == (unread, 0)
    if path.endswith("archive"):
        assert all(m.id.startswith(ARCHIVED) for m in InboxMessage.query("many"))


def test_my_channels_page_is_three_calls_and_a_single_message_one(
    api: Api, channel: str, send: SendFactory, token: TokenFactory, dynamodb_calls: CallCounter
) -> None:
    message_id = send(["u1"])["id"]
    api.change_message(token("u1"), send(["u1"])["id"], {"status": "read"})  # the channel's newest is read
    api.counts.catch_up()
    # counts with the broadcasts' registers, the expired TTL has yet to delete, latest messages
    channels = {"Query": 1, "BatchGetItem": 2}
    unread = {**channels, "Query": 2}  # under unread, one Query more: the channel's newest unread message
    paths = (
        ("/me/channels", channels),
        ("/me/channels?status=unread", unread),
        (f"/me/messages/{message_id}", {"BatchGetItem": 1}),  # found: no look at the broadcasts
    )
    for path, calls in paths:
        dynamodb_calls.reset()
        assert api.call("GET", path, token=token("u1")).status_code == 200
        assert dynamodb_calls.calls == calls, path


def test_a_send_log_page_is_one_query_per_log_bucket_or_one_for_a_channel(
    api: Api, admin_token: str, channel: str, send: SendFactory, dynamodb_calls: CallCounter
) -> None:
    for i in range(3):
        send(["u1"], title=f"t{i}")
    for path, queries in (("/messages?limit=2", LOG_BUCKETS), ("/messages?channel=news&limit=2", 1)):
        first = api.call("GET", path, token=admin_token).json_body
        dynamodb_calls.reset()
        assert len(api.call("GET", f"{path}&cursor={first['nextCursor']}", token=admin_token).json_body["items"]) == 1
        assert dynamodb_calls.calls == {"Query": queries}, path
