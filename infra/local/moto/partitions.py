"""The emulator's Query reads one partition, as DynamoDB's does (answers unchanged).

moto 5.2 answers every Query from ``Table.all_items()``: a list of every item
of the table, *sorted* by primary key (O(N log N) Python comparisons of
``DynamoType`` values), then filtered to the queried partition. With one
user's 50,000 messages in the inbox table, any other user's one-item Query
cost ~0.6 s of the emulator's CPU: one heavy user slowed everyone's reads,
which DynamoDB (a Query reads one partition) never does. The abuse run
measured moto instead of the product.

During a Query, ``all_items`` here gives the queried partition's items only
(a base-table Query: moto keeps them under their hash key already) or every
item unsorted (an index Query: moto filters them by the index's key and
sorts the matches by the index's keys, table keys last, so the order it
started from never shows). Scans and everything else keep moto's sorted
list. ``tests/emulator/test_partitions.py`` runs the same Queries with and
without this and compares every answer.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

table_models: Any = importlib.import_module("moto.dynamodb.models.table")

_EVERY = object()  # an index Query: every item, in any order
_query_scope = threading.local()  # moto's server answers requests on several threads


def _all_items(self: Any) -> list[Any]:
    partition = getattr(_query_scope, "partition", None)
    if partition is None:
        every: list[Any] = _ORIGINALS["all_items"](self)
        return every
    if partition is _EVERY:
        if not self.range_key_attr:
            return list(self.items.values())
        return [item for items in self.items.values() for item in items.values()]
    found = self.items.get(partition)
    if found is None:
        return []
    return list(found.values()) if self.range_key_attr else [found]


def _query(
    self: Any,
    hash_key: Any,
    range_comparison: Any,
    range_objs: Any,
    limit: Any,
    exclusive_start_key: Any,
    scan_index_forward: Any,
    projection_expressions: Any,
    index_name: str | None = None,
    *args: Any,
    **kwargs: Any,
) -> Any:
    _query_scope.partition = _EVERY if index_name or hash_key is None else hash_key
    try:
        return _ORIGINALS["query"](
            self, hash_key, range_comparison, range_objs, limit, exclusive_start_key, scan_index_forward,
            projection_expressions, index_name, *args, **kwargs,
        )  # fmt: skip
    finally:
        _query_scope.partition = None


_ORIGINALS = {"query": table_models.Table.query, "all_items": table_models.Table.all_items}


def apply() -> None:
    table_models.Table.query = _query
    table_models.Table.all_items = _all_items


def remove() -> None:
    table_models.Table.query = _ORIGINALS["query"]
    table_models.Table.all_items = _ORIGINALS["all_items"]
