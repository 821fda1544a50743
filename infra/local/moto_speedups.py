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

The patches cache the parsed tree per expression text and hand out copies
made with ``pickle`` (several times faster than ``deepcopy`` for these
trees), copy trees that way in the validator too, and let each walker find
its processor for a node class once (a dict lookup after that). Every
caller still gets a tree of its own, so nothing moto does to a tree can
leak into another call. ``tests/test_moto_speedups.py`` runs update
expressions with and without them and compares every answer.
"""

from __future__ import annotations

import base64
import functools
import importlib
import json
import pickle
from copy import deepcopy
from datetime import datetime
from typing import Any

# moto's parsing modules carry no types: held as Any, patched by attribute.
backends: Any = importlib.import_module("moto.backends")
ast_nodes: Any = importlib.import_module("moto.dynamodb.parsing.ast_nodes")
expressions: Any = importlib.import_module("moto.dynamodb.parsing.expressions")
validators: Any = importlib.import_module("moto.dynamodb.parsing.validators")
streams_responses: Any = importlib.import_module("moto.dynamodbstreams.responses")
serialize: Any = importlib.import_module("moto.core.serialize")

_MARK = "_inapp_speedup"


@functools.lru_cache(maxsize=1024)
def _parsed(expression: str) -> bytes:
    return pickle.dumps(_ORIGINAL_MAKE(expression), protocol=pickle.HIGHEST_PROTOCOL)


def _make(cls: Any, expression: str) -> Any:
    return pickle.loads(_parsed(expression))


def _copy(value: Any, memo: Any = None) -> Any:
    if isinstance(value, ast_nodes.Node):
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


@functools.cache
def _moto_modules() -> tuple[str, ...]:
    return tuple(_ORIGINALS["modules"]())


_ORIGINAL_MAKE = expressions.UpdateExpressionParser.make
_ORIGINALS = {
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
    setattr(expressions.UpdateExpressionParser, _MARK, True)


def remove() -> None:
    """Back to moto's own code (tests compare both)."""
    expressions.UpdateExpressionParser.make = _ORIGINALS["make"]
    validators.deepcopy = _ORIGINALS["deepcopy"]
    backends.list_of_moto_modules = _ORIGINALS["modules"]
    streams_responses.DynamoDBStreamsHandler.get_records = _ORIGINALS["get_records"]
    ast_nodes.DepthFirstTraverser.traverse_node_recursively = _ORIGINALS["traverse"]
    setattr(expressions.UpdateExpressionParser, _MARK, False)
