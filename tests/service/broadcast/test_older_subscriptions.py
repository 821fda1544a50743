"""Subscriptions and channels older than broadcasts (made before the feature was deployed), and leftovers of a
deleted channel: each user holds exactly what they were subscribed for."""

from __future__ import annotations

import pytest

from chalicelib import service
from chalicelib.audience import subscribers as subscriptions
from chalicelib.broadcast import read_sequence
from chalicelib.core.ids import first_id_at, new_id
from chalicelib.storage import Channel, SendLog, Subscription
from tests.conftest import Api, TokenFactory, assert_counts_exact
from tests.service.broadcast.conftest import Broadcast, Subscribers

OLD = [f"old-{i:02d}" for i in range(12)]


@pytest.fixture
def older_channel(api: Api, channel: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``news`` as a deployment before broadcasts left it: no ``counted`` mark, twelve subscriptions without
    ``floor`` or ``fromSeq``, and no sequence item; a threshold of 10."""
    monkeypatch.setenv("INAPP_BROADCAST_THRESHOLD", "10")
    service.reset()
    news = Channel.get("news")
    news.update(actions=[Channel.counted.remove()])
    for user in OLD:
        item = Subscription("news", user, since=new_id())
        item.save()
        Subscription._get_connection().update_item(  # as written then: no fromSeq at all
            "news", user, actions=[Subscription.from_seq.remove()]
        )
    return OLD


def _sequence() -> tuple[int, int, bool]:
    found = read_sequence("news", first_id_at(Channel.get("news").created_at))
    return found.seq, found.subscribers, found.counted


def test_an_older_channel_sends_per_subscriber_until_counted_then_broadcasts_to_everyone(
    api: Api, older_channel: list[str], subscribers: Subscribers, broadcast: Broadcast, token: TokenFactory, worker
) -> None:  # type: ignore[no-untyped-def]
    subscribers(add=["new-1"], remove=[older_channel[0]])  # changes before the count: n is not trusted yet
    first = broadcast(title="first")  # not counted: per subscriber, and a count queued
    assert SendLog.get(first).status == "queued"
    worker.drain()
    assert SendLog.get(first).status == "done"
    assert _sequence() == (0, 12, True)  # 11 older ones and new-1, counted once
    second = broadcast(title="second")
    log = SendLog.get(second)
    assert (log.status, int(log.recipients)) == ("done", 12)
    assert _sequence() == (1, 12, True)  # a broadcast now
    assert api.message_ids(token(older_channel[1])) == [second, first]
    assert api.message_ids(token("new-1")) == [second, first]
    assert api.message_ids(token(older_channel[0])) == []
    assert_counts_exact(older_channel[1], "new-1")
    assert api.unread_count(token(older_channel[1]))["total"] == 2


def test_an_older_subscription_removed_after_a_broadcast_keeps_it(
    api: Api, older_channel: list[str], subscribers: Subscribers, broadcast: Broadcast, token: TokenFactory, worker
) -> None:  # type: ignore[no-untyped-def]
    broadcast(title="counts the channel")
    worker.drain()
    held = broadcast(title="held")
    assert subscribers(remove=[older_channel[2]]) == {"added": 0, "removed": 1}
    later = broadcast(title="later")
    assert api.message_ids(token(older_channel[2]))[:1] == [held]
    assert later not in api.message_ids(token(older_channel[2]))
    assert _sequence()[:2] == (2, 11)


def test_a_count_with_a_subscription_change_under_it_counts_again(
    api: Api, older_channel: list[str], subscribers: Subscribers, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib import broadcast

    counted: list[int] = []

    def count() -> int:
        found = subscriptions.count_life("news", first_id_at(Channel.get("news").created_at))
        if not counted:
            subscribers(add=["meanwhile"])  # lands between the count and its write
        counted.append(found)
        return found

    broadcast.set_counted("news", first_id_at(Channel.get("news").created_at), count)
    assert counted == [12, 13]
    assert _sequence() == (0, 13, True)


def test_an_older_channels_leftovers_keep_their_broadcasts_through_its_clean_up(
    api: Api, admin_token: str, older_channel: list[str], broadcast: Broadcast, token: TokenFactory, worker
) -> None:  # type: ignore[no-untyped-def]
    broadcast(title="counts the channel")
    worker.drain()
    kept = broadcast(title="before the delete")
    assert api.call("DELETE", "/channels/news", token=admin_token).status_code == 204
    api.call("POST", "/channels", token=admin_token, json_body={"name": "news", "title": "News again"})
    worker.drain()  # the older subscriptions removed, their spans kept
    assert Subscription.count("news") == 0
    assert api.message_ids(token(older_channel[3]))[:1] == [kept]


def test_a_user_added_again_before_the_clean_up_keeps_the_deleted_channels_broadcasts(
    api: Api, admin_token: str, subscribed: list[str], broadcast: Broadcast, subscribers: Subscribers, token: TokenFactory, worker
) -> None:  # type: ignore[no-untyped-def]
    kept = broadcast(title="before the delete")
    assert api.call("DELETE", "/channels/news", token=admin_token).status_code == 204
    api.call("POST", "/channels", token=admin_token, json_body={"name": "news", "title": "News again"})
    subscribers(add=[subscribed[0]] + [f"new-{n:02d}" for n in range(11)])  # replaces the leftover subscription
    assert api.message_ids(token(subscribed[0])) == [kept]
    fresh = broadcast(title="after")
    worker.drain()
    assert api.message_ids(token(subscribed[0])) == [fresh, kept]
    assert api.message_ids(token(subscribed[1])) == [kept]
    assert_counts_exact(subscribed[0])


def test_a_user_added_again_while_the_clean_up_reads_their_leftover_keeps_the_new_subscription(
    api: Api, admin_token: str, subscribed: list[str], subscribers: Subscribers, monkeypatch: pytest.MonkeyPatch, worker
) -> None:  # type: ignore[no-untyped-def]
    """The clean-up read a page of leftovers, the admin added one of them again, then the page's deletes ran."""
    assert api.call("DELETE", "/channels/news", token=admin_token).status_code == 204
    api.call("POST", "/channels", token=admin_token, json_body={"name": "news", "title": "News again"})
    real = subscriptions._subscriptions_between

    def racing(*args, **kwargs):  # type: ignore[no-untyped-def]
        found = real(*args, **kwargs)
        subscribers(add=[subscribed[0]])  # lands between the page's read and its deletes
        return found

    monkeypatch.setattr(subscriptions, "_subscriptions_between", racing)
    worker.drain()
    assert [s.user_id for s in Subscription.query("news")] == [subscribed[0]]
    assert _sequence()[1] == 1  # the count has them, and so does the table
