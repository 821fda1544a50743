"""The emulator's UpdateItem for plain ``SET #a = :a`` / ``ADD #n :n`` expressions on an existing item.

Under broadcast load the emulator spends most of its time on the stream
handler's counts updates: one ``UpdateItem`` per user per stream batch,
``SET`` of a few top-level attributes and ``ADD`` of a few numbers, on a
condition. For those, moto still copies the parsed tree and walks it ten
times to validate it, then walks it again to execute it: about a quarter of
the request's CPU in the emulator, to do what a few dictionary writes do.

`update_item` takes moto's backend call and, when the expression is no more
than that — ``SET`` and ``ADD`` clauses (each once, upper case, spaces between) of
``#placeholder`` names and ``:placeholder`` values, every name a distinct
top-level attribute that is not a key of the table or of an index, every
``ADD`` a number onto a missing or numeric attribute — applies it
directly (an item the update creates is first put from its key alone, as
moto does, with that put's own stream record): the same condition check, the same number
arithmetic (``DynamoType.__add__``), the same size limit, the same stream
record. Anything else, and every error, goes to moto's own code, which
starts over from the untouched item: nothing is written before the last
check has passed. ``tests/emulator/test_speedups.py`` runs random sequences of
such updates with and without it and compares every answer, item and
stream record.
"""

from __future__ import annotations

import functools
import importlib
import re
from dataclasses import dataclass
from typing import Any

backend_models: Any = importlib.import_module("moto.dynamodb.models")
utilities: Any = importlib.import_module("moto.dynamodb.models.utilities")
dynamo_type: Any = importlib.import_module("moto.dynamodb.models.dynamo_type")
comparisons: Any = importlib.import_module("moto.dynamodb.comparisons")
exceptions: Any = importlib.import_module("moto.dynamodb.exceptions")

_CLAUSE = re.compile(r"(?<![#:\w])(SET|ADD)(?= )", re.ASCII)  # spaces only: moto's tokenizer refuses some other blanks
_ITEM = {
    "SET": re.compile(r" *(#\w+) *= *(:\w+) *", re.ASCII),
    "ADD": re.compile(r" *(#\w+) +(:\w+) *", re.ASCII),
}
Action = tuple[str, str, str]  # verb, name placeholder, value placeholder
taken = {"fast": 0}  # how many updates were answered here rather than by moto (tests read it)


@functools.lru_cache(maxsize=1024)
def simple_actions(expression: str) -> tuple[Action, ...] | None:
    """The actions of ``SET #a = :a, … ADD #n :n, …`` (either clause, each at most once), or None."""
    head, *rest = _CLAUSE.split(expression)
    if head.strip() or not rest:
        return None
    actions: list[Action] = []
    verbs = rest[0::2]
    if len(set(verbs)) != len(verbs):
        return None
    for verb, body in zip(verbs, rest[1::2], strict=True):
        for part in body.split(","):
            match = _ITEM[verb].fullmatch(part)
            if match is None:
                return None
            actions.append((verb, match[1], match[2]))
    return tuple(actions)


def _key_attributes(table: Any) -> set[str]:
    """Attributes no fast update may touch: the table's keys and every index's (all are in its definitions)."""
    return {str(d["AttributeName"]) for d in table.attr} | set(table.table_key_attrs)


def _new_values(
    table: Any, attrs: dict[str, Any], actions: tuple[Action, ...], names: dict[str, str], values: dict[str, Any]
) -> dict[str, Any] | None:
    """Each attribute's value after the update, or None where moto's own checks must answer."""
    keys = _key_attributes(table)
    out: dict[str, Any] = {}
    for verb, name_placeholder, value_placeholder in actions:
        name, value = names.get(name_placeholder), values.get(value_placeholder)
        if name is None or not isinstance(value, dict) or len(value) != 1 or name in keys or name in out:
            return None
        if verb == "SET":
            out[name] = dynamo_type.DynamoType(value)
            continue
        if "N" not in value:
            return None  # ADD of a set, or of a wrong type: moto's errors and set semantics
        current = attrs.get(name, dynamo_type.DynamoType({"N": "0"}))
        if current.type != "N":
            return None
        try:
            out[name] = current + dynamo_type.DynamoType(value)
        except (ArithmeticError, ValueError, TypeError):
            return None
    return out


ITEM_SIZE_LIMIT = 405_000  # moto's (`LimitedSizeDict`): between DynamoDB's documented 400 KB and its real ~409 KB


def _size(key: str, value: Any) -> int:
    return int(utilities.bytesize(key)) + (value.size() if type(value) is dynamo_type.DynamoType else len(str(value).encode()))


