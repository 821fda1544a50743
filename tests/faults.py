"""Faults injected into the real code paths: a failing DynamoDB call, as AWS would answer it."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeVar

from chalicelib.storage import dynamo as storage
from infra.local.dynamodb_faults import DynamoFaults

WRITES = ("TransactWriteItems", "BatchWriteItem")
H = TypeVar("H")


def aws_answer(status: int, body: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """What a ``before-call`` hook returns to stand for DynamoDB's answer: botocore then parses ``body`` as it."""
    return (type("Http", (), {"status_code": status})(), body)


@contextmanager
def hooked(hook: H, *operations: str) -> Iterator[H]:
    """Within the block, ``hook`` runs before each DynamoDB call of ``operations`` (every call when none), every client."""
    events = [f"before-call.dynamodb.{operation}" for operation in operations] or ["before-call.dynamodb"]
    clients = storage.botocore_clients()
    for client in clients:
        for event in events:
            client.meta.events.register_first(event, hook)
    try:
        yield hook
    finally:
        for client in clients:
            for event in events:
                client.meta.events.unregister(event, hook)


class FailWrite:
    """A botocore ``before-call`` hook that fails the n-th multi-item write (a transaction or a batch)."""

    def __init__(self, fail_on: int) -> None:
        self.fail_on = fail_on
        self.seen = 0

    def __call__(self, model: Any, **_: Any) -> Any:
        if model.name not in WRITES:
            return None
        self.seen += 1
        if self.seen != self.fail_on:
            return None
        error = {
            "Error": {"Code": "InternalServerError", "Message": "injected"},
            "ResponseMetadata": {"HTTPStatusCode": 500},
        }
        return aws_answer(500, error)


def failing_write(fail_on: int) -> AbstractContextManager[FailWrite]:
    """Within the block, the ``fail_on``-th TransactWriteItems or BatchWriteItem answers a 500 (every model client)."""
    return hooked(FailWrite(fail_on), *WRITES)


class Throttle:
    """A ``before-call`` hook answering one operation with DynamoDB's throttling error (the first ``times`` calls)."""

    def __init__(self, operation: str, times: int | None = None) -> None:
        self.operation = operation
        self.times = times
        self.calls = 0

    def __call__(self, model: Any, **_: Any) -> Any:
        if model.name != self.operation or (self.times is not None and self.calls >= self.times):
            return None
        self.calls += 1
        error = {
            "Error": {"Code": "ProvisionedThroughputExceededException", "Message": "injected"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }
        return aws_answer(400, error)


def throttled(operation: str, times: int | None = None) -> AbstractContextManager[Throttle]:
    return hooked(Throttle(operation, times), operation)


@contextmanager
def dynamodb_faults(shares: dict[str, float], hot_key_units: float = 0.0, seed: int = 7) -> Iterator[Counter[str]]:
    """Within the block, the local stack's DynamoDB faults (partial batches, conflicts, hot keys) on every model client.

    Yields what was injected, by kind.
    """
    draw = random.Random(seed)
    injected: Counter[str] = Counter()

    def tally(name: str, hit: bool) -> None:
        injected[name] += hit

    def hit(name: str) -> bool:
        drawn = draw.random() < shares.get(name, 0.0)
        tally(name, drawn)
        return drawn

    faults = DynamoFaults(hit, tally, hot_key_units)
    clients = storage.botocore_clients()
    faults.install(clients)
    try:
        yield injected
    finally:
        faults.uninstall(clients)
