"""Storing a broadcast: one transaction whatever the subscribers, done at once, safe to repeat."""

from __future__ import annotations

from chalicelib.storage.audience_tables import SendLog
from chalicelib.storage.inbox_tables import InboxMessage
from tests.conftest import Api, CallCounter
from tests.service.broadcast.conftest import Broadcast


def test_a_broadcast_is_one_transaction_and_done_at_once(
    api: Api, admin_token: str, subscribed: list[str], broadcast: Broadcast, dynamodb_calls: CallCounter
) -> None:
    dynamodb_calls.reset()
    send_id = broadcast()
    # the channel, its sequence and its index (expired entries leave as this one comes); one transaction
    assert dynamodb_calls.calls == {"GetItem": 3, "TransactWriteItems": 1}
    logged = api.call("GET", f"/messages/{send_id}", token=admin_token).json_body
    assert (logged["status"], logged["recipients"], logged["stored"], logged["audience"]) == ("done", 12, 12, "subscribers")
    assert not [m for user in subscribed for m in InboxMessage.query(user)]  # no copy per subscriber


def test_at_the_threshold_the_send_is_stored_per_subscriber(
    api: Api, admin_token: str, subscribed: list[str], subscribers, worker
) -> None:  # type: ignore[no-untyped-def]
    subscribers(remove=subscribed[:2])
    body = {"channel": "news", "audience": "subscribers", "title": "Ten"}
    send_id = api.call("POST", "/messages", token=admin_token, json_body=body).json_body["id"]
    worker.drain()
    assert SendLog.get(send_id).status == "done"
    assert [m.id for m in InboxMessage.query(subscribed[5])] == [send_id]


def test_a_retry_with_the_same_key_stores_nothing_twice(api: Api, admin_token: str, subscribed: list[str]) -> None:
    body = {"channel": "news", "audience": "subscribers", "title": "Once"}
    first = api.call("POST", "/messages", token=admin_token, json_body=body, headers={"Idempotency-Key": "k-1"})
    again = api.call("POST", "/messages", token=admin_token, json_body=body, headers={"Idempotency-Key": "k-1"})
    assert (first.status_code, again.json_body) == (202, first.json_body)
    assert [s.id for s in SendLog.scan()] == [first.json_body["id"]]


def test_the_send_lambda_broadcasts_too_and_names_its_sender(
    api: Api,
    admin_token: str,
    subscribed: list[str],
    lambdas,
    token,  # type: ignore[no-untyped-def]
) -> None:
    direct = lambdas.invoke("send", {"channel": "news", "audience": "subscribers", "title": "A"}).payload
    detail = {"channel": "news", "audience": "subscribers", "title": "B"}
    bridged = lambdas.invoke("send", {"detail-type": "deploy", "source": "ci.deploys", "detail": detail}).payload
    assert direct["status"] == bridged["status"] == "queued"
    logs = [api.call("GET", f"/messages/{sent['id']}", token=admin_token).json_body for sent in (direct, bridged)]
    assert [(log["sender"], log["status"], log["recipients"]) for log in logs] == [
        ("lambda", "done", 12),
        ("events:ci.deploys", "done", 12),
    ]
    assert api.message_ids(token(subscribed[7])) == [bridged["id"], direct["id"]]


def test_a_channel_whose_index_is_full_sends_per_subscriber_again(
    api: Api,
    admin_token: str,
    subscribed: list[str],
    broadcast: Broadcast,
    worker,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    from chalicelib.broadcast import store

    monkeypatch.setattr(store, "MAX_INDEX_BYTES", 100)  # less than one entry (~110 bytes): full after the first
    first, second = broadcast(title="stored once"), broadcast(title="per subscriber")
    worker.drain()
    assert not [m for m in InboxMessage.query(subscribed[0]) if m.id == first]
    assert [m.id for m in InboxMessage.query(subscribed[0])] == [second]
    logs = [api.call("GET", f"/messages/{i}", token=admin_token).json_body for i in (first, second)]
    assert [(log["status"], log["stored"]) for log in logs] == [("done", 12), ("done", 12)]


def test_a_send_logged_per_subscriber_stays_one_when_tried_again_after_its_channel_grew(subscribed: list[str]) -> None:
    from chalicelib.broadcast.sequence import read_sequence
    from chalicelib.broadcast.store import store_broadcast
    from chalicelib.channels import get_channel
    from chalicelib.core.ids import first_id_at, new_id
    from chalicelib.sending import SendRequest
    from chalicelib.sending.send_log import broadcast_item, record_queued

    channel, send_id = get_channel("news"), new_id()
    request = SendRequest(
        channel="news", receivers=[], title="First queued", content="", url=None, duration=0, audience="subscribers"
    )
    record_queued(request, channel, send_id, "admin")  # its first attempt, when the channel was small
    again = broadcast_item(request, channel, send_id, "admin")
    assert store_broadcast(again, read_sequence("news", first_id_at(channel.created_at))) is False
    assert SendLog.get(send_id).status == "queued"  # the fan-out it started goes on
