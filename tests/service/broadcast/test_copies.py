"""A user's first change of a broadcast writes their copy; the counts stay exact, the others' untouched."""

from __future__ import annotations

from chalicelib.storage.inbox_tables import InboxMessage
from tests.conftest import Api, TokenFactory, assert_counts_exact
from tests.service.broadcast.conftest import Broadcast


def test_the_first_change_writes_the_users_copy(
    api: Api, subscribed: list[str], broadcast: Broadcast, token: TokenFactory
) -> None:
    send_id = broadcast()
    reader, other = token(subscribed[1]), token(subscribed[2])
    assert api.change_message(reader, send_id, {"status": "read"})["status"] == "read"
    assert [m.id for m in InboxMessage.query(subscribed[1])] == [send_id]
    assert api.unread_count(reader)["total"] == 0
    assert api.message_ids(reader) == api.message_ids(reader, "?status=read") == [send_id]  # once: the copy
    assert api.unread_count(other)["total"] == 1
    assert api.change_message(reader, send_id, {"status": "unread"})["status"] == "unread"
    assert api.unread_count(reader)["total"] == 1
    assert api.call("DELETE", f"/me/messages/{send_id}", token=reader).status_code == 204
    assert (api.message_ids(reader), api.unread_count(reader)["total"]) == ([], 0)
    assert api.call("GET", f"/me/messages/{send_id}", token=reader).status_code == 404
    assert_counts_exact(subscribed[1], subscribed[2])


def test_archive_and_pin_work_on_the_copy(api: Api, subscribed: list[str], broadcast: Broadcast, token: TokenFactory) -> None:
    pinned, archived = broadcast(title="pin me"), broadcast(title="archive me")
    reader = token(subscribed[0])
    assert api.change_message(reader, pinned, {"pinned": True})["pinned"] is True
    assert api.change_message(reader, archived, {"archived": True})["archived"] is True
    assert api.message_ids(reader) == [pinned]
    assert api.message_ids(reader, "?archived=true") == [archived]
    assert api.unread_count(reader)["total"] == 1
    assert_counts_exact(subscribed[0])


def test_mark_all_read_seen_and_archive_reach_the_broadcasts(
    api: Api, subscribed: list[str], broadcast: Broadcast, token: TokenFactory, send: object
) -> None:
    user = subscribed[0]
    reader = token(user)
    ids = [broadcast(title=f"b{n}") for n in range(3)]
    seen = api.call("POST", "/me/messages/seen", token=reader, json_body={}).json_body
    assert (seen["updated"], api.unread_count(reader)["unseen"], api.unread_count(reader)["total"]) == (3, 0, 3)
    fourth = broadcast(title="b3")
    read = api.call("POST", "/me/messages/read", token=reader, json_body={}).json_body
    assert (read["updated"], read["more"], api.unread_count(reader)["total"]) == (4, False, 0)
    assert api.message_ids(reader, "?status=read") == [fourth, *ids[::-1]]
    broadcast(title="b4")
    archived = api.call("POST", "/me/messages/archive", token=reader, json_body={}).json_body
    assert (archived["updated"], api.message_ids(reader)) == (5, [])
    assert_counts_exact(user)


def test_a_mark_all_racing_another_devices_change_still_reads_every_broadcast(
    api: Api, subscribed: list[str], broadcast: Broadcast, token: TokenFactory, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from chalicelib.broadcast import copies

    ids = [broadcast(title=f"b{n}") for n in range(3)]
    reader = token(subscribed[0])
    real = copies._write
    raced: list[bool] = []

    def racing(user_id, chunk):  # type: ignore[no-untyped-def]
        if not raced:  # another device reads one of them first
            raced.append(True)
            api.change_message(reader, ids[1], {"status": "read"})
        return real(user_id, chunk)

    monkeypatch.setattr(copies, "_write", racing)
    answer = api.call("POST", "/me/messages/read", token=reader, json_body={}).json_body
    assert (answer["updated"], answer["more"]) == (2, False)
    assert api.unread_count(reader)["total"] == 0
    assert sorted(api.message_ids(reader, "?status=read")) == sorted(ids)
    assert_counts_exact(subscribed[0])


def test_the_copies_item_forgets_the_months_past_the_retention_as_the_next_copy_is_written(
    api: Api, subscribed: list[str], broadcast: Broadcast, token: TokenFactory
) -> None:
    from datetime import UTC, datetime, timedelta

    from pynamodb.expressions.operand import Path

    from chalicelib import storage
    from chalicelib.broadcast.store import copies_key
    from chalicelib.storage import UserCounts

    now = datetime.now(UTC)
    gone, kept = f"mb:{now - timedelta(days=450):%Y%m}", f"mb:{now - timedelta(days=300):%Y%m}"  # retention: 365 days
    key, user = copies_key(subscribed[0]), token(subscribed[0])
    storage.update_item(UserCounts, key, [Path(gone).add({"01OLD"}), Path(kept).add({"01KEPT"})])
    send_id = broadcast(title="new")
    api.change_message(user, send_id, {"status": "read"})
    item = storage.read_item(UserCounts, key, consistent=True) or {}
    assert sorted(name for name in item if name.startswith("mb:")) == sorted({kept, f"mb:{now:%Y%m}"})
    assert send_id in item[f"mb:{now:%Y%m}"]["SS"]


def test_a_copy_is_never_marked_as_a_late_message(
    api: Api, subscribed: list[str], broadcast: Broadcast, token: TokenFactory, connect, stream, lambdas, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """A copy keeps the broadcast's (older) id, but its user has the message: delivery writes no storedId for it."""
    from chalicelib.core import ids

    past = ids.id_time_ms(ids.new_id()) - 10_000
    monkeypatch.setattr(ids, "_generator", ids.IdGenerator(clock=lambda: past))
    send_id = broadcast(title="Read late")
    monkeypatch.setattr(ids, "_generator", ids.IdGenerator())
    connect(subscribed[0], "a1=")
    api.change_message(token(subscribed[0]), send_id, {"status": "read"})
    assert lambdas.invoke("deliver", stream.batch()).payload == {"batchItemFailures": []}
    assert InboxMessage.get(subscribed[0], send_id).stored_id is None
