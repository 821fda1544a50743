"""chalicelib.sending.idempotency: the first answer to (caller, Idempotency-Key) is kept, retries reuse it, conflicts are 409."""

from __future__ import annotations

import time
from typing import Any

import pytest

from chalicelib.api.send_body import body_hash
from chalicelib.core.ids import new_id
from chalicelib.sending import idempotency
from chalicelib.storage.tables import IdempotencyRecord
from tests.conftest import Api, TokenFactory, assert_counts_exact, inbox_items
from tests.events import send_body


def test_same_key_and_body_returns_the_first_answer_once_stored(api: Api, admin_token: str, channel: str) -> None:
    first = api.send_message(admin_token, send_body(receivers=["u1", "u2"]), key="k-1")
    second = api.send_message(admin_token, send_body(receivers=["u1", "u2"]), key="k-1")
    assert first.status_code == second.status_code == 202
    assert first.json_body == second.json_body
    assert len(inbox_items("u1")) == len(inbox_items("u2")) == 1
    assert_counts_exact("u1", "u2")


def test_same_key_other_body_is_409(api: Api, admin_token: str, channel: str) -> None:
    api.send_message(admin_token, send_body(), key="k-2")
    response = api.send_message(admin_token, send_body(title="Different"), key="k-2")
    assert response.status_code == 409
    assert response.json_body["Message"] == "Idempotency-Key: was already used with a different body"
    assert [m.title for m in inbox_items("u1")] == ["Hello"]


def test_scope_and_key_cannot_spell_another_pair(api: Api, token: TokenFactory, channel: str) -> None:
    """``ops`` + ``team#k1`` and ``ops#team`` + ``k1`` once made the same record key."""
    assert api.send_message(token("ops", admin=True), send_body(), key="team#k1").status_code == 202
    second = api.send_message(token("ops#team", admin=True), send_body(title="Other body"), key="k1")
    assert second.status_code == 202
    assert sorted(m.title for m in inbox_items("u1")) == ["Hello", "Other body"]


def test_a_claim_whose_record_vanishes_is_retried_not_a_500(
    api: Api, admin_token: str, channel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The record is deleted between our refused put and our read: claim again instead of failing."""
    idempotency.claim("user:admin-1", "k-race", body_hash(send_body()), [new_id()])
    real_get = IdempotencyRecord.get
    calls = []

    def get_after_delete(*args: Any, **kwargs: Any) -> IdempotencyRecord:
        if not calls:
            calls.append(1)
            IdempotencyRecord(idempotency.key_of("user:admin-1", "k-race")).delete()
        return real_get(*args, **kwargs)

    monkeypatch.setattr(IdempotencyRecord, "get", get_after_delete)
    response = api.send_message(admin_token, send_body(), key="k-race")
    assert response.status_code == 202
    assert [m.id for m in inbox_items("u1")] == [response.json_body["id"]]


def test_keys_are_scoped_to_the_caller(api: Api, token: TokenFactory, channel: str) -> None:
    for admin in ("admin-a", "admin-b"):
        assert api.send_message(token(admin, admin=True), send_body(), key="shared").status_code == 202
    assert len(inbox_items("u1")) == 2


def test_key_while_first_request_runs_is_409(api: Api, admin_token: str, channel: str) -> None:
    idempotency.claim("user:admin-1", "k-3", body_hash(send_body()), [new_id()])
    response = api.send_message(admin_token, send_body(), key="k-3")
    assert response.status_code == 409
    assert response.json_body["Message"] == "Idempotency-Key: a request with this key is still running"
    assert inbox_items("u1") == []


def test_abandoned_claim_is_taken_over_after_its_lease(
    api: Api, admin_token: str, channel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    claimed = idempotency.claim("user:admin-1", "k-4", body_hash(send_body()), [new_id()])
    later = time.time() + idempotency.LEASE_SECONDS + 1
    monkeypatch.setattr(time, "time", lambda: later)
    response = api.send_message(admin_token, send_body(), key="k-4")
    assert response.status_code == 202
    assert response.json_body["id"] == claimed.send_ids[0]


def test_bad_idempotency_key_is_400(api: Api, admin_token: str, channel: str) -> None:
    response = api.send_message(admin_token, send_body(), key="k" * 256)
    assert response.json_body["Message"] == "Idempotency-Key: must be 1 to 255 printable ASCII characters"


def test_unknown_channel_frees_the_key(api: Api, admin_token: str, channel: str) -> None:
    assert api.send_message(admin_token, send_body(channel="later"), key="k-5").status_code == 404
    api.call("POST", "/channels", token=admin_token, json_body={"name": "later", "title": "Later"})
    assert api.send_message(admin_token, send_body(channel="later"), key="k-5").status_code == 202
