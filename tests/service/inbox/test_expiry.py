"""chalicelib.inbox.expiry: a message past its expiry is never counted, whether or not TTL has deleted it yet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.core import ids
from chalicelib.core.clock import iso
from chalicelib.storage.inbox_tables import InboxMessage
from tests.conftest import Api, CallCounter, SendFactory, TokenFactory, assert_counts_exact, assert_error

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
    assert dynamodb_calls.calls == {"BatchGetItem": 1, "Query": 1}  # within the two calls unread-count may make


# --- an expiry of the message's own (the send's expiresAt) -----------------------------------


@pytest.fixture
def travel(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Move the app's clock (where it reads "now" to leave expired messages out) ahead by ``delta``."""
    from chalicelib.broadcast import views
    from chalicelib.inbox import expiry, lookup, queries

    def _travel(delta: timedelta) -> None:
        moment = datetime.now(UTC) + delta
        for module in (expiry, queries, lookup, views):
            monkeypatch.setattr(module, "utc_now", lambda: moment)

    return _travel


def _ahead(**delta: float) -> str:
    return iso(datetime.now(UTC) + timedelta(**delta))


def test_a_message_past_its_own_expiry_is_gone_from_every_list_and_count_for_everyone(
    api: Api, channel: str, send: SendFactory, token: TokenFactory, travel: Any
) -> None:
    expires = _ahead(minutes=2)
    short = send(["alice", "bob"], title="flash sale", expiresAt=expires, tags=["sale"])["id"]
    kept = send(["alice", "bob"], title="stays")["id"]
    alice, bob = token("alice"), token("bob")
    assert api.call("GET", f"/me/messages/{short}", token=alice).json_body["expiresAt"] == expires
    (stored,) = [m for m in InboxMessage.query("alice") if m.id == short]
    # TTL deletes it then (whole seconds, rounded up), not after the retention.
    assert stored.expires_at - datetime.fromisoformat(expires) < timedelta(seconds=1)
    assert api.unread_count(alice)["total"] == 2
    travel(timedelta(minutes=3))
    for user in (alice, bob):
        for query in ("", "?status=unread", "?channel=news", "?tag=sale", f"?after={kept}"):
            assert short not in [m["id"] for m in api.call("GET", f"/me/messages{query}", token=user).json_body["items"]]
        assert api.call("GET", f"/me/messages/{short}", token=user).status_code == 404
        assert api.unread_count(user) == {"total": 1, "unseen": 1, "channels": {"news": 1}}
        (news,) = api.call("GET", "/me/channels", token=user).json_body["items"]
        assert (news["total"], news["latest"]["id"]) == (1, kept)
    assert [m.message_id for m in InboxMessage.query("alice", InboxMessage.id < "a")] == [kept]  # deleted when found
    assert_counts_exact("alice", "bob")


def test_counting_looks_for_own_expiries_only_while_the_user_has_some(
    api: Api, channel: str, send: SendFactory, token: TokenFactory, dynamodb_calls: CallCounter
) -> None:
    send(["u1"], expiresAt=_ahead(hours=1))
    api.counts.catch_up()
    api.settle_counts = False
    dynamodb_calls.reset()
    api.unread_count(token("u1"))
    assert dynamodb_calls.calls == {"BatchGetItem": 1, "Query": 2}  # the retention's Query, and the entries due by now
    dynamodb_calls.reset()
    api.unread_count(token("u2"))  # no message with an expiry of its own: as before
    assert dynamodb_calls.calls == {"BatchGetItem": 1, "Query": 1}


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("2001-01-01T00:00:00Z", "must be from 1 minute to 3650 days ahead"),
        ("in a minute", "must be an ISO 8601 time with a time zone, e.g. 2030-01-01T09:00:00Z"),
        ("2030-01-01T00:00:00", "must be an ISO 8601 time with a time zone, e.g. 2030-01-01T09:00:00Z"),
        (12, "must be an ISO 8601 time with a time zone, e.g. 2030-01-01T09:00:00Z"),
    ],
)
def test_a_bad_expiry_is_refused_naming_the_field_and_nothing_is_stored(
    api: Api, admin_token: str, channel: str, value: Any, problem: str
) -> None:
    body = {"channel": "news", "receivers": ["u1"], "title": "t", "expiresAt": value}
    assert_error(api.call("POST", "/messages", token=admin_token, json_body=body), 400, f"expiresAt: {problem}")
    assert list(InboxMessage.query("u1")) == []


def test_an_expiry_past_the_retention_is_refused_by_the_send_and_its_preview(api: Api, admin_token: str, channel: str) -> None:
    body = {"channel": "news", "receivers": ["u1"], "title": "t", "expiresAt": _ahead(days=400)}
    for path in ("/messages", "/messages/preview"):  # the preview answers the send's very error (found by the console)
        answer = api.call("POST", path, token=admin_token, json_body=body)
        assert_error(answer, 400, "expiresAt: must be at most 365 days ahead (the retention)")
    assert list(InboxMessage.query("u1")) == []
