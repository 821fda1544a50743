"""Batch reads and writes under DynamoDB's partial answers: every item, backoff between resends, bounded."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.core.errors import BusyError
from chalicelib.storage import batches
from chalicelib.storage.tables import Connection
from tests.faults import aws_answer, dynamodb_faults, hooked


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, float]]:
    """The backoff pauses taken (attempt, base), without sleeping."""
    taken: list[tuple[int, float]] = []
    monkeypatch.setattr(batches, "pause", lambda attempt, base: taken.append((attempt, base)))
    return taken


def _items(count: int) -> list[Connection]:
    expires = datetime.now(UTC) + timedelta(hours=1)
    return [Connection(f"conn#c{i:03d}", user_id=f"u{i}", connected_at=i, expires_at=expires) for i in range(count)]


def test_half_unprocessed_batches_write_and_read_every_item_with_growing_backoff(
    tables: None, pauses: list[tuple[int, float]]
) -> None:
    items = _items(60)
    with dynamodb_faults({"unprocessed": 1.0}) as injected:
        batches.write_batch(Connection, items, [])
        found = batches.read_batch(Connection, [item.pk for item in items])
        raw = batches.read_items(Connection, "pk", [item.pk for item in items])
    assert sorted(item.pk for item in found) == sorted(item.pk for item in items)
    assert sorted(r["pk"]["S"] for r in raw) == sorted(item.pk for item in items)
    assert sorted(c.pk for c in Connection.scan()) == sorted(item.pk for item in items)
    assert injected["unprocessed"] > 10
    # each resend of one batch waits longer: attempts 0, 1, 2, … of one base
    assert {base for _, base in pauses} == {batches.UNPROCESSED_BASE_SECONDS}
    assert max(attempt for attempt, _ in pauses) >= 3


class _NeverProcessed:
    """A BatchGetItem/BatchWriteItem ``before-call`` hook: every key or item unprocessed, as a throttled partition may."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, model: Any, params: dict[str, Any], **_: Any) -> Any:
        self.calls += 1
        if self.calls > 50:
            raise RuntimeError("unbounded: still resending after 50 calls")
        key = "UnprocessedKeys" if model.name == "BatchGetItem" else "UnprocessedItems"
        answer = {key: json.loads(params["body"])["RequestItems"], "ResponseMetadata": {"HTTPStatusCode": 200}}
        if model.name == "BatchGetItem":
            answer["Responses"] = {}
        return aws_answer(200, answer)


@pytest.mark.parametrize("operation", ["read", "write"])
def test_a_batch_never_processed_gives_up_as_busy_after_bounded_backoff(
    tables: None, pauses: list[tuple[int, float]], operation: str
) -> None:
    with hooked(_NeverProcessed(), "BatchGetItem", "BatchWriteItem") as hook, pytest.raises(BusyError):
        if operation == "read":
            batches.read_batch(Connection, ["conn#a", "conn#b"])
        else:
            batches.write_batch(Connection, _items(2), [])
    assert hook.calls == batches.UNPROCESSED_RETRIES + 1
    assert [attempt for attempt, _ in pauses] == list(range(batches.UNPROCESSED_RETRIES))
