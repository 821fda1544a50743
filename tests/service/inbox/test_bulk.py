"""Bulk changes (mark all read, seen, archive) are bounded per request: ``{updated, more}``, then call again."""

from __future__ import annotations

from collections import Counter
from itertools import chain
from typing import Any

import pytest

from chalicelib import service, storage
from chalicelib.storage import ARCHIVED, READ, UNREAD
from tests.conftest import Api, SendFactory, TokenFactory, assert_counts_exact, inbox_items, write_unread
from tests.events import StreamTap

LIMIT = 7


@pytest.fixture
def limit(api: Api, monkeypatch: pytest.MonkeyPatch) -> int:
    """``INAPP_BULK_LIMIT`` lowered to a few messages, so that a test need not write thousands."""
    monkeypatch.setenv("INAPP_BULK_LIMIT", str(LIMIT))
    service.reset()
    return LIMIT


def _until_done(api: Api, token: str, action: str, body: dict[str, Any]) -> list[tuple[int, bool]]:
    """The same request again while it answers ``more``: each answer's ``(updated, more)``."""
    answers: list[tuple[int, bool]] = []
    while not answers or answers[-1][1]:
        assert len(answers) < 10, answers
        response = api.call("POST", f"/me/messages/{action}", token=token, json_body=body)
        assert response.status_code == 200, response.json_body
        answers.append((response.json_body["updated"], response.json_body["more"]))
    return answers


def _changes(tap: StreamTap) -> Counter[tuple[str, str]]:
    """What the stream recorded since the last look, by event and message key."""
    return Counter((r["eventName"], r["dynamodb"]["Keys"]["id"]["S"]) for r in tap.batch()["Records"])


@pytest.mark.parametrize("action", ["read", "seen", "archive"])
def test_past_the_limit_one_request_changes_some_and_answers_more(
    api: Api, channel: str, send: SendFactory, token: TokenFactory, limit: int, action: str
) -> None:
    sent = [send(["alice"], title=f"m{i}")["id"] for i in range(limit + 3)]
    response = api.call("POST", f"/me/messages/{action}", token=token("alice"), json_body={})
    assert response.json_body == {"updated": limit, "more": True}
    items = inbox_items("alice")
    changed = {
        "read": [m for m in items if m.status == READ],
        "seen": [m for m in items if m.seen_at],
        "archive": [m for m in items if m.id.startswith(ARCHIVED)],
    }[action]
    assert len(changed) == limit < len(sent)
    assert_counts_exact("alice")


@pytest.mark.parametrize("action", ["read", "seen", "archive"])
def test_repeating_until_no_more_changes_every_message_exactly_once(
    api: Api, channel: str, send: SendFactory, token: TokenFactory, stream: StreamTap, limit: int, action: str
) -> None:
    sent = [send(["alice"], title=f"m{i}")["id"] for i in range(2 * limit + 1)]
    _changes(stream)  # the sends
    assert _until_done(api, token("alice"), action, {}) == [(limit, True), (limit, True), (1, False)]
    expected = {
        "read": {("MODIFY", i): 1 for i in sent},
        "seen": {("MODIFY", i): 1 for i in sent},
        "archive": {**{("REMOVE", i): 1 for i in sent}, **{("INSERT", ARCHIVED + i): 1 for i in sent}},
    }[action]
    assert _changes(stream) == expected
    unread = 0 if action in ("read", "archive") else len(sent)
    assert api.unread_count(token("alice"))["total"] == unread
    assert_counts_exact("alice")


def test_exactly_the_limit_left_is_done_in_one_request_with_no_more(
    api: Api, channel: str, send: SendFactory, token: TokenFactory, limit: int
) -> None:
    """``more`` says what is left, not that the limit was reached: no empty extra call."""
    for i in range(2 * limit):
        send(["alice"], title=f"m{i}")
    assert _until_done(api, token("alice"), "read", {}) == [(limit, True), (limit, False)]
    assert {m.status for m in inbox_items("alice")} == {READ}


