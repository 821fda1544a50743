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

**Expressions.** Update and condition expressions are parsed once per text
(`infra.local.moto.expressions`).

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

**Queries** read the queried partition only, unsorted before moto's own
sort: `infra.local.moto.partitions`.

**Plain updates.** ``SET #a = :a`` / ``ADD #n :n``, on an item or creating it (the
stream handler's counts updates) skip moto's validation walks altogether:
`infra.local.moto.updates`.
"""

from __future__ import annotations

import base64
import functools
import importlib
import json
import re
from datetime import datetime
from typing import Any

from infra.local.moto import expressions as moto_expressions
from infra.local.moto import partitions as moto_partitions
from infra.local.moto import updates as moto_updates

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


@functools.cache
def _moto_modules() -> tuple[str, ...]:
    return tuple(_ORIGINALS["modules"]())


_PLAIN_RESULTS = (core_responses.ActionResult, dynamodb_responses.DynamoResult)
_ORIGINALS = {
    "serialized": dynamodb_responses.DynamoHandler.serialized,
    "parse_parameters": core_responses.BaseResponse.parse_parameters,
    "method_names": core_responses.method_names_from_class,
    "get_records": streams_responses.DynamoDBStreamsHandler.get_records,
    "modules": backends.list_of_moto_modules,
}


def apply() -> None:
    """Install the speed-ups (idempotent)."""
    if getattr(dynamodb_responses.DynamoHandler, _MARK, False):
        return
    backends.list_of_moto_modules = _moto_modules
    streams_responses.DynamoDBStreamsHandler.get_records = _get_records
    dynamodb_responses.DynamoHandler.serialized = _serialized
    dynamodb_responses.DynamoHandler.parse_parameters = _parse_parameters
    core_responses.method_names_from_class = functools.cache(_ORIGINALS["method_names"])
    moto_expressions.apply()
    moto_updates.apply()
    moto_partitions.apply()
    setattr(dynamodb_responses.DynamoHandler, _MARK, True)


def remove() -> None:
    """Back to moto's own code (tests compare both)."""
    backends.list_of_moto_modules = _ORIGINALS["modules"]
    streams_responses.DynamoDBStreamsHandler.get_records = _ORIGINALS["get_records"]
    dynamodb_responses.DynamoHandler.serialized = _ORIGINALS["serialized"]
    if "parse_parameters" in vars(dynamodb_responses.DynamoHandler):
        del dynamodb_responses.DynamoHandler.parse_parameters  # back to BaseResponse's
    core_responses.method_names_from_class = _ORIGINALS["method_names"]
    moto_expressions.remove()
    moto_updates.remove()
    moto_partitions.remove()
    setattr(dynamodb_responses.DynamoHandler, _MARK, False)
