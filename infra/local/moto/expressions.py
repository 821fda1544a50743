"""CPU savings in moto's expression handling, for the emulator and the tests (semantics unchanged).

**Update expressions.** Profiling the emulator under broadcast sends (a send to 300 receivers is 6
``TransactWriteItems`` of 50 puts and 50 counter ``UpdateItem`` actions)
showed about two thirds of its CPU in handling update expressions, all of
it repeated work for expressions it has seen before:

* ``UpdateExpressionParser.make`` tokenises and parses the same expression
  text twice per action (the response layer and the backend each do);
* the validator deep-copies the parsed tree (``copy.deepcopy`` of ~50 nodes
  with parent links: ~1.3 ms);
* each of its ten tree walkers rebuilds its node-class tuple and its
  processing map for every node it visits, and matches them with
  ``isinstance`` against abstract base classes (slow ``__instancecheck__``).

The patches parse each expression text once and keep the tree; the
callers that only read it (the response layer's ``find_clauses``, the
backend before it validates) share it, and the validator, which rewrites
its tree, gets a fresh copy unpickled from the kept bytes (several times
faster than ``deepcopy`` for these trees, and no ``pickle.dumps`` per
call). Each walker finds its processor for a node class once (a dict
lookup after that). A tree moto rewrites is always a copy of its own, so
nothing done to one can leak into another call.
``tests/emulator/test_speedups.py`` runs update expressions with and without
them and compares every answer.

**Condition expressions.** An UpdateItem (or PutItem, DeleteItem) with a
condition has it parsed twice, by the response layer and by the backend,
with the same names and values; a lexer recompiles its patterns for every
token on the way. The parse of one (expression, names, values) is kept for
a while (a small LRU) and handed out again; the tree is only read when it
is evaluated.
"""

from __future__ import annotations

import functools
import importlib
import json
import pickle
import threading
from collections import deque
from copy import deepcopy
from typing import Any

ast_nodes: Any = importlib.import_module("moto.dynamodb.parsing.ast_nodes")
expressions: Any = importlib.import_module("moto.dynamodb.parsing.expressions")
validators: Any = importlib.import_module("moto.dynamodb.parsing.validators")
comparisons: Any = importlib.import_module("moto.dynamodb.comparisons")

_ORIGINAL_MAKE = expressions.UpdateExpressionParser.make
_ORIGINALS = {
    "validate": validators.Validator.validate,
    "lex": comparisons.ConditionExpressionParser._lex_condition_expression,
    "parse": comparisons.ConditionExpressionParser.parse,
    "make": expressions.UpdateExpressionParser.__dict__["make"],
    "deepcopy": validators.deepcopy,
    "traverse": ast_nodes.DepthFirstTraverser.traverse_node_recursively,
}


@functools.lru_cache(maxsize=1024)
def _parsed(expression: str) -> bytes:
    return pickle.dumps(_ORIGINAL_MAKE(expression), protocol=pickle.HIGHEST_PROTOCOL)


_SHARED_TREES = 1024


_trees: dict[str, Any] = {}  # expression → its parsed tree, shared: only ever read, never validated in place


def _make(cls: Any, expression: str) -> Any:
    """The parsed tree, shared by every caller: moto only reads it (``find_clauses``) or copies it to validate."""
    tree = _trees.get(expression)
    if tree is None:
        tree = pickle.loads(_parsed(expression))
        tree._inapp_text = expression  # lets the validator know the expression it checks (copies keep it)
        tree._inapp_shared = True  # copies do not keep this: they come from the pickled bytes
        if len(_trees) >= _SHARED_TREES:
            _trees.clear()
        _trees[expression] = tree
    return tree