@pytest.mark.parametrize(
    ("action", "body", "left"),
    [
        ("read", {"channel": "news"}, lambda m: m.status == UNREAD),
        ("seen", {"channel": "news"}, lambda m: m.seen_at is None),
        ("archive", {"channel": "news", "status": "read"}, lambda m: not m.id.startswith(ARCHIVED)),
    ],
)
def test_a_scoped_bulk_change_continues_within_its_scope_only(
    api: Api, ops: str, send: SendFactory, token: TokenFactory, limit: int, action: str, body: dict[str, Any], left: Any
) -> None:
    alice = token("alice")
    news = [send(["alice"], title=f"n{i}")["id"] for i in range(limit + 2)]
    others = [send(["alice"], channel="ops", title=f"o{i}")["id"] for i in range(3)]
    unread_news = news.pop()  # archiving `status: read` leaves an unread message where it is
    for message_id in [*news, *others] if action == "archive" else []:
        api.change_message(alice, message_id, {"status": "read"})
    assert _until_done(api, alice, action, body) == [(limit, True), (len(news) + 1 - limit - (action == "archive"), False)]
    untouched = {m.message_id for m in inbox_items("alice") if left(m)}
    assert untouched == ({unread_news, *others} if action == "archive" else set(others))
    assert_counts_exact("alice")


def test_messages_changed_meanwhile_are_passed_over_without_using_up_the_limit(
    api: Api, channel: str, send: SendFactory, token: TokenFactory, limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An index lags its table (a GSI is eventually consistent): what it still lists as unread is refused by the
    write's condition and not counted, and the request goes on to messages it can change."""
    from chalicelib.inbox import states

    alice = token("alice")
    sent = [send(["alice"], title=f"m{i}")["id"] for i in range(limit + 3)]
    stale = [m for m in inbox_items("alice") if m.message_id in sent[:3]]  # as the index last saw them: unread
    for message_id in sent[:3]:
        api.change_message(alice, message_id, {"status": "read"})
    real_source = states.source

    class Lagging:
        def __init__(self, index: Any) -> None:
            self.index = index

        def query(self, *args: Any, **kwargs: Any) -> Any:
            return chain(stale, self.index.query(*args, **kwargs))

    def lagging_source(*args: Any) -> tuple[Any, str]:
        index, hash_value = real_source(*args)
        return Lagging(index), hash_value

    monkeypatch.setattr(states, "source", lagging_source)
    assert api.call("POST", "/me/messages/read", token=alice, json_body={}).json_body == {"updated": limit, "more": False}
    assert {m.status for m in inbox_items("alice")} == {READ}
    assert_counts_exact("alice")


def test_large_messages_end_a_request_at_its_write_units_before_the_limit(api: Api, token: TokenFactory) -> None:
    """Each write costs 2 units per started KB: the request's unit budget, not only the count, bounds its time."""
    from chalicelib.inbox import bulk

    write_unread("alice", 300, content="x" * 15_000)  # under the 16 KiB a send takes
    per_transaction = storage.transaction_units(inbox_items("alice")[:99])  # 99 reads of ~16 KB (and the counts): 3,168 units
    assert per_transaction <= bulk.BULK_UNITS_PER_REQUEST < 2 * per_transaction
    assert _until_done(api, token("alice"), "read", {}) == [(99, True), (99, True), (102, False)]  # the last 3 fit the units
    assert_counts_exact("alice")


def test_a_message_changed_meanwhile_that_still_needs_the_change_is_read_again_and_changed(
    api: Api, channel: str, send: SendFactory, token: TokenFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each write is conditioned on the state its counts' delta was computed from (status and seen): one seen by
    another device after the index listed it is refused, read again, and read from what it is now."""
    from chalicelib.inbox import states

    alice = token("alice")
    for i in range(3):
        send(["alice"], title=f"m{i}")
    stale = inbox_items("alice")  # as the index listed them: unseen
    assert api.call("POST", "/me/messages/seen", token=alice, json_body={}).json_body == {"updated": 3, "more": False}

    class Lagging:
        def query(self, *args: Any, **kwargs: Any) -> Any:
            return iter(stale)

    monkeypatch.setattr(states, "source", lambda *args: (Lagging(), "alice#unread"))
    api.counts.catch_up()
    api.settle_counts = False
    assert api.call("POST", "/me/messages/read", token=alice, json_body={}).json_body == {"updated": 3, "more": False}
    assert {m.status for m in inbox_items("alice")} == {READ}
    assert api.unread_count(alice) == {"total": 0, "unseen": 0, "channels": {}}
    assert_counts_exact("alice")
