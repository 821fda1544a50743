"""The emulator's Query reads one partition, as DynamoDB's does (answers unchanged).

moto 5.2 answers every Query from ``Table.all_items()``: a list of every item
of the table, *sorted* by primary key (O(N log N) Python comparisons of
``DynamoType`` values), then filtered to the queried partition. With one
user's 50,000 messages in the inbox table, any other user's one-item Query
cost ~0.6 s of the emulator's CPU: one heavy user slowed everyone's reads,
which DynamoDB (a Query reads one partition) never does. The abuse run
measured moto instead of the product.

During a Query, ``all_items`` here gives the queried partition's items only
(a base-table Query: moto keeps them under their hash key already). moto
then still sorted every item of the queried key for each page — mallory's
50,000 messages for each page of her `GET /me/messages?limit=100` flood,
her 50,000 unread messages for each page of a bulk change — so a Query
with a ``limit``, of the table or of a global index, is given only what
its page can hold: the key's
items after the start key that meet the sort key's condition, the
``limit`` first in order and the one after them, found with a heap (moto
sorts those few by the index's keys itself; its page, its
``LastEvaluatedKey`` and its counts come out the same). Indexes of
several key attributes and legacy filters get every item, unsorted.
Scans and everything else keep moto's sorted list. ``tests/emulator/test_partitions.py`` runs the same Queries with and
without this and compares every answer.
"""

from __future__ import annotations

import gc
import heapq
import importlib
import threading
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from infra.local.moto import ordered
from infra.local.moto.ordered import plain

table_models: Any = importlib.import_module("moto.dynamodb.models.table")
dynamo_type: Any = importlib.import_module("moto.dynamodb.models.dynamo_type")
comparisons: Any = importlib.import_module("moto.dynamodb.comparisons")

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


@dataclass(frozen=True)
class _TableQuery:
    """What a base-table Query with a ``limit`` asks: its partition, the sort key's condition, start and limit."""

    hash_value: Any
    range_comparison: str | None
    range_objs: Any
    limit: int
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
    wanted = (query.hash_value.type, plain(query.hash_value))
    found = []
    for item in _every(table):
        value = item.attrs.get(query.hash_attr)
        if value and (value.type, plain(value)) == wanted and (not ranges or item.attrs.get(ranges[0])):
            found.append((tuple(plain(item.attrs[name]) for name in order), item))
    start = None if query.start is None else tuple(dynamo_type.DynamoType(query.start.get(name)).cast_value for name in order)
    position = order.index(ranges[0]) if ranges else None
    return _page(found, start, position, query.range_comparison, query.range_objs, query.limit, query.forward)


def _table_page(table: Any, query: _TableQuery) -> list[Any]:
    """The items of a base-table Query's partition its page can answer with, in any order (as `_index_page`): found
    in the partition's kept order; a partition without one (a table made before `apply`) is given whole."""
    found = table.items.get(query.hash_value)
    if found is None:
        return []
    if not table.range_key_attr:
        return [found]
    if isinstance(found, ordered.Partition):
        start = None if query.start is None else dynamo_type.DynamoType(query.start.get(table.range_key_attr))
        page = found.page(query.range_comparison, query.range_objs, start, query.limit, query.forward)
        if page is not None:
            return page
    return list(found.values())


def _page(
    keyed: list[tuple[tuple[Any, ...], Any]],
    start: tuple[Any, ...] | None,
    position: int | None,
    comparison: str | None,
    objs: Any,
    limit: int | None,
    forward: bool,
) -> list[Any]:
    """Of the key's items, each with its sort key as plain values (moto orders ``DynamoType`` by them too, but
    one Python call per comparison: ~1 s for a page of a 50,000-item partition), those after ``start`` meeting
    the sort key's condition (at ``position`` of the key) that a page of ``limit`` holds, in any order, and the
    item after them that tells moto there is more."""
    if start is not None:
        keyed = [pair for pair in keyed if (pair[0] > start if forward else pair[0] < start)]
    meeting = keyed
    if comparison and position is not None:  # an index without a sort key takes no condition (checked before)
        meets = comparisons.get_comparison_func(comparison)
        values = [obj.cast_value for obj in objs]
        meeting = [pair for pair in keyed if meets(pair[0][position], *values)]
    if limit is None or len(meeting) < limit:
        return [item for _, item in meeting]
    first = heapq.nsmallest if forward else heapq.nlargest
    page = first(limit, meeting, key=_sort_key)
    # moto says there is more when any item of the key follows the page's last, met condition or not: the first
    # such item makes it say so here too.
    last = page[-1][0]
    following = [pair for pair in keyed if (pair[0] > last if forward else pair[0] < last)]
    return [item for _, item in page + first(1, following, key=_sort_key)]


def _sort_key(pair: tuple[tuple[Any, ...], Any]) -> tuple[Any, ...]:
    return pair[0]


def _all_items(self: Any) -> list[Any]:
    """``Table.all_items`` during a Query: what ``_query_scope`` says it may answer from.

    Building a page makes a tuple per item of the key and no reference cycle: the garbage collector, whose
    every pass walks the whole emulator (each of a 50,000-item table's items), is held off meanwhile — with
    it, a page of 100 of one partition's 50,000 items took 350 ms; without, 110 ms.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _answerable(self)
    finally:
        if collecting:
            gc.enable()


def _answerable(self: Any) -> list[Any]:
    partition = getattr(_query_scope, "partition", None)
    if partition is None:
        every: list[Any] = _ORIGINALS["all_items"](self)
        return every
    if isinstance(partition, _IndexQuery):
        page = _index_page(self, partition)
        return _every(self) if page is None else page
    if isinstance(partition, _TableQuery):
        return _table_page(self, partition)
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
        if hash_key is None:
            return _EVERY
        if isinstance(limit, int) and set(kwargs) <= KEYWORDS:
            return _TableQuery(hash_key, range_comparison, range_objs, limit, start, forward is not False)
        return hash_key
    hashes, ranges = kwargs.get("hash_key_conditions") or [], kwargs.get("range_key_conditions") or []
    plain = len(hashes) == 1 and len(ranges) <= 1 and set(kwargs) <= KEYWORDS
    if not plain or (limit is not None and not isinstance(limit, int)):
        return _EVERY
    return _IndexQuery(index, hashes[0][0], hashes[0][1], range_comparison, range_objs, limit, start, forward is not False)


KEYWORDS = {"consistent_read", "filter_expression", "hash_key_conditions", "range_key_conditions"}  # not legacy filters
_ORIGINALS = {"query": table_models.Table.query, "all_items": table_models.Table.all_items, "init": table_models.Table.__init__}


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    """A new table keeps each partition of a ranged key in order between writes (`infra.local.moto.ordered`)."""
    _ORIGINALS["init"](self, *args, **kwargs)
    if self.range_key_attr and not self.items:
        self.items = defaultdict(ordered.Partition)


def apply() -> None:
    table_models.Table.query = _query
    table_models.Table.all_items = _all_items
    table_models.Table.__init__ = _init


def remove() -> None:
    table_models.Table.query = _ORIGINALS["query"]
    table_models.Table.all_items = _ORIGINALS["all_items"]
    table_models.Table.__init__ = _ORIGINALS["init"]
