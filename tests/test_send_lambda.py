"""The `send` Lambda shares validation and storage with POST /messages."""

from __future__ import annotations

import re
from typing import Any

import pytest
from chalice.test import TestLambdaClient

from chalicelib.models import InboxMessage
from tests.conftest import Api


def _stored(user: str) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in m.attribute_values.items() if k not in ("id", "expires_at", "created_at")}
        for m in InboxMessage.query(user)
    ]


def test_single_event_stores_what_the_http_route_stores(
    api: Api, channel: str, admin_token: str, lambdas: TestLambdaClient
) -> None:
    body = {
        "channel": "news",
        "receivers": ["a"],
        "title": "Hi {{n}}",
        "content": "c",
        "url": "/x",
        "duration": 3,
        "data": {"n": 1},
    }
    api.call("POST", "/messages", token=admin_token, json_body={**body, "receivers": ["b"]})
    result = lambdas.invoke("send", body).payload
    assert set(result) == {"id", "channel", "receivers"} and result["receivers"] == 1
    via_lambda, via_http = _stored("a"), _stored("b")
    for item in via_lambda + via_http:
        for key in ("user_id", "user_channel", "user_status", "user_channel_status"):
            item.pop(key)
    assert via_lambda == via_http


def test_batch_and_eventbridge_envelope(api: Api, channel: str, lambdas: TestLambdaClient) -> None:
    batch = {"messages": [{"channel": "news", "receivers": ["a", "b"], "title": f"m{i}"} for i in range(3)]}
    results = lambdas.invoke("send", batch).payload
    assert [r["receivers"] for r in results] == [2, 2, 2]
    envelope = {
        "version": "0",
        "detail-type": "Order shipped",
        "source": "shop",
        "detail": {"channel": "news", "receivers": ["a"], "title": "eb"},
    }
    assert lambdas.invoke("send", envelope).payload["receivers"] == 1
    assert [m.title for m in InboxMessage.query("a")] == ["m0", "m1", "m2", "eb"]


def test_idempotency_key_in_the_event(api: Api, channel: str, lambdas: TestLambdaClient) -> None:
    event = {"channel": "news", "receivers": ["a"], "title": "once", "idempotencyKey": "evt-1"}
    first = lambdas.invoke("send", event).payload
    assert lambdas.invoke("send", event).payload == first
    assert len(list(InboxMessage.query("a"))) == 1


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (
            {
                "messages": [
                    {"channel": "news", "receivers": ["a"], "title": "ok"},
                    {"channel": "news", "receivers": [], "title": "x"},
                ]
            },
            "messages[1].receivers: must have 1 to 1000 distinct user ids",
        ),
        (
            {"messages": [{"channel": "news", "receivers": ["a"], "title": "t"}] * 101},
            "messages: must be a list of 1 to 100 messages",
        ),
        ({"messages": "nope"}, "messages: must be a list of 1 to 100 messages"),
        ({"messages": [], "extra": 1}, "extra: is not a known field"),
        ({"channel": "news", "receivers": ["a"]}, "title: is required"),
        ({"detail-type": "x", "detail": {"channel": "news", "title": "t"}}, "receivers: is required"),
        ([1, 2], "event: must be a JSON object"),
    ],
)
def test_invalid_events_raise_naming_the_field_and_write_nothing(
    api: Api, channel: str, lambdas: TestLambdaClient, event: Any, message: str
) -> None:
    from app import send
    from chalicelib.errors import ValidationError

    with pytest.raises(ValidationError, match=re.escape(message)) as caught:
        send(event, None)
    assert str(caught.value) == message
    assert list(InboxMessage.scan()) == []
