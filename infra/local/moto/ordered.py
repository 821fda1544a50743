"""A base-table partition kept in sort-key order between writes, so a Query's page costs its page, as in DynamoDB.

moto keeps a partition as a dict from sort key to item and sorts it for
every Query: a page of 100 of mallory's 50,000 messages cost ~120 ms of the
emulator's one lock even with `infra.local.moto.partitions` handing moto
only the page (every item of the key was still looked at), and the abuse
run's floods of such pages held everyone's reads and writes behind it.

`Partition` is that dict, counting the changes to its set of keys; its
sort keys, sorted, are kept until the set changes (an update of an item,
the bulk of writes, keeps it). A Query with a ``limit`` and a sort key
condition of one contiguous range (=, <, <=, >, >=, BETWEEN, begins_with)
then finds its page by bisection: O(log n + page). Anything else is left
to `infra.local.moto.partitions`' page or to moto.
"""

from __future__ import annotations

import bisect
from decimal import Decimal
from typing import Any

RANGES = {"EQ", "=", "LT", "<", "LE", "<=", "GT", ">", "GE", ">=", "BETWEEN", "BEGINS_WITH"}


def plain(key: Any) -> Any:
    """A key attribute's ``cast_value`` (S, N or B: moto orders keys by it), without its six Python calls."""
    return Decimal(key.value) if key.type == "N" else key.value


class Partition(dict[Any, Any]):
    """One hash key's items by sort key, with its sort keys in order kept until a key comes or goes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._order: tuple[list[Any], list[Any]] | None = None  # plain sort keys, ascending, and the keys themselves
        self._changes = 0  # of the set of keys: an order sorted meanwhile is not kept

    def _changed(self) -> None:
        self._order = None
        self._changes += 1

    def __setitem__(self, key: Any, value: Any) -> None:
        if key not in self:
            self._changed()
        super().__setitem__(key, value)

    def __delitem__(self, key: Any) -> None:
        self._changed()
        super().__delitem__(key)

    def pop(self, *args: Any) -> Any:
        self._changed()
        return super().pop(*args)

    def popitem(self) -> Any:
        self._changed()
        return super().popitem()

    def clear(self) -> None:
        self._changed()
        super().clear()

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._changed()
        super().update(*args, **kwargs)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self._changed()
        return super().setdefault(key, default)

    def order(self) -> tuple[list[Any], list[Any]]:
        order = self._order
        if order is None:
            # Under in-process moto (no server lock) a write may come meanwhile: the order is kept only if the
            # set of keys did not change while it was sorted.
            changes = self._changes
            pairs = sorted(((plain(key), key) for key in list(self)), key=lambda pair: pair[0])
            order = ([value for value, _ in pairs], [key for _, key in pairs])
            if self._changes == changes:
                self._order = order
        return order

    def page(self, comparison: str | None, objs: Any, start: Any, limit: int, forward: bool) -> list[Any] | None:
        """The items a page of ``limit`` answers from (those in order after ``start`` meeting the condition, and the
        item of the key after them), or None when the condition is not one contiguous range of sort keys."""
        if comparison is not None and comparison not in RANGES:
            return None
        values, keys = self.order()
        low, high = _window(values, comparison, [plain(obj) for obj in objs or []])
        if start is not None:
            if forward:
                low = max(low, bisect.bisect_right(values, plain(start)))
            else:
                high = min(high, bisect.bisect_left(values, plain(start)))
        if high - low < limit:
            chosen = range(low, max(low, high))  # all of them: moto finds no more
        elif forward:
            chosen = range(low, min(low + limit + 1, len(values)))  # the page and the key's next item, met or not
        else:
            chosen = range(max(high - limit - 1, 0), high)
        found = (self.get(keys[i]) for i in chosen)  # under in-process moto a key may go meanwhile
        return [item for item in found if item is not None]


def _window(values: list[Any], comparison: str | None, objs: list[Any]) -> tuple[int, int]:
    """The sort keys ``[low, high)`` meeting the condition."""
    if comparison is None:
        return 0, len(values)
    if comparison in ("EQ", "="):
        return bisect.bisect_left(values, objs[0]), bisect.bisect_right(values, objs[0])
    if comparison in ("LT", "<"):
        return 0, bisect.bisect_left(values, objs[0])
    if comparison in ("LE", "<="):
        return 0, bisect.bisect_right(values, objs[0])
    if comparison in ("GT", ">"):
        return bisect.bisect_right(values, objs[0]), len(values)
    if comparison in ("GE", ">="):
        return bisect.bisect_left(values, objs[0]), len(values)
    if comparison == "BETWEEN":
        return bisect.bisect_left(values, objs[0]), bisect.bisect_right(values, objs[1])
    prefix = objs[0]  # BEGINS_WITH: the keys from the prefix up to the first that sorts after every key it begins
    after = _after_prefix(prefix)
    return bisect.bisect_left(values, prefix), len(values) if after is None else bisect.bisect_left(values, after)


def _after_prefix(prefix: Any) -> Any:
    """The least value above every value that begins with ``prefix`` (a string or bytes), or None if there is none."""
    top = 0x10FFFF if isinstance(prefix, str) else 0xFF
    units = [ord(c) for c in prefix] if isinstance(prefix, str) else list(prefix)
    while units and units[-1] == top:
        units.pop()
    if not units:
        return None
    units[-1] += 1
    return "".join(map(chr, units)) if isinstance(prefix, str) else bytes(units)
