"""CPU savings in moto's server and its UpdateItem path, for the local emulator only (semantics unchanged).

**The server.** For every request, moto's server picks the backend under
one global lock, and to do so lists its own package directory
(``backends.list_of_moto_modules``: an ``os.listdir`` and ~150 ``isdir``
calls). Under load a third of the emulator's samples sat there, and the
lock made every request wait for it. The list never changes in a running
process: it is computed once.

**GetRecords answers.** moto 5.2 turns every answer into JSON with a
generic, model-driven serializer that walks the response shape member by
member: for stream records (attribute maps inside maps inside lists) that
was over a third of the emulator's CPU while broadcasts were delivered —
more than the writes. The records moto stores are already in wire format
(``{"S": …}`` values), datetimes and binary values aside, so GetRecords
answers with ``json.dumps`` of them, datetimes and bytes written as the
serializer writes them (epoch seconds, base64).

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
``tests/test_moto_speedups.py`` runs update expressions with and without
them and compares every answer.

**Condition expressions.** An UpdateItem (or PutItem, DeleteItem) with a
condition has it parsed twice, by the response layer and by the backend,
with the same names and values; a lexer recompiles its patterns for every
token on the way. The parse of one (expression, names, values) is kept for
a while (a small LRU) and handed out again; the tree is only read when it
is evaluated.

**Data-plane answers.** Item reads and writes (GetItem, PutItem,
UpdateItem, DeleteItem, BatchGetItem, BatchWriteItem, Query, Scan and the
transactions) answer with items that are already in wire form, yet went
through the same model-driven serializer: for an UpdateItem returning the
new item, a tenth of its CPU. They are answered with ``json.dumps`` of the
output's members, as GetRecords is. Errors and every other operation keep
moto's own path.

**Data-plane requests.** Their bodies went through moto's model-driven
parser too, which walks the input shape member by member (a tenth of the
emulator's CPU under the throughput benchmark) and for these operations
changes nothing but binary values (base64 to bytes). A body without a
binary value (``"B"`` or ``"BS"`` anywhere) whose top-level keys are all
members of the operation's input, and whose ``Limit``/``Segment``/
``TotalSegments`` (the only numbers moto's parse converts) are numbers,
is taken as ``json.loads`` reads it; any
other keeps moto's parse. Over the in-process suites' ~18,000 DynamoDB
requests both gave the same parameters for every such body.

**Plain updates.** ``SET #a = :a`` / ``ADD #n :n``, on an item or creating it (the
stream handler's counts updates) skip moto's validation walks altogether:
`infra.local.moto_updates`.
"""

from __future__ import annotations

import base64
import functools
import importlib
import json
import pickle
import re
from collections import deque
from copy import deepcopy
from datetime import datetime
from typing import Any

from infra.local import moto_updates

# moto's parsing modules carry no types: held as Any, patched by attribute.
backends: Any = importlib.import_module("moto.backends")
ast_nodes: Any = importlib.import_module("moto.dynamodb.parsing.ast_nodes")
expressions: Any = importlib.import_module("moto.dynamodb.parsing.expressions")
validators: Any = importlib.import_module("moto.dynamodb.parsing.validators")
streams_responses: Any = importlib.import_module("moto.dynamodbstreams.responses")
serialize: Any = importlib.import_module("moto.core.serialize")
core_responses: Any = importlib.import_module("moto.core.responses")
comparisons: Any = importlib.import_module("moto.dynamodb.comparisons")
dynamodb_responses: Any = importlib.import_module("moto.dynamodb.responses")

_MARK = "_inapp_speedup"


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


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return serialize.TimestampSerializer._timestamp_unixtimestamp(value)
    if isinstance(value, bytes):  # binary attribute values travel as base64
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _get_records(self: Any) -> str:
    limit = self._get_param("Limit")
    result = self.backend.get_records(self._get_param("ShardIterator"), 1000 if limit is None else limit)
    return json.dumps(result, default=_json_default)


FAST_ANSWERS = frozenset({
    "GetItem", "PutItem", "UpdateItem", "DeleteItem", "BatchGetItem", "BatchWriteItem", "Query", "Scan",
    "TransactGetItems", "TransactWriteItems",
})  # fmt: skip
JSON_CONTENT_TYPE = "application/x-amz-json-1.0"  # DynamoDB's JSON protocol, version 1.0


@functools.cache
def _output_members(action: str) -> frozenset[str]:
    operation = core_responses.get_service_model("dynamodb").operation_model(action)
    return frozenset(operation.output_shape.members)


@functools.cache
def _input_members(action: str) -> frozenset[str]:
    operation = core_responses.get_service_model("dynamodb").operation_model(action)
    return frozenset(operation.input_shape.members)


_BINARY_VALUE = re.compile(rb'"BS?"\s*:')


INTEGER_MEMBERS = ("Limit", "Segment", "TotalSegments")  # the data-plane inputs' only non-string scalars moto's parse converts


def _integers_as_integers(params: dict[str, Any]) -> bool:
    """A client without parameter validation may send ``"Limit": "2"``: moto's parse makes it a number."""
    return all(type(params[name]) is int for name in INTEGER_MEMBERS if name in params)


