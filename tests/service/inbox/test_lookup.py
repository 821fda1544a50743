"""One message by id: the user's own item (live, archived, snoozed), a broadcast they hold, or 404 for anything else."""

from __future__ import annotations

import pytest

from chalicelib import service
from chalicelib.core.errors import NotFoundError
from chalicelib.inbox.lookup import find_message, find_to_change
from chalicelib.storage.inbox_tables import InboxMessage
from tests.conftest import Api, SendFactory, TokenFactory


def test_the_users_own_message_is_found_live_or_archived_and_no_one_elses(
    api: Api, channel: str, send: SendFactory, token: TokenFactory
) -> None:
    message_id = send(["alice"])["id"]
    assert find_message("alice", message_id).id == message_id
    api.change_message(token("alice"), message_id, {"archived": True})
    assert find_message("alice", message_id).archived
    other = message_id[:-1] + ("B" if message_id[-1] == "A" else "A")
    for user, wanted in (("bob", message_id), ("alice", "not-an-id"), ("alice", other)):
        with pytest.raises(NotFoundError, match=f"message_id: message '{wanted}' not found"):
            find_message(user, wanted)


def test_a_held_broadcast_is_shown_without_a_write_and_copied_once_to_change_it(
    api: Api, admin_token: str, channel: str, token: TokenFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INAPP_BROADCAST_THRESHOLD", "0")
    service.reset()
    api.call("POST", "/channels/news/subscribers", token=admin_token, json_body={"add": ["alice"]})
    body = {"channel": "news", "audience": "subscribers", "title": "All"}
    message_id = api.call("POST", "/messages", token=admin_token, json_body=body).json_body["id"]
    assert (find_message("alice", message_id).title, list(InboxMessage.query("alice"))) == ("All", [])
    copy = find_to_change("alice", message_id)
    assert (copy.id, copy.copied_at is not None) == (message_id, True)
    assert find_to_change("alice", message_id).counted == copy.counted  # found, not written again
    assert [m.id for m in InboxMessage.query("alice")] == [message_id]
    with pytest.raises(NotFoundError):
        find_to_change("bob", message_id)
