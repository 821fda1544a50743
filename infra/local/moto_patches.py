"""A faster rollback for moto's TransactWriteItems, same semantics.

moto 5.2.5 backs up a transaction by deep-copying the *whole table once per
action* (``copy.deepcopy(self.tables[name])`` inside its loop): a 100-action
transaction on a table of N items costs 100 copies of N items and its whole
stream. A send to 1,000 receivers took ~94 s in a test. Real DynamoDB has no
such cost, so the emulator would distort every figure.

This patch keeps moto's own implementation and changes only how it backs up:
it snapshots just the items the transaction touches (and each table's stream
length) and restores those when moto rolls back. Tables are no longer copied.
Semantics are unchanged and checked by ``tests/test_moto_patches.py``:
a cancelled transaction leaves items and stream records as they were.
"""

from __future__ import annotations

import copy
import functools
import types
from typing import Any

from moto.dynamodb import models as dynamodb_models
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


def apply() -> None:
    """Install the patch once (idempotent)."""
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