def _copy(value: Any, memo: Any = None) -> Any:
    if isinstance(value, ast_nodes.Node):
        if value.__dict__.get("_inapp_shared"):  # a pristine tree: a copy straight from its pickled bytes
            tree = pickle.loads(_parsed(value._inapp_text))
            tree._inapp_text = value._inapp_text
            return tree
        return pickle.loads(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    return deepcopy(value, memo)


def _processor(self: Any, kind: type) -> Any:
    """The walker's processor for nodes of this class (or None), found once per walker and class."""
    by_kind: dict[type, Any] | None = self.__dict__.get("_inapp_processors")
    if by_kind is None:
        by_kind = self.__dict__["_inapp_processors"] = {}
    try:
        return by_kind[kind]
    except KeyError:
        found = next((p for key, p in self._processing_map().items() if issubclass(kind, key)), None)
        by_kind[kind] = found
        return found


def _traverse(self: Any, node: Any, child_id: int = -1) -> Any:
    """moto's depth-first walk, dispatching on the node's class through a cache instead of ABC checks."""
    if not isinstance(node, ast_nodes.Node):
        return node
    parent = node.parent
    children = node.children
    if children is not None:
        for i, child in enumerate(children):
            self.pre_processing_of_child(node, i)
            _traverse(self, child, i)
    processor = _processor(self, type(node))
    if processor is not None:
        node = processor(node)
        node.parent = parent
        if parent:
            parent.children[child_id] = node
    return node


SHAPE_CHECKS = 3  # the update validator's first processors: action counts, overlapping paths, key attributes


_shapes_passed: set[tuple[str, str, str]] = set()


def _validate(self: Any) -> Any:
    """moto's validation, less the shape checks an identical expression already passed.

    The first three processors only read the tree and raise or not; what
    they see is the expression's text, its names and the table's key
    attributes. Once those passed, the same three pass again.
    """
    node = self.node_to_validate
    text = getattr(node, "_inapp_text", None)
    shape = None
    if text is not None and isinstance(self, validators.UpdateExpressionValidator):
        shape = (text, _frozen(self.expression_attribute_names), _frozen(sorted(self.table.table_key_attrs)))
    passed = shape in _shapes_passed
    for number, processor in enumerate(self.processors, start=1):
        if passed and number <= SHAPE_CHECKS:
            continue
        node = processor.traverse(node)
        if shape is not None and number == SHAPE_CHECKS:
            _shapes_passed.add(shape)
    return node


def _frozen(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=repr)


CONDITIONS_KEPT = 256


_conditions: dict[tuple[str, str, str], tuple[Any, list[str], list[str]]] = {}  # oldest first
# The in-process tests call moto from many threads at once (delivery's pools): two evicting the same
# oldest parse raised KeyError. The emulator's server answers one request at a time and never raced.
_conditions_lock = threading.Lock()


reused = {"conditions": 0}  # how often a kept parse was handed out again (tests read it)


@functools.lru_cache(maxsize=1024)
def _tokens(expression: str) -> tuple[Any, ...]:
    return tuple(_ORIGINALS["lex"](comparisons.ConditionExpressionParser(expression, {}, {})))


def _lex(self: Any) -> Any:
    """moto's tokens for the expression text, lexed once per text (each caller gets fresh nodes)."""
    return deque(token._replace(children=[]) for token in _tokens(self.condition_expression))


def _parse_condition(self: Any) -> Any:
    if not self.condition_expression:
        return _ORIGINALS["parse"](self)
    key = (self.condition_expression, _frozen(self.expression_attribute_names), _frozen(self.expression_attribute_values))
    kept = _conditions.get(key)
    if kept is None:  # parsed from this parser's own names and values (binary ones stay bytes)
        op = _ORIGINALS["parse"](self)
        with _conditions_lock:
            if len(_conditions) >= CONDITIONS_KEPT:
                _conditions.pop(next(iter(_conditions)))
            _conditions[key] = (op, list(self.expr_attr_names_found), list(self.expr_attr_values_found))
        return op
    op, names, values = kept
    reused["conditions"] += 1
    self.expr_attr_names_found.extend(names)
    self.expr_attr_values_found.extend(values)
    return op


def apply() -> None:
    """Install the expression speed-ups (the caller, `speedups.apply`, makes it once)."""
    expressions.UpdateExpressionParser.make = classmethod(_make)
    validators.deepcopy = _copy
    ast_nodes.DepthFirstTraverser.traverse_node_recursively = _traverse
    comparisons.ConditionExpressionParser.parse = _parse_condition
    validators.Validator.validate = _validate
    comparisons.ConditionExpressionParser._lex_condition_expression = _lex


def remove() -> None:
    """Back to moto's own code, every kept parse forgotten."""
    expressions.UpdateExpressionParser.make = _ORIGINALS["make"]
    validators.deepcopy = _ORIGINALS["deepcopy"]
    ast_nodes.DepthFirstTraverser.traverse_node_recursively = _ORIGINALS["traverse"]
    comparisons.ConditionExpressionParser.parse = _ORIGINALS["parse"]
    validators.Validator.validate = _ORIGINALS["validate"]
    comparisons.ConditionExpressionParser._lex_condition_expression = _ORIGINALS["lex"]
    _conditions.clear()
    _trees.clear()
    _shapes_passed.clear()
