"""The `send` Lambda shares validation and storage with POST /messages."""

from __future__ import annotations

import re
from typing import Any

import pytest

from chalicelib.storage.inbox_tables import InboxMessage
from tests.conftest import Api, LambdaClient


def _stored(user: str) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in m.attribute_values.items() if k not in ("id", "expires_at", "created_at")}
        for m in InboxMessage.query(user)
    ]


def test_single_event_stores_what_the_http_route_stores(api: Api, channel: str, admin_token: str, lambdas: LambdaClient) -> None:
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


def test_batch_and_eventbridge_envelope(api: Api, channel: str, lambdas: LambdaClient) -> None:
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


def test_idempotency_key_in_the_event(api: Api, channel: str, lambdas: LambdaClient) -> None:
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
    api: Api, channel: str, lambdas: LambdaClient, event: Any, message: str
) -> None:
    from app import send
    from chalicelib.core.errors import ValidationError

    with pytest.raises(ValidationError, match=re.escape(message)) as caught:
        send(event, None)
    assert str(caught.value) == message
    assert list(InboxMessage.scan()) == []


def test_a_batch_with_an_unknown_channel_writes_nothing_and_names_it(api: Api, channel: str, lambdas: LambdaClient) -> None:
    """The channel of messages[1] is checked before messages[0] is stored (it once was stored first)."""
    from app import send
    from chalicelib.core.errors import NotFoundError

    batch = {
        "messages": [
            {"channel": "news", "receivers": ["a"], "title": "ok"},
            {"channel": "gone", "receivers": ["a"], "title": "x"},
        ]
    }
    with pytest.raises(NotFoundError, match=re.escape("messages[1].channel: channel 'gone' not found")):
        send(batch, None)
    assert list(InboxMessage.scan()) == []


def test_a_batch_with_a_key_conflict_writes_nothing_and_a_retry_does_not_duplicate(
    api: Api, channel: str, lambdas: LambdaClient
) -> None:
    from app import send
    from chalicelib.core.errors import ConflictError

    lambdas.invoke("send", {"channel": "news", "receivers": ["a"], "title": "first use", "idempotencyKey": "k2"})
    batch = {
        "messages": [
            {"channel": "news", "receivers": ["a"], "title": "m0", "idempotencyKey": "k1"},
            {"channel": "news", "receivers": ["a"], "title": "another body", "idempotencyKey": "k2"},
        ]
    }
    with pytest.raises(ConflictError, match=re.escape("messages[1].idempotencyKey: was already used")):
        send(batch, None)
    assert [m.title for m in InboxMessage.query("a")] == ["first use"]
    batch["messages"][1]["title"] = "first use"  # now the same body: replayed, and k1 is claimed again
    results = send(batch, None)
    assert [m.title for m in InboxMessage.query("a")] == ["first use", "m0"]
    assert send(batch, None) == results


def test_a_key_used_twice_in_one_batch_is_refused(api: Api, channel: str) -> None:
    from app import send
    from chalicelib.core.errors import ValidationError

    one = {"channel": "news", "receivers": ["a"], "title": "t", "idempotencyKey": "same"}
    with pytest.raises(ValidationError, match=re.escape("messages[1].idempotencyKey: is used twice in this batch")):
        send({"messages": [one, dict(one)]}, None)
    assert list(InboxMessage.scan()) == []


def test_a_batch_send_stored_well_after_its_id_was_minted_is_marked_for_the_catch_up(
    api: Api, channel: str, lambdas: LambdaClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by review: a batch mints every keyed send's id first, then stores them one by one, behind newer messages."""
    from chalicelib.core import ids
    from chalicelib.sending import sender as sending

    lambdas.invoke("send", {"messages": [{"channel": "news", "receivers": ["c"], "title": "at once"}]})
    assert [m.stored_id for m in InboxMessage.query("c")] == [None]  # stored the moment its id was minted
    step = sending.FRESH_START_MS + 500  # every id (a claim's, a store's) minted 1.5 s after the one before
    ticks = iter(range(1_790_000_000_000, 1_790_000_000_000 + 10**9, step))
    monkeypatch.setattr(ids, "_generator", ids.IdGenerator(clock=lambda: next(ticks)))
    keyed = [{"channel": "news", "receivers": [user], "title": user, "idempotencyKey": user} for user in ("a", "b")]
    lambdas.invoke("send", {"messages": keyed})
    for user in ("a", "b"):
        (message,) = InboxMessage.query(user)
        assert message.stored_id is not None and message.stored_id > message.id, user


def _shipped(event_id: str, source: str = "shop", **detail: Any) -> dict[str, Any]:
    body = {"channel": "news", "receivers": ["a"], "title": "shipped", **detail}
    return {"version": "0", "id": event_id, "detail-type": "Order shipped", "source": source, "detail": body}


def test_a_duplicated_eventbridge_event_stores_one_message(api: Api, channel: str, lambdas: LambdaClient) -> None:
    """EventBridge delivers at least once: the event's id is the default Idempotency-Key."""
    event = _shipped("6a7e8feb-b491-4cf7-a9f1-bf3703467718")
    first = lambdas.invoke("send", event).payload  # each invoke is a new request id, as a second delivery is
    assert lambdas.invoke("send", event).payload == first
    assert lambdas.invoke("send", _shipped("another-event")).payload["id"] != first["id"]
    assert [m.title for m in InboxMessage.query("a")] == ["shipped", "shipped"]
    batch = {**event, "id": "batch-event", "detail": {"messages": [event["detail"], {**event["detail"], "receivers": ["b"]}]}}
    assert lambdas.invoke("send", batch).payload == lambdas.invoke("send", batch).payload
    assert len(list(InboxMessage.query("b"))) == 1


def test_an_asynchronous_retry_of_one_invocation_stores_one_message(api: Api, channel: str) -> None:
    """Lambda retries a failed asynchronous invocation with the same request id: it keys the send."""
    from app import send

    class Retried:
        aws_request_id = "c0ffee00-0000-4000-8000-000000000001"

    event = {"channel": "news", "receivers": ["a"], "title": "once"}
    assert send(event, Retried()) == send(event, Retried())
    assert len(list(InboxMessage.query("a"))) == 1
    send(event, None)  # a synchronous caller without a request id (as tests call it): a new message
    assert len(list(InboxMessage.query("a"))) == 2


@pytest.mark.parametrize(("source", "sender"), [("shop", "events:shop"), ("admin", "events:admin"), ("\n", "lambda")])
def test_the_sender_of_a_lambda_send_is_never_a_bare_name(
    api: Api, channel: str, lambdas: LambdaClient, admin_token: str, source: str, sender: str
) -> None:
    """A bare `source` could read as a user id (`admin`): the send log names EventBridge sends `events:<source>`."""
    sent = lambdas.invoke("send", _shipped("e-1", source=source, receivers=["a", "b"])).payload
    entry = api.call("GET", f"/messages/{sent['id']}", token=admin_token).json_body
    assert entry["sender"] == sender
