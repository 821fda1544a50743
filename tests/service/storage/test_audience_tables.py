"""chalicelib.storage.audience_tables: subscribers paged by channel, the send log newest first."""

from __future__ import annotations

from chalicelib.core.ids import new_id
from chalicelib.storage.audience_tables import LOG, SendLog, Subscription


def test_a_channels_subscribers_page_in_user_order(tables: None) -> None:
    for user in ("carol", "alice", "bob"):
        Subscription("news", user, since=new_id()).save()
    Subscription("other", "dave", since=new_id()).save()
    assert [s.user_id for s in Subscription.query("news")] == ["alice", "bob", "carol"]
    assert [s.user_id for s in Subscription.query("news", Subscription.user_id > "alice", limit=1)] == ["bob"]


def test_the_log_index_lists_every_send_newest_first_and_by_channel(tables: None) -> None:
    ids = [new_id() for _ in range(3)]
    for send_id, channel in zip(ids, ("a", "b", "a"), strict=True):
        SendLog(
            send_id, log=LOG, channel=channel, channel_title="C", title="T", sender="admin", status="done", created_at="x"
        ).save()
    assert [e.id for e in SendLog.log_index.query(LOG, scan_index_forward=False)] == ids[::-1]
    assert [e.id for e in SendLog.channel_log_index.query("a", scan_index_forward=False)] == [ids[2], ids[0]]
