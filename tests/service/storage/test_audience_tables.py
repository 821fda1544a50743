"""chalicelib.storage.audience_tables: subscribers paged by channel, the send log newest first over its buckets."""

from __future__ import annotations

import pytest
from pynamodb.exceptions import AttributeNullError

from chalicelib.core.ids import new_id
from chalicelib.storage.audience_tables import LOG_KEYS, SendLog, Subscription, log_key, newest_sends


def _logged(send_id: str, channel: str = "a", log: str | None = None) -> SendLog:
    return SendLog(send_id, log=log, channel=channel, channel_title="C", title="T", sender="admin", status="done", created_at="x")


def test_a_channels_subscribers_page_in_user_order(tables: None) -> None:
    for user in ("carol", "alice", "bob"):
        Subscription("news", user, since=new_id()).save()
    Subscription("other", "dave", since=new_id()).save()
    assert [s.user_id for s in Subscription.query("news")] == ["alice", "bob", "carol"]
    assert [s.user_id for s in Subscription.query("news", Subscription.user_id > "alice", limit=1)] == ["bob"]


def test_the_log_index_lists_every_send_newest_first_and_by_channel(tables: None) -> None:
    ids = [new_id() for _ in range(3)]
    for send_id, channel in zip(ids, ("a", "b", "a"), strict=True):
        _logged(send_id, channel, log=log_key(send_id)).save()
    assert [e.id for e in newest_sends(None, 10)] == ids[::-1]
    assert [e.id for e in newest_sends(ids[2], 10)] == ids[1::-1]
    assert [e.id for e in newest_sends(None, 10, "a")] == [ids[2], ids[0]]


def test_a_sends_log_key_is_its_bucket_the_same_in_every_process() -> None:
    """Pinned values: Python's ``hash()`` of a string changes with each process's seed, CRC-32 does not."""
    assert [log_key(i) for i in ("01ARZ3NDEKTSV4RRFFQ69G5FAV", "01ARZ3NDEKTSV4RRFFQ69G5FAW")] == ["sends#5", "sends#3"]


def test_new_sends_fill_every_log_bucket() -> None:
    assert {log_key(new_id()) for _ in range(1000)} == set(LOG_KEYS)


def test_a_send_without_its_log_key_is_not_saved(tables: None) -> None:
    with pytest.raises(AttributeNullError, match=r"^Attribute 'log' cannot be None$"):
        _logged(new_id()).save()
