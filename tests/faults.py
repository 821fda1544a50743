"""Faults injected into the real code paths: a failing DynamoDB call, as AWS would answer it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from chalicelib import storage

EVENT = "before-call.dynamodb.TransactWriteItems"


class FailTransaction:
    """A botocore ``before-call`` hook that fails the n-th TransactWriteItems."""

    def __init__(self, fail_on: int) -> None:
        self.fail_on = fail_on
        self.seen = 0

    def __call__(self, model: Any, **_: Any) -> Any:
        if model.name != "TransactWriteItems":
            return None
        self.seen += 1
        if self.seen != self.fail_on:
            return None
        error = {
            "Error": {"Code": "InternalServerError", "Message": "injected"},
            "ResponseMetadata": {"HTTPStatusCode": 500},
        }
        return (type("Http", (), {"status_code": 500})(), error)


@contextmanager
def failing_transaction(fail_on: int) -> Iterator[FailTransaction]:
    """Within the block, the ``fail_on``-th TransactWriteItems answers a 500 (every client of the models)."""
    failing = FailTransaction(fail_on)
    clients = storage.botocore_clients()
    for client in clients:
        client.meta.events.register_first(EVENT, failing)
    try:
        yield failing
    finally:
        for client in clients:
            client.meta.events.unregister(EVENT, failing)
