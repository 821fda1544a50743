"""chalicelib.inbox.expiry: a message past its expiry is never counted, whether or not TTL has deleted it yet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.core import ids
from chalicelib.storage.inbox_tables import InboxMessage
from tests.conftest import Api, CallCounter, SendFactory, TokenFactory

RETENTION = timedelta(days=365)  # the default INAPP_RETENTION_DAYS


def test_a_message_past_its_retention_is_never_counted_and_is_deleted_when_found(
    api: Api, channel: str, send: SendFactory, token: TokenFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by review: the counts held such messages until TTL deleted them (within days), though no list shows them."""
    today = ids._generator
    then = datetime.now(UTC) - RETENTION - timedelta(days=1)
    monkeypatch.setattr(ids, "_generator", ids.IdGenerator(clock=lambda: int(then.timestamp() * 1000)))
    old = send(["u1"], title="a year old")["id"]  # as a send of a year ago stored it
    (stored,) = InboxMessage.query("u1")
    assert stored.expires_at is not None and stored.expires_at < datetime.now(UTC)  # expired, not yet deleted
    monkeypatch.setattr(ids, "_generator", today)
    kept = send(["u1"], title="today")["id"]
    one = {"total": 1, "unseen": 1, "channels": {"news": 1}}
    assert api.unread_count(token("u1")) == one
    (news,) = api.call("GET", "/me/channels", token=token("u1")).json_body["items"]
    assert (news["total"], news["unread"], news["latest"]["id"]) == (1, 1, kept)
    assert [m.message_id for m in InboxMessage.query("u1")] == [kept]  # deleted, as TTL would
    api.counts.catch_up()  # its REMOVE record: the stored counts follow, and so does every tab's badge
    api.settle_counts = False
    assert api.unread_count(token("u1")) == one
    assert old != kept


def test_counting_looks_for_the_expired_with_one_query_on_the_key(
    api: Api, channel: str, send: SendFactory, token: TokenFactory, dynamodb_calls: CallCounter
) -> None:
    send(["u1"])
    api.counts.catch_up()
    api.settle_counts = False
    dynamodb_calls.reset()
    api.unread_count(token("u1"))
    assert dynamodb_calls.calls == {"GetItem": 1, "Query": 1}  # within the two calls unread-count may make
