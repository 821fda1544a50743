"""The emulator's Query reads one partition, as DynamoDB's does (answers unchanged).

moto 5.2 answers every Query from ``Table.all_items()``: a list of every item
of the table, *sorted* by primary key (O(N log N) Python comparisons of
``DynamoType`` values), then filtered to the queried partition. With one
user's 50,000 messages in the inbox table, any other user's one-item Query
cost ~0.6 s of the emulator's CPU: one heavy user slowed everyone's reads,
which DynamoDB (a Query reads one partition) never does. The abuse run
measured moto instead of the product.

During a Query, ``all_items`` here gives the queried partition's items only
(a base-table Query: moto keeps them under their hash key already). For a
global index, moto then still sorted every item of the queried key for
each page — mallory's 50,000 unread messages for each page of a bulk
change — so the Query is given only what its page can hold: the key's
items after the start key that meet the sort key's condition, the
``limit`` first in order and the one after them, found with a heap (moto
sorts those few by the index's keys itself; its page, its
``LastEvaluatedKey`` and its counts come out the same). Indexes of
several key attributes and legacy filters get every item, unsorted.
Scans and everything else keep moto's sorted list. ``tests/emulator/test_partitions.py`` runs the same Queries with and
without this and compares every answer.
"""

from __future__ import annotations

import heapq
import importlib
import threading
from dataclasses import dataclass
from typing import Any

table_models: Any = importlib.import_module("moto.dynamodb.models.table")
dynamo_type: Any = importlib.import_module("moto.dynamodb.models.dynamo_type")

_EVERY = object()  # an index Query moto answers from every item, in any order
_query_scope = threading.local()  # moto's server answers requests on several threads


@dataclass(frozen=True)
class _IndexQuery:
    """What an index Query asks, for the items it can answer with: its key conditions, start and limit."""

    index_name: str
    hash_attr: str
    hash_value: Any
    range_comparison: str | None
    range_objs: Any
    limit: int | None
    start: dict[str, Any] | None
    forward: bool


def _every(table: Any) -> list[Any]:
    if not table.range_key_attr:
        return list(table.items.values())
    return [item for items in table.items.values() for item in items.values()]


def _index_page(table: Any, query: _IndexQuery) -> list[Any] | None:
    """The items a global index's Query can answer with, in any order; None: answer from every item.

    Those of the queried key that come after the start key and meet the sort key's condition, the
    ``limit`` first in the query's order, and the item that follows them (moto then says there is more).
    moto sorts what it gets by the index's keys, the table's last, skips to the start key and stops at
    the limit: from these it gives the same page. Indexes of several key attributes are left to moto.
    """
    index = {i.name: i for i in table.global_indexes or []}.get(query.index_name)
    if index is None or not table.range_key_attr:
        return None
    hashes = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
    ranges = [k["AttributeName"] for k in index.schema if k["KeyType"] == "RANGE"]
    if hashes != [query.hash_attr] or len(ranges) > 1 or (query.range_comparison and not ranges):
        return None
    order = table._generate_attr_to_sort_by(
        [query.hash_attr, table.hash_key_attr], [ranges[0] if ranges else table.range_key_attr, table.range_key_attr]
    )
    found = []
    for item in _every(table):
        value = item.attrs.get(query.hash_attr)
        if value and value == query.hash_value and (not ranges or item.attrs.get(ranges[0])):
            found.append(item)

    def key(item: Any) -> tuple[Any, ...]:
        return tuple(item.attrs[name] for name in order)

    if query.start is not None:
        start = tuple(dynamo_type.DynamoType(query.start.get(name)) for name in order)
        found = [item for item in found if (key(item) > start if query.forward else key(item) < start)]
    meeting = found
    if query.range_comparison:
        meeting = [item for item in found if item.attrs[ranges[0]].compare(query.range_comparison, query.range_objs)]
    if query.limit is None or len(meeting) < query.limit:
        return meeting
    first = heapq.nsmallest if query.forward else heapq.nlargest
    page = first(query.limit, meeting, key=key)
    # moto says there is more when any item of the key follows the page's last, met condition or not: the first
    # such item makes it say so here too.
    last = key(page[-1])
    following = [item for item in found if (key(item) > last if query.forward else key(item) < last)]
    return page + first(1, following, key=key)


def _all_items(self: Any) -> list[Any]:
    partition = getattr(_query_scope, "partition", None)
    if partition is None:
        every: list[Any] = _ORIGINALS["all_items"](self)
        return every
    if isinstance(partition, _IndexQuery):
        page = _index_page(self, partition)
        return _every(self) if page is None else page
    if partition is _EVERY:
        return _every(self)
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
    _query_scope.partition = _scope(hash_key, range_comparison, range_objs, limit, exclusive_start_key,
                                    scan_index_forward, index_name, kwargs)  # fmt: skip
    try:
        return _ORIGINALS["query"](
            self, hash_key, range_comparison, range_objs, limit, exclusive_start_key, scan_index_forward,
            projection_expressions, index_name, *args, **kwargs,
        )  # fmt: skip
    finally:
        _query_scope.partition = None


def _scope(
    hash_key: Any, range_comparison: Any, range_objs: Any, limit: Any, start: Any, forward: Any, index: Any, kwargs: Any
) -> Any:
    """What ``all_items`` gives the Query: its partition, a global index's page, or every item."""
    if not index:
        return _EVERY if hash_key is None else hash_key
    hashes, ranges = kwargs.get("hash_key_conditions") or [], kwargs.get("range_key_conditions") or []
    plain = len(hashes) == 1 and len(ranges) <= 1 and set(kwargs) <= KEYWORDS
    if not plain or (limit is not None and not isinstance(limit, int)):
        return _EVERY
    return _IndexQuery(index, hashes[0][0], hashes[0][1], range_comparison, range_objs, limit, start, forward is not False)


KEYWORDS = {"consistent_read", "filter_expression", "hash_key_conditions", "range_key_conditions"}  # not legacy filters
_ORIGINALS = {"query": table_models.Table.query, "all_items": table_models.Table.all_items}


def apply() -> None:
    table_models.Table.query = _query
    table_models.Table.all_items = _all_items


def remove() -> None:
    table_models.Table.query = _ORIGINALS["query"]
    table_models.Table.all_items = _ORIGINALS["all_items"]
