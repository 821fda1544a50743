"""chalicelib.sending.commands: what a send stores of itself, on the inbox items and the send log alike."""

from __future__ import annotations

import json

from chalicelib.sending.commands import Action, SendRequest


def test_the_stored_fields_carry_the_actions_as_compact_json() -> None:
    request = SendRequest(
        channel="deploys", receivers=["a"], title="T", content="C", url="/r", duration=5,
        severity="high", actions=(Action("Open", "/o"), Action("Ack", "/a")),
    )  # fmt: skip
    stored = request.stored_fields()
    assert stored["actions"] == '[{"label":"Open","url":"/o"},{"label":"Ack","url":"/a"}]'
    assert json.loads(stored["actions"])[1] == {"label": "Ack", "url": "/a"}
    assert {k: stored[k] for k in ("channel", "title", "content", "url", "duration", "severity")} == {
        "channel": "deploys", "title": "T", "content": "C", "url": "/r", "duration": 5, "severity": "high"
    }  # fmt: skip


def test_no_actions_are_stored_as_none() -> None:
    assert SendRequest(channel="c", receivers=["a"], title="T", content="", url=None, duration=0).actions_json() is None
