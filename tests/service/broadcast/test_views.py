"""A broadcast as every subscriber's own message: lists, filters, pages, catch-up, counts, channels, by id."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api, TokenFactory
from tests.service.broadcast.conftest import Broadcast


def test_every_subscriber_sees_it_in_lists_counts_and_by_id(
    api: Api, subscribed: list[str], broadcast: Broadcast, token: TokenFactory
) -> None:
    send_id = broadcast(tags=["ops"], severity="critical")
    reader = token(subscribed[3])
    assert api.message_ids(reader) == [send_id]
    assert api.message_ids(reader, "?channel=news&status=unread") == [send_id]
    assert api.message_ids(reader, "?tag=ops") == [send_id]
    assert api.message_ids(reader, "?status=read") == api.message_ids(reader, "?archived=true") == []
    counts = api.unread_count(reader)
    assert (counts["total"], counts["unseen"], counts["channels"], counts["tags"]) == (1, 1, {"news": 1}, {"ops": 1})
    shown = api.call("GET", f"/me/messages/{send_id}", token=reader).json_body
    assert (shown["title"], shown["status"], shown["channel"], shown["severity"]) == ("To everyone", "unread", "news", "critical")
    assert api.message_ids(token("outsider")) == []
    assert api.call("GET", f"/me/messages/{send_id}", token=token("outsider")).status_code == 404


def test_own_messages_and_broadcasts_merge_newest_first_across_pages(
    api: Api, subscribed: list[str], broadcast: Broadcast, token: TokenFactory, send: Any
) -> None:
    user = subscribed[0]
    ids = []
    for n in range(3):
        ids.append(send([user], title=f"own {n}")["id"])
        ids.append(broadcast(title=f"broadcast {n}"))
    reader = token(user)
    for query in ("", "&channel=news", "&status=unread"):
        first = api.call("GET", f"/me/messages?limit=4{query}", token=reader).json_body
        rest = api.call("GET", f"/me/messages?limit=4{query}&cursor={first['nextCursor']}", token=reader).json_body
        assert [m["id"] for m in first["items"] + rest["items"]] == ids[::-1], query
        assert rest["nextCursor"] is None
    assert api.unread_count(reader)["total"] == 6


def test_a_tag_list_merges_them_too(
    api: Api, subscribed: list[str], broadcast: Broadcast, token: TokenFactory, send: Any
) -> None:
    user = subscribed[0]
    ids = [send([user], tags=["ops"])["id"], broadcast(tags=["ops"]), broadcast(tags=["other"]), send([user], tags=["ops"])["id"]]
    reader = token(user)
    first = api.call("GET", "/me/messages?tag=ops&limit=2", token=reader).json_body
    rest = api.call("GET", f"/me/messages?tag=ops&limit=2&cursor={first['nextCursor']}", token=reader).json_body
    assert [m["id"] for m in first["items"] + rest["items"]] == [ids[3], ids[1], ids[0]]


def test_the_catch_up_after_an_id_includes_broadcasts_oldest_first(
    api: Api, subscribed: list[str], broadcast: Broadcast, token: TokenFactory, send: Any
) -> None:
    user = subscribed[0]
    seen = send([user], title="seen")["id"]
    later = [broadcast(title="b1"), send([user], title="own")["id"], broadcast(title="b2")]
    assert api.message_ids(token(user), f"?after={seen}") == later


def test_my_channels_counts_them_and_shows_the_newest(
    api: Api, subscribed: list[str], broadcast: Broadcast, token: TokenFactory, send: Any
) -> None:
    user = subscribed[0]
    send([user], title="own")
    newest = broadcast(title="newest")
    channels = api.call("GET", "/me/channels", token=token(user)).json_body["items"]
    assert [(c["name"], c["unread"], c["total"], c["latest"]["id"]) for c in channels] == [("news", 2, 2, newest)]
    unread = api.call("GET", "/me/channels?status=unread", token=token(user)).json_body["items"]
    assert unread[0]["latest"]["id"] == newest
    assert api.call("GET", "/me/channels?status=read", token=token(user)).json_body["items"] == []


def test_a_broadcast_past_its_own_expiry_is_gone_from_every_list_and_count(
    api: Api, subscribed: list[str], broadcast: Broadcast, token: TokenFactory, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime, timedelta

    from chalicelib.broadcast import views
    from chalicelib.core.clock import iso
    from chalicelib.inbox import expiry, lookup, queries

    short = broadcast(title="flash", expiresAt=iso(datetime.now(UTC) + timedelta(minutes=2)), tags=["sale"])
    kept = broadcast(title="stays")
    reader = token(subscribed[4])
    assert api.unread_count(reader)["total"] == 2
    moment = datetime.now(UTC) + timedelta(minutes=3)
    for module in (expiry, queries, lookup, views):
        monkeypatch.setattr(module, "utc_now", lambda: moment)
    for query in ("", "?status=unread", "?channel=news", "?tag=sale", f"?after={short}"):
        assert short not in api.message_ids(reader, query), query
    assert api.message_ids(reader) == [kept]
    assert api.call("GET", f"/me/messages/{short}", token=reader).status_code == 404
    assert api.unread_count(reader) == {"total": 1, "unseen": 1, "channels": {"news": 1}}


def test_a_broadcast_stored_late_behind_a_newer_id_comes_in_the_catch_up_a_page_at_a_time(
    api: Api, subscribed: list[str], broadcast: Broadcast, token: TokenFactory, send: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A retry stores broadcasts whose ids were minted 20 s before a message the client has seen since."""
    from chalicelib.broadcast import store
    from chalicelib.core import ids

    user, minted = subscribed[0], ids.id_time_ms(ids.new_id())
    monkeypatch.setattr(ids, "_generator", ids.IdGenerator(clock=lambda: minted + 20_000))
    seen = send([user], title="seen")["id"]
    monkeypatch.setattr(ids, "_generator", ids.IdGenerator(clock=lambda: minted + 5_000))
    on_time = broadcast(title="on time")  # minted and stored 15 s before `seen`: the client had it then
    monkeypatch.setattr(ids, "_generator", ids.IdGenerator(clock=lambda: minted))
    monkeypatch.setattr(store, "new_id", ids.IdGenerator(clock=lambda: minted + 30_000).new_id)  # stored 30 s on
    late = [broadcast(title="late 1"), broadcast(title="late 2")]
    monkeypatch.setattr(ids, "_generator", ids.IdGenerator())
    reader = token(user)
    assert on_time < seen and api.message_ids(reader, f"?after={seen}") == late  # not `on_time` again
    first = api.call("GET", f"/me/messages?after={seen}&limit=1", token=reader).json_body
    rest = api.call("GET", f"/me/messages?after={seen}&limit=1&cursor={first['nextCursor']}", token=reader).json_body
    assert [m["id"] for m in first["items"] + rest["items"]] == late
