"""Two patches to moto's TransactWriteItems: a faster rollback, and DynamoDB's token rule.

moto 5.2.5 backs up a transaction by deep-copying the *whole table once per
action* (``copy.deepcopy(self.tables[name])`` inside its loop): a 100-action
transaction on a table of N items costs 100 copies of N items and its whole
stream. A send to 1,000 receivers took ~94 s in a test. Real DynamoDB has no
such cost, so the emulator would distort every figure.

This patch keeps moto's own implementation and changes only how it backs up:
it snapshots just the items the transaction touches (and each table's stream
length) and restores those when moto rolls back. Tables are no longer copied.
Semantics are unchanged and checked by ``tests/emulator/test_patches.py``:
a cancelled transaction leaves items and stream records as they were.

moto also ignores ``ClientRequestToken``. Real DynamoDB remembers a token
for 10 minutes: the same token with the same parameters after a success
changes nothing and succeeds; with *any* other parameter it fails with
``IdempotentParameterMismatchException``. `TokenLedger` models that rule so
retries are tested against the service's behaviour, not moto's.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import threading
import time
import types
from collections.abc import Callable
from typing import Any

from moto.core.responses import ActionResult
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb import responses as dynamodb_responses
from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table

_real_deepcopy = copy.deepcopy


def _deepcopy_but_tables(value: Any, memo: Any = None) -> Any:
    # moto's loop "backs up" tables with this; our snapshot does the job instead.
    return value if isinstance(value, Table) else _real_deepcopy(value, memo)


def _key_of(table: Table, op_type: str, op: dict[str, Any]) -> tuple[DynamoType, DynamoType | None]:
    attrs = op["Item"] if op_type == "Put" else op["Key"]
    hash_value = DynamoType(attrs[table.hash_key_attr])
    range_value = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
    return hash_value, range_value


def _snapshot(backend: Any, transact_items: list[dict[str, Any]]) -> tuple[list[Any], dict[str, int]]:
    items = []
    streams: dict[str, int] = {}
    for action in transact_items:
        op_type, op = next(iter(action.items()))
        table = backend.tables.get(op.get("TableName"))
        if table is None or op_type == "ConditionCheck":
            continue
        try:
            hash_value, range_value = _key_of(table, op_type, op)
        except KeyError:
            continue  # moto itself will reject the malformed action
        current = table.get_item(hash_value, range_value)
        items.append((table, hash_value, range_value, _real_deepcopy(current)))
        if table.stream_shard is not None:
            streams.setdefault(table.name, len(table.stream_shard.items))
    return items, streams


def _restore(backend: Any, items: list[Any], streams: dict[str, int]) -> None:
    for table, hash_value, range_value, original in reversed(items):
        if range_value is None:
            if original is None:
                table.items.pop(hash_value, None)
            else:
                table.items[hash_value] = original
        elif original is None:
            table.items[hash_value].pop(range_value, None)
        else:
            table.items[hash_value][range_value] = original
    for name, length in streams.items():
        del backend.tables[name].stream_shard.items[length:]


TOKEN_LIFETIME_SECONDS = 600


class IdempotentParameterMismatch(DynamodbException):
    def __init__(self) -> None:
        super().__init__(
            ERROR_TYPE_PREFIX + "IdempotentParameterMismatchException",
            "The ClientRequestToken was used with different parameters within the last 10 minutes",
        )


class TokenLedger:
    """The tokens of successful TransactWriteItems calls in the last 10 minutes, and their parameters."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[str, float]] = {}

    @staticmethod
    def fingerprint(transact_items: Any) -> str:
        return hashlib.sha256(json.dumps(transact_items, sort_keys=True, default=repr).encode()).hexdigest()  # B values: bytes

    def replayed(self, token: str, fingerprint: str) -> bool:
        """True when this exact call already succeeded (answer success, change nothing); raises on a mismatch."""
        with self._lock:
            seen = self._seen.get(token)
            if seen is None or self._clock() - seen[1] >= TOKEN_LIFETIME_SECONDS:
                return False
            if seen[0] != fingerprint:
                raise IdempotentParameterMismatch()
            return True

    def remember(self, token: str, fingerprint: str) -> None:
        with self._lock:
            now = self._clock()
            self._seen = {t: s for t, s in self._seen.items() if now - s[1] < TOKEN_LIFETIME_SECONDS}
            self._seen[token] = (fingerprint, now)


LEDGER = TokenLedger()


def _apply_token_rule() -> None:
    handler_class = dynamodb_responses.DynamoHandler
    original = handler_class.transact_write_items
    if getattr(original, "_inapp_patched", False):
        return

    @functools.wraps(original)
    def transact_write_items(self: Any) -> ActionResult:
        token = self.body.get("ClientRequestToken")
        if token is None:
            return original(self)
        fingerprint = TokenLedger.fingerprint(self.body["TransactItems"])
        if LEDGER.replayed(token, fingerprint):
            return ActionResult({"ConsumedCapacity": [], "ItemCollectionMetrics": {}})
        result = original(self)
        LEDGER.remember(token, fingerprint)
        return result

    transact_write_items._inapp_patched = True  # type: ignore[attr-defined]
    handler_class.transact_write_items = transact_write_items  # type: ignore[method-assign]


def apply() -> None:
    """Install both patches once (idempotent)."""
    _apply_token_rule()
    backend_class = dynamodb_models.DynamoDBBackend
    original = backend_class.transact_write_items
    if getattr(original, "_inapp_patched", False):
        return
    dynamodb_models.copy = types.SimpleNamespace(deepcopy=_deepcopy_but_tables)  # type: ignore[assignment,attr-defined]

    @functools.wraps(original)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        if len(transact_items) > 100:
            return original(self, transact_items)
        items, streams = _snapshot(self, transact_items)
        try:
            original(self, transact_items)
        except Exception:
            _restore(self, items, streams)
            raise

    transact_write_items._inapp_patched = True  # type: ignore[attr-defined]
    backend_class.transact_write_items = transact_write_items  # type: ignore[method-assign]
