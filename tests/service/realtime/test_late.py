"""A message the stream hands over late is marked for the catch-up before any frame of it is posted."""

from __future__ import annotations

import time
from typing import Any

import pytest

from chalicelib.core import ids
from chalicelib.storage.inbox_tables import InboxMessage
from tests.conftest import Api, CallCounter, ConnectFactory, LambdaClient, SendFactory, TokenFactory
from tests.events import StreamTap, ws_event
from tests.standin import ManagementStandIn


def _catch_up(api: Api, token: str, after: str) -> list[str]:
    answer = api.call("GET", f"/me/messages?after={after}", token=token)
    assert answer.status_code == 200
    return [m["id"] for m in answer.json_body["items"]]


def _split(batch: dict[str, Any], message_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The batch's records of one message, and the rest (as two sibling shards would hand them over)."""
    mine = [r for r in batch["Records"] if r["dynamodb"]["Keys"]["id"]["S"] == message_id]
    rest = [r for r in batch["Records"] if r not in mine]
    return {"Records": mine}, {"Records": rest}


def test_a_message_delivered_after_newer_ones_is_found_by_the_catch_up_after_them(
    api: Api, channel: str, send: SendFactory, stream: StreamTap, lambdas: LambdaClient, token: TokenFactory,
    standin: ManagementStandIn, connect: ConnectFactory, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Found by a full ``make chaos`` run: a shard retrying held one message back for minutes while its sibling
    delivered newer ones; its post then found the socket gone, and the client's catch-up after the newest id it
    had seen never returned it (unmarked, its id far below ``after``)."""
    connect("alice", "a1=")
    past = time.time_ns() // 1_000_000 - 10_000
    monkeypatch.setattr(ids, "_generator", ids.IdGenerator(clock=lambda: past))
    held_back = send(["alice"], title="Sent first, delivered last")["id"]
    monkeypatch.setattr(ids, "_generator", ids.IdGenerator())
    newer = send(["alice"], title="Sent later, delivered first")["id"]
    held, rest = _split(stream.batch(), held_back)
    assert lambdas.invoke("deliver", rest).payload == {"batchItemFailures": []}
    assert held_back not in _catch_up(api, token("alice"), newer)  # the client saw `newer`: the id range misses it
    assert lambdas.invoke("deliver", held).payload == {"batchItemFailures": []}
    assert held_back in _catch_up(api, token("alice"), newer)
    assert InboxMessage.get("alice", held_back).stored_id > newer


def test_a_message_delivered_on_time_costs_no_write(
    api: Api, channel: str, send: SendFactory, stream: StreamTap, lambdas: LambdaClient, dynamodb_calls: CallCounter,
    standin: ManagementStandIn,
) -> None:  # fmt: skip
    sent = send(["bob"])["id"]
    batch = stream.batch()
    dynamodb_calls.reset()
    assert lambdas.invoke("deliver", batch).payload == {"batchItemFailures": []}
    assert dynamodb_calls.calls["UpdateItem"] == 1  # the counts item's: nothing marked
    assert InboxMessage.get("bob", sent).stored_id is None


def test_a_late_message_of_a_user_with_no_connection_costs_no_write(
    api: Api, channel: str, send: SendFactory, stream: StreamTap, lambdas: LambdaClient, dynamodb_calls: CallCounter,
    standin: ManagementStandIn, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """A backlog (an audience send outrunning delivery) is mostly to users who are not connected: nothing to mark."""
    past = time.time_ns() // 1_000_000 - 10_000
    monkeypatch.setattr(ids, "_generator", ids.IdGenerator(clock=lambda: past))
    sent = send(["carol"])["id"]
    monkeypatch.setattr(ids, "_generator", ids.IdGenerator())
    batch = stream.batch()
    dynamodb_calls.reset()
    assert lambdas.invoke("deliver", batch).payload == {"batchItemFailures": []}
    assert dynamodb_calls.calls["UpdateItem"] == 1  # the counts item's: nothing marked
    assert InboxMessage.get("carol", sent).stored_id is None


def test_a_message_delivered_after_its_user_left_is_found_by_the_catch_up_after_the_newer_ones_they_saw(
    api: Api, channel: str, send: SendFactory, stream: StreamTap, lambdas: LambdaClient, token: TokenFactory,
    standin: ManagementStandIn, connect: ConnectFactory, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Found by a full ``make chaos`` run with broadcasts: the client saw a newer message, its socket dropped, the
    older one's late delivery found no connection (so it was not marked), and the reconnect caught up after the
    newer id."""
    connect("alice", "a1=")
    past = time.time_ns() // 1_000_000 - 10_000
    monkeypatch.setattr(ids, "_generator", ids.IdGenerator(clock=lambda: past))
    held_back = send(["alice"], title="Sent first, delivered last")["id"]
    monkeypatch.setattr(ids, "_generator", ids.IdGenerator())
    newer = send(["alice"], title="Sent later, delivered first")["id"]
    held, rest = _split(stream.batch(), held_back)
    assert lambdas.invoke("deliver", rest).payload == {"batchItemFailures": []}
    lambdas.invoke("ws_disconnect", ws_event("$disconnect", "a1="))  # gone before the older one's delivery
    assert lambdas.invoke("deliver", held).payload == {"batchItemFailures": []}
    assert held_back in _catch_up(api, token("alice"), newer)


def test_a_late_message_minted_after_its_user_left_costs_no_write(
    api: Api, channel: str, send: SendFactory, stream: StreamTap, lambdas: LambdaClient, dynamodb_calls: CallCounter,
    standin: ManagementStandIn, connect: ConnectFactory, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """A client gone before the message existed saw nothing newer: the catch-up's id range finds it."""
    from chalicelib.storage import Connection

    connect("dave", "d1=")
    lambdas.invoke("ws_disconnect", ws_event("$disconnect", "d1="))
    past = time.time_ns() // 1_000_000 - 10_000
    Connection("user#dave").update(actions=[Connection.left_at.set(past - 20_000)])  # gone 20 s before its id
    monkeypatch.setattr(ids, "_generator", ids.IdGenerator(clock=lambda: past))
    sent = send(["dave"])["id"]
    monkeypatch.setattr(ids, "_generator", ids.IdGenerator())
    batch = stream.batch()
    dynamodb_calls.reset()
    assert lambdas.invoke("deliver", batch).payload == {"batchItemFailures": []}  # 10 s after its id
    assert dynamodb_calls.calls["UpdateItem"] == 1  # the counts item's: nothing marked
    assert InboxMessage.get("dave", sent).stored_id is None