def _fits(attrs: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether writing ``new`` one by one passes each write's check as moto's `LimitedSizeDict` makes it.

    moto sums the whole item before every single write (so a 20-attribute
    item costs 400 size computations); the running total here gives the
    same verdicts: the item as it is, plus the written attribute, the
    old value still counted.
    """
    total = sum(_size(key, value) for key, value in attrs.items())
    for name, value in new.items():
        added = _size(name, value)
        if total + added > ITEM_SIZE_LIMIT:
            return False
        total += added - (_size(name, attrs[name]) if name in attrs else 0)
    return True


def _item_init(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
    """moto's `Item.__init__`, its size check a running total (same verdict, same order) instead of a sum per attribute."""
    self.hash_key = hash_key
    self.range_key = range_key
    typed: dict[str, Any] = {}
    total = 0
    for key, value in attrs.items():
        typed[key] = dynamo_type.DynamoType(value)
        total += _size(key, typed[key])
        if total > ITEM_SIZE_LIMIT:
            raise exceptions.ItemSizeTooLarge
    self.attrs = dynamo_type.LimitedSizeDict(typed)  # its constructor's update() checks nothing


@dataclass(frozen=True)
class _Plan:
    item: Any  # the stored item, or None: the update creates it (from its key, as moto does)
    new: dict[str, Any]  # each attribute's value after the update
    hash_value: Any
    range_value: Any


def _plan(
    table: Any, key: dict[str, Any], actions: tuple[Action, ...], names: dict[str, str], values: dict[str, Any]
) -> _Plan | None:
    """The stored item and its attributes' new values, when every check moto would make passes; else None."""
    if set(key) != set(table.table_key_attrs):
        return None
    hash_value = dynamo_type.DynamoType(key[table.hash_key_attr])
    range_value = dynamo_type.DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    item = table.get_item(hash_value, range_value)
    attrs = item.attrs if item is not None else _key_attrs(table, hash_value, range_value)
    new = _new_values(table, attrs, actions, names, values)
    if new is None or not _fits(attrs, new):
        return None  # over the size limit on the way: moto's own error (and its half-applied update)
    return _Plan(item, new, hash_value, range_value)


def _key_data(table: Any, hash_value: Any, range_value: Any) -> dict[str, Any]:
    """The item moto puts first when an update creates one: its key alone (moto's own test of the range key)."""
    data: dict[str, Any] = {table.hash_key_attr: {hash_value.type: hash_value.value}}
    if range_value:
        data[table.range_key_attr] = {range_value.type: range_value.value}
    return data


def _key_attrs(table: Any, hash_value: Any, range_value: Any) -> dict[str, Any]:
    return {name: dynamo_type.DynamoType(value) for name, value in _key_data(table, hash_value, range_value).items()}


def _fast(self: Any, table_name: str, key: dict[str, Any], expression: str, names: dict[str, str],
          values: dict[str, Any], condition: str | None, on_failure: str | None) -> Any:  # fmt: skip
    """The updated item, or None when moto must do it (nothing has been changed then)."""
    actions = simple_actions(expression)
    if actions is None:
        return None
    table = self.get_table(table_name)
    try:  # anything odd in the request (a value of the wrong JSON type, say): moto's own answer
        planned = _plan(table, key, actions, names, values)
    except Exception:
        return None
    if planned is None:
        return None
    item = planned.item
    taken["fast"] += 1
    original = backend_models.copy.deepcopy(item)
    if not comparisons.create_condition_expression_parser(condition, names, values).parse().expr(item):
        if on_failure == "ALL_OLD" and item is not None:
            raise exceptions.ConditionalCheckFailed(item=item.to_json()["Attributes"])
        raise exceptions.ConditionalCheckFailed
    if item is None:  # as moto creates it: the key put first (its own stream record), then the update
        table.put_item(_key_data(table, planned.hash_value, planned.range_value))
        item = table.get_item(planned.hash_value, planned.range_value)
    for name, value in planned.new.items():
        dict.__setitem__(item.attrs, name, value)  # each write's size check was made by `_fits`
    if table.stream_shard is not None:
        table.stream_shard.add(original, item)
    return item


_ORIGINAL = backend_models.DynamoDBBackend.update_item
_ORIGINAL_ITEM_INIT = dynamo_type.Item.__init__


@functools.wraps(_ORIGINAL)
def update_item(
    self: Any,
    table_name: str,
    key: dict[str, Any],
    update_expression: str,
    expression_attribute_names: dict[str, Any],
    expression_attribute_values: dict[str, Any],
    attribute_updates: dict[str, Any] | None = None,
    expected: dict[str, Any] | None = None,
    condition_expression: str | None = None,
    return_values_on_condition_check_failure: str | None = None,
) -> Any:
    if update_expression and not attribute_updates and not expected:
        item = _fast(
            self, table_name, key, update_expression, expression_attribute_names or {},
            expression_attribute_values or {}, condition_expression, return_values_on_condition_check_failure,
        )  # fmt: skip
        if item is not None:
            return item
    return _ORIGINAL(
        self, table_name, key, update_expression, expression_attribute_names, expression_attribute_values,
        attribute_updates, expected, condition_expression, return_values_on_condition_check_failure,
    )  # fmt: skip


def apply() -> None:
    backend_models.DynamoDBBackend.update_item = update_item
    dynamo_type.Item.__init__ = _item_init


def remove() -> None:
    backend_models.DynamoDBBackend.update_item = _ORIGINAL
    dynamo_type.Item.__init__ = _ORIGINAL_ITEM_INIT