def _parse_parameters(self: Any, request: Any) -> None:
    """A data-plane request's JSON as it is; moto's model-driven parse for binary values and everything else."""
    action = self._get_action()
    body = request.data
    if action in FAST_ANSWERS and not _BINARY_VALUE.search(body):  # the parse would base64-decode a binary value
        try:
            params = json.loads(body)
        except ValueError:
            params = None
        if isinstance(params, dict) and params.keys() <= _input_members(action) and _integers_as_integers(params):
            self.params = params
            return
    _ORIGINALS["parse_parameters"](self, request)


def _serialized(self: Any, action_result: Any) -> Any:
    result = action_result.result
    action = self._get_action()
    if action not in FAST_ANSWERS or not isinstance(result, dict) or type(action_result) not in _PLAIN_RESULTS:
        return _ORIGINALS["serialized"](self, action_result)
    members = _output_members(action)
    body = {key: value for key, value in result.items() if key in members and value is not None}
    return 200, {"Content-Type": JSON_CONTENT_TYPE, **self.response_headers}, json.dumps(body, default=_json_default)


def _frozen(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=repr)


CONDITIONS_KEPT = 256
_conditions: dict[tuple[str, str, str], tuple[Any, list[str], list[str]]] = {}  # oldest first
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
        if len(_conditions) >= CONDITIONS_KEPT:
            _conditions.pop(next(iter(_conditions)))
        _conditions[key] = (op, list(self.expr_attr_names_found), list(self.expr_attr_values_found))
        return op
    op, names, values = kept
    reused["conditions"] += 1
    self.expr_attr_names_found.extend(names)
    self.expr_attr_values_found.extend(values)
    return op


@functools.cache
def _moto_modules() -> tuple[str, ...]:
    return tuple(_ORIGINALS["modules"]())


_ORIGINAL_MAKE = expressions.UpdateExpressionParser.make
_PLAIN_RESULTS = (core_responses.ActionResult, dynamodb_responses.DynamoResult)
_ORIGINALS = {
    "serialized": dynamodb_responses.DynamoHandler.serialized,
    "parse_parameters": core_responses.BaseResponse.parse_parameters,
    "validate": validators.Validator.validate,
    "method_names": core_responses.method_names_from_class,
    "lex": comparisons.ConditionExpressionParser._lex_condition_expression,
    "parse": comparisons.ConditionExpressionParser.parse,
    "get_records": streams_responses.DynamoDBStreamsHandler.get_records,
    "modules": backends.list_of_moto_modules,
    "make": expressions.UpdateExpressionParser.__dict__["make"],
    "deepcopy": validators.deepcopy,
    "traverse": ast_nodes.DepthFirstTraverser.traverse_node_recursively,
}


def apply() -> None:
    """Install the speed-ups (idempotent)."""
    if getattr(expressions.UpdateExpressionParser, _MARK, False):
        return
    expressions.UpdateExpressionParser.make = classmethod(_make)
    validators.deepcopy = _copy
    backends.list_of_moto_modules = _moto_modules
    streams_responses.DynamoDBStreamsHandler.get_records = _get_records
    ast_nodes.DepthFirstTraverser.traverse_node_recursively = _traverse
    dynamodb_responses.DynamoHandler.serialized = _serialized
    dynamodb_responses.DynamoHandler.parse_parameters = _parse_parameters
    comparisons.ConditionExpressionParser.parse = _parse_condition
    validators.Validator.validate = _validate
    core_responses.method_names_from_class = functools.cache(_ORIGINALS["method_names"])
    comparisons.ConditionExpressionParser._lex_condition_expression = _lex
    moto_updates.apply()
    setattr(expressions.UpdateExpressionParser, _MARK, True)


def remove() -> None:
    """Back to moto's own code (tests compare both)."""
    expressions.UpdateExpressionParser.make = _ORIGINALS["make"]
    validators.deepcopy = _ORIGINALS["deepcopy"]
    backends.list_of_moto_modules = _ORIGINALS["modules"]
    streams_responses.DynamoDBStreamsHandler.get_records = _ORIGINALS["get_records"]
    ast_nodes.DepthFirstTraverser.traverse_node_recursively = _ORIGINALS["traverse"]
    dynamodb_responses.DynamoHandler.serialized = _ORIGINALS["serialized"]
    if "parse_parameters" in vars(dynamodb_responses.DynamoHandler):
        del dynamodb_responses.DynamoHandler.parse_parameters  # back to BaseResponse's
    comparisons.ConditionExpressionParser.parse = _ORIGINALS["parse"]
    validators.Validator.validate = _ORIGINALS["validate"]
    _conditions.clear()
    _trees.clear()
    core_responses.method_names_from_class = _ORIGINALS["method_names"]
    comparisons.ConditionExpressionParser._lex_condition_expression = _ORIGINALS["lex"]
    _shapes_passed.clear()
    moto_updates.remove()
    setattr(expressions.UpdateExpressionParser, _MARK, False)
