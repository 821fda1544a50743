"""DynamoDB's answers that moto never gives, injected into the app's botocore clients.

* ``dynamodb=0.02``    — a share of every call is throttled (``ProvisionedThroughputExceededException``);
* ``unprocessed=0.05`` — a share of BatchWriteItem and BatchGetItem calls of two or more
  items come back with the second half unprocessed (``UnprocessedItems``/``UnprocessedKeys``),
  as a throttled partition or a 16 MB answer leaves them;
* ``conflict=0.05``    — a share of TransactWriteItems are cancelled with a
  ``TransactionConflict`` on their first action (another transaction held the item);
  botocore does not retry these;
* ``hotkey=1000``      — write units per second and partition key, as one partition takes:
  a write beyond it is throttled (``ProvisionedThroughputExceededException``), a batch's items
  beyond it come back unprocessed. A write costs a unit a started KB, twice in a transaction.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from typing import Any

BATCHES = ("BatchWriteItem", "BatchGetItem")
WRITES = ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem")
THROTTLED = "ProvisionedThroughputExceededException"
CONFLICTED = "TransactionCanceledException"


class _Status:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code


def _answer(code: str, message: str, **fields: Any) -> tuple[_Status, dict[str, Any]]:
    """A DynamoDB error answer, as a ``before-call`` hook returns it in place of the call."""
    error = {"Error": {"Code": code, "Message": f"{message} (injected by the local stack)"}, **fields}
    return _Status(400), {**error, "ResponseMetadata": {"HTTPStatusCode": 400}}


class DynamoFaults:
    """The hooks; ``hit(name)`` draws from the fault plan's shares, ``tally(name, hit)`` counts a hot-key check."""

    def __init__(self, hit: Callable[[str], bool], tally: Callable[[str, bool], None], hot_key_units: float) -> None:
        self._hit = hit
        self._tally = tally
        self._rate = hot_key_units
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}  # (table, key) → (units left, when)
        self._lock = threading.Lock()
        self._hash_keys: dict[str, str] = {}

    def install(self, clients: list[Any]) -> None:
        for client in clients:
            client.meta.events.register("before-parameter-build.dynamodb", self._before_build)
            client.meta.events.register_first("before-call.dynamodb", self._before_call)
            client.meta.events.register("after-call.dynamodb", self._after_call)

    def uninstall(self, clients: list[Any]) -> None:
        for client in clients:
            client.meta.events.unregister("before-parameter-build.dynamodb", self._before_build)
            client.meta.events.unregister("before-call.dynamodb", self._before_call)
            client.meta.events.unregister("after-call.dynamodb", self._after_call)

    # --- deciding, on the API parameters --------------------------------------------

    def _before_build(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        name = model.name
        if name in BATCHES and _largest_batch(name, params) >= 2 and self._hit("unprocessed"):
            context["inapp_held"] = _hold_back_half(name, params)
        if self._rate and name in WRITES:
            self._spend_on_hot_keys(name, params, context)
        if name == "TransactWriteItems" and self._hit("conflict"):
            reasons = _conflict_reasons(params)
            context["inapp_answer"] = _answer(
                CONFLICTED, "Transaction cancelled [TransactionConflict]", CancellationReasons=reasons
            )

    def _spend_on_hot_keys(self, name: str, params: dict[str, Any], context: dict[str, Any]) -> None:
        """Spend the write's units on its partition keys; a write call beyond a key's limit is one hot-key hit."""
        if name == "BatchWriteItem":
            self._tally("hotkey", self._spend_batch(params, context))
            return
        if name == "TransactWriteItems":
            actions = [next(iter(item.values())) for item in params["TransactItems"]]
            writes = [(a["TableName"], a.get("Item") or a["Key"]) for a in actions]
            factor = 2
        else:
            writes = [(params["TableName"], params.get("Item") or params["Key"])]
            factor = 1
        hot = not all([self._spend(table, item, factor) for table, item in writes])
        self._tally("hotkey", hot)
        if hot:
            context["inapp_answer"] = _answer(THROTTLED, "the partition key is hot")

    def _spend_batch(self, params: dict[str, Any], context: dict[str, Any]) -> bool:
        """Hold back the items beyond their keys' limits (unprocessed; the call throttled if none is left): were any?"""
        held = context.setdefault("inapp_held", {})
        hot = False
        for table, requests in params["RequestItems"].items():
            kept = [r for r in requests if self._spend(table, _written(r), 1)]
            hot = hot or len(kept) < len(requests)
            if len(kept) < len(requests) and kept:
                held.setdefault(table, []).extend(r for r in requests if r not in kept)
                params["RequestItems"][table] = kept
            elif not kept:  # all of them hot: the call itself is throttled
                context["inapp_answer"] = _answer(THROTTLED, "the partition key is hot")
        return hot

    def _spend(self, table: str, item: dict[str, Any], factor: int) -> bool:
        """Take the item's write units from its partition key's bucket (one second's worth at most)."""
        key = (table, json.dumps(item.get(self._hash_key(table, item)), sort_keys=True))
        units = factor * max(1, math.ceil(len(json.dumps(item)) / 1024))
        now = time.monotonic()
        with self._lock:
            left, then = self._buckets.get(key, (self._rate, now))
            left = min(self._rate, left + (now - then) * self._rate)
            if left < units:
                self._buckets[key] = (left, now)
                return False
            self._buckets[key] = (left - units, now)
            return True

    def _hash_key(self, table: str, item: dict[str, Any]) -> str:
        """The table's partition key attribute, from the app's models (bound to their tables by then)."""
        if table not in self._hash_keys:
            from chalicelib.storage.tables import MODELS, SHARED_TABLES

            for model in [*MODELS.values(), *SHARED_TABLES]:
                self._hash_keys[model.Meta.table_name] = model._hash_key_attribute().attr_name  # type: ignore[no-untyped-call]
        return self._hash_keys.get(table) or next(iter(item))

    # --- answering ----------------------------------------------------------------------

    def _before_call(self, context: dict[str, Any], **_: Any) -> Any:
        answer = context.pop("inapp_answer", None)
        if answer is None and self._hit("dynamodb"):
            answer = _answer(THROTTLED, "throttled")
        return answer

    def _after_call(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        held = context.pop("inapp_held", None)
        if not held or "Error" in parsed:
            return
        if model.name == "BatchWriteItem":
            unprocessed = parsed.setdefault("UnprocessedItems", {})
            for table, requests in held.items():
                unprocessed.setdefault(table, []).extend(requests)
        else:
            unprocessed = parsed.setdefault("UnprocessedKeys", {})
            for table, request in held.items():
                unprocessed.setdefault(table, {**request, "Keys": []})["Keys"].extend(request["Keys"])


def _written(request: dict[str, Any]) -> dict[str, Any]:
    """A BatchWriteItem request's item (a put) or key (a delete)."""
    put: dict[str, Any] | None = request.get("PutRequest", {}).get("Item")
    return put if put is not None else request["DeleteRequest"]["Key"]


def _largest_batch(name: str, params: dict[str, Any]) -> int:
    tables = params.get("RequestItems", {}).values()
    return max((len(requests if name == "BatchWriteItem" else requests["Keys"]) for requests in tables), default=0)


def _hold_back_half(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Take the second half of each table's requests out of ``params``; they come back unprocessed."""
    held: dict[str, Any] = {}
    for table, requests in params["RequestItems"].items():
        items = requests if name == "BatchWriteItem" else requests["Keys"]
        if len(items) < 2:
            continue
        keep = len(items) // 2
        if name == "BatchWriteItem":
            held[table], params["RequestItems"][table] = items[keep:], items[:keep]
        else:
            held[table] = {**requests, "Keys": items[keep:]}
            requests["Keys"] = items[:keep]
    return held


def _conflict_reasons(params: dict[str, Any]) -> list[dict[str, str]]:
    reasons = [{"Code": "None"} for _ in params["TransactItems"]]
    reasons[0] = {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
    return reasons
