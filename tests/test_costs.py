"""DynamoDB call budgets, counted with a botocore ``before-call`` hook."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from chalicelib.models import READ, UNREAD, ChannelCounter, InboxMessage
from tests.conftest import Api, CallCounter, SendFactory, TokenFactory


@pytest.mark.parametrize("receivers", [1, 25, 51, 1000])
def test_send_costs_at_most_ceil_r_over_25_plus_3(
    api: Api, admin_token: str, channel: str, dynamodb_calls: CallCounter, receivers: int
) -> None:
    body = {"channel": "news", "receivers": [f"u{i}" for i in range(receivers)], "title": "t"}
    dynamodb_calls.reset()
    response = api.call("POST", "/messages", token=admin_token, json_body=body, headers={"Idempotency-Key": "k"})
    assert response.status_code == 202
    assert dynamodb_calls.total <= math.ceil(receivers / 25) + 3
    assert dynamodb_calls.calls["TransactWriteItems"] == math.ceil(receivers / 50)
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
    ],
)
def test_an_inbox_page_is_one_call(
    api: Api, channel: str, send: SendFactory, token: TokenFactory, dynamodb_calls: CallCounter, query: str
) -> None:
    for _ in range(30):
        send(["u1"])
    dynamodb_calls.reset()
    page = api.call("GET", "/me/messages" + query, token=token("u1")).json_body
    assert dynamodb_calls.total == 1
    if "read" not in query.replace("unread", ""):
        assert len(page["items"]) == 20 and page["nextCursor"]


def _bulk_unread(user: str, count: int) -> None:
    """10,000 unread messages written straight to the tables (the send path is tested elsewhere)."""
    with InboxMessage.batch_write() as batch:
        for i in range(count):
            message = InboxMessage(
                user,
                f"01M8{i:022d}",
                channel="news",
                channel_title="News",
                title="t",
                created_at="2026-11-24T00:00:00.000Z",
                user_channel=f"{user}#news",
                expires_at=timedelta(days=1),
            )
            message.set_status(UNREAD, None)
            batch.save(message)
    ChannelCounter(user, "news", channel_title="News", unread=count, total=count, latest_id=f"01M8{count - 1:022d}").save()


def test_unread_count_with_10000_unread_is_at_most_2_calls(api: Api, token: TokenFactory, dynamodb_calls: CallCounter) -> None:
    _bulk_unread("heavy", 10_000)
    dynamodb_calls.reset()
    body = api.call("GET", "/me/unread-count", token=token("heavy")).json_body
    assert body == {"total": 10_000, "channels": {"news": 10_000}}
    assert dynamodb_calls.total <= 2


def test_mark_all_read_of_n_costs_at_most_n_over_25_writes(api: Api, token: TokenFactory, dynamodb_calls: CallCounter) -> None:
    _bulk_unread("many", 1000)
    dynamodb_calls.reset()
    assert api.call("POST", "/me/messages/read", token=token("many")).json_body == {"updated": 1000}
    writes = dynamodb_calls.calls["TransactWriteItems"] + dynamodb_calls.calls["BatchWriteItem"]
    assert writes <= math.ceil(1000 / 25)
    assert set(dynamodb_calls.calls) <= {"Query", "TransactWriteItems"}
    assert ChannelCounter.get("many", "news").unread == 0
    assert {m.status for m in InboxMessage.query("many")} == {READ}


def test_my_channels_page_and_single_message_are_one_call(
    api: Api, channel: str, send: SendFactory, token: TokenFactory, dynamodb_calls: CallCounter
) -> None:
    message_id = send(["u1"])["id"]
    for path in ("/me/channels", f"/me/messages/{message_id}"):
        dynamodb_calls.reset()
        assert api.call("GET", path, token=token("u1")).status_code == 200
        assert dynamodb_calls.total == 1, path
