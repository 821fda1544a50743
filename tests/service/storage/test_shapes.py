"""chalicelib.storage.shapes: the JSON the API and the frames show of each stored item."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.core.ids import new_id
from chalicelib.sending.commands import Action, SendRequest
from chalicelib.sending.group_write import build_message
from chalicelib.storage.audience_tables import Subscription
from chalicelib.storage.inbox_tables import ARCHIVED, READ
from chalicelib.storage.shapes import answer_bytes, message_json, page_json, subscriber_json


def _request() -> SendRequest:
    return SendRequest(
        channel="deploys", receivers=["alice"], title="Deployed", content="ok", url="/r", duration=8,
        severity="critical", actions=(Action("Open", "/o"),),
    )  # fmt: skip


def test_a_message_shows_every_field_of_the_api() -> None:
    send_id = new_id()
    shown = message_json(build_message(_request(), "Deployments", send_id, "alice", datetime.now(UTC) + timedelta(days=1)))
    assert shown["id"] == send_id and shown["channelTitle"] == "Deployments"
    assert shown["actions"] == [{"label": "Open", "url": "/o"}] and shown["severity"] == "critical"
    assert (shown["status"], shown["seen"], shown["archived"], shown["readAt"]) == ("unread", False, False, None)
    assert shown["createdAt"].endswith("Z") and shown["duration"] == 8


def test_an_archived_copy_shows_the_sends_id_and_its_state() -> None:
    send_id = new_id()
    message = build_message(_request(), "Deployments", send_id, "alice", datetime.now(UTC))
    message.id = ARCHIVED + send_id
    message.set_status(READ, "2026-12-06T00:00:00.000Z")
    shown = message_json(message)
    assert (shown["id"], shown["archived"], shown["status"], shown["seen"]) == (send_id, True, "read", True)


def test_pages_and_subscribers() -> None:
    assert page_json([{"a": 1}], None) == {"items": [{"a": 1}], "nextCursor": None}
    since = new_id()
    shown = subscriber_json(Subscription("news", "bob", since=since))
    assert shown["userId"] == "bob" and shown["subscribedAt"].endswith("Z")


@given(st.recursive(st.text() | st.integers() | st.none(), lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner)))
def test_answer_bytes_is_the_size_of_the_body_carried_as_a_json_string(value: object) -> None:
    """Counted on one encoding, it equals the answer as Lambda carries it: JSON (non-ASCII escaped) inside JSON."""
    assert answer_bytes(value) == len(json.dumps(json.dumps(value, separators=(",", ":"))))
