"""Who holds a broadcast: subscribed at the moment of the send; a later subscriber does not, a later unsubscriber keeps it."""

from __future__ import annotations

from chalicelib.storage.audience_tables import SendLog
from tests.conftest import Api, TokenFactory
from tests.service.broadcast.conftest import Broadcast, Subscribers


def test_subscribed_at_the_moment_of_the_send(
    api: Api, subscribed: list[str], broadcast: Broadcast, subscribers: Subscribers, token: TokenFactory
) -> None:
    first = broadcast()
    assert subscribers(add=["late"], remove=[subscribed[5]]) == {"added": 1, "removed": 1}
    later = broadcast(title="later")
    assert api.message_ids(token("late")) == [later]  # a later subscriber does not get the earlier one
    assert api.message_ids(token(subscribed[5])) == [first]  # a later unsubscriber keeps it, and misses the next
    assert subscribers(add=[subscribed[5]]) == {"added": 1, "removed": 0}
    last = broadcast(title="last")
    assert api.message_ids(token(subscribed[5])) == [last, first]
    assert [int(SendLog.get(s).recipients) for s in (first, later, last)] == [12, 12, 13]


def test_a_broadcast_of_another_tenant_is_never_seen(api: Api, channel: str, tenant_token, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("INAPP_BROADCAST_THRESHOLD", "0")
    from chalicelib import service

    service.reset()
    admin_a, admin_b = tenant_token("admin-1", "a", admin=True), tenant_token("admin-1", "b", admin=True)
    for admin in (admin_a, admin_b):
        api.call("POST", "/channels", token=admin, json_body={"name": "news", "title": "News"})
    api.call("POST", "/channels/news/subscribers", token=admin_a, json_body={"add": ["alice"]})
    api.call("POST", "/channels/news/subscribers", token=admin_b, json_body={"add": ["alice"]})
    body = {"channel": "news", "audience": "subscribers", "title": "A only"}
    send_id = api.call("POST", "/messages", token=admin_a, json_body=body).json_body["id"]
    assert api.message_ids(tenant_token("alice", "a")) == [send_id]
    assert api.message_ids(tenant_token("alice", "b")) == []
    assert api.unread_count(tenant_token("alice", "b"))["total"] == 0


def test_a_deleted_channels_subscribers_keep_its_broadcasts_and_a_recreated_ones_start_afresh(
    api: Api, admin_token: str, subscribed: list[str], broadcast: Broadcast, subscribers: Subscribers, token: TokenFactory, worker
) -> None:  # type: ignore[no-untyped-def]
    kept = broadcast(title="before the delete")
    assert api.call("DELETE", "/channels/news", token=admin_token).status_code == 204
    api.call("POST", "/channels", token=admin_token, json_body={"name": "news", "title": "News again"})
    worker.drain()  # the old subscriptions removed, their spans kept
    assert api.message_ids(token(subscribed[0])) == [kept]
    subscribers(add=[f"new-{n:02d}" for n in range(11)] + [subscribed[0]])
    fresh = broadcast(title="after")
    assert api.message_ids(token(subscribed[0])) == [fresh, kept]
    assert api.message_ids(token("new-00")) == [fresh]
    assert api.message_ids(token(subscribed[1])) == [kept]
    assert int(SendLog.get(fresh).recipients) == 12
