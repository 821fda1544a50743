"""DynamoDB's answers that moto never gives, injected into the app's botocore clients.

* ``dynamodb=0.02``    — a share of every attempt is throttled (``ProvisionedThroughputExceededException``);
* ``unprocessed=0.05`` — a share of BatchWriteItem and BatchGetItem calls of two or more
  items come back with the second half unprocessed (``UnprocessedItems``/``UnprocessedKeys``),
  as a throttled partition or a 16 MB answer leaves them;
* ``conflict=0.05``    — a share of TransactWriteItems are cancelled with a
  ``TransactionConflict`` on their first action (another transaction held the item);
  botocore does not retry these;
* ``hotkey=1000``      — write units per second and partition key, as one partition takes:
  a write beyond it is throttled (``ProvisionedThroughputExceededException``), a batch's items
  beyond it come back unprocessed. A write costs a unit a started KB, twice in a transaction.

Throttles are answered per attempt, on ``before-send``: inside botocore's retries, which
try a throttled call again (standard mode, 4 attempts) as they do on AWS, so only a call
throttled on every attempt reaches the app. Answered in place of the whole call, as
before, none was retried and every one reached the app. This needs a client that sends
its requests (to moto's server, as the local stack runs it): moto's in-process mock is a
``before-send`` handler too and would run a throttled request anyway. Conflicts, which
botocore never retries, are answered in place of the call (``before-call``).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from botocore.awsrequest import AWSResponse

BATCHES = ("BatchWriteItem", "BatchGetItem")
SINGLE_WRITES = ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems")  # all or nothing: throttled whole
THROTTLED = "ProvisionedThroughputExceededException"
CONFLICTED = "TransactionCanceledException"


class _Status:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code


class _Body:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


def _answer(code: str, message: str, **fields: Any) -> tuple[_Status, dict[str, Any]]:
    """A DynamoDB error answer, as a ``before-call`` hook returns it in place of the call."""
    error = {"Error": {"Code": code, "Message": f"{message} (injected by the local stack)"}, **fields}
    return _Status(400), {**error, "ResponseMetadata": {"HTTPStatusCode": 400}}


def _throttled(url: str, message: str) -> AWSResponse:
    """DynamoDB's throttling answer on the wire, as a ``before-send`` hook returns it in place of the HTTP exchange."""
    body = {"__type": f"com.amazonaws.dynamodb.v20120810#{THROTTLED}", "message": f"{message} (injected by the local stack)"}
    headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "injected"}
    return AWSResponse(url, 400, headers, _Body(json.dumps(body).encode()))


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
            client.meta.events.register_first("before-send.dynamodb", self._before_send)
            client.meta.events.register("after-call.dynamodb", self._after_call)

    def uninstall(self, clients: list[Any]) -> None:
        for client in clients:
            client.meta.events.unregister("before-parameter-build.dynamodb", self._before_build)
            client.meta.events.unregister("before-call.dynamodb", self._before_call)
            client.meta.events.unregister("before-send.dynamodb", self._before_send)
            client.meta.events.unregister("after-call.dynamodb", self._after_call)

    # --- deciding, on the API parameters --------------------------------------------

    def _before_build(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        name = model.name
        if name in BATCHES and _largest_batch(name, params) >= 2 and self._hit("unprocessed"):
            context["inapp_held"] = _hold_back_half(name, params)
        if self._rate and name == "BatchWriteItem":
            self._spend_batch(params, context)
        if name == "TransactWriteItems" and self._hit("conflict"):
            reasons = _conflict_reasons(params)
            context["inapp_answer"] = _answer(
                CONFLICTED, "Transaction cancelled [TransactionConflict]", CancellationReasons=reasons
            )

    def _spend_batch(self, params: dict[str, Any], context: dict[str, Any]) -> None:
        """Hold back a batch's items beyond their keys' limits: they come back unprocessed (one hot-key hit).

        When none is left, the whole call is throttled instead, as DynamoDB does: `_before_send` spends
        its items again on each attempt.
        """
        requests = params["RequestItems"]
        kept = {table: [r for r in items if self._spend([(table, _written(r))], 1)] for table, items in requests.items()}
        if not any(kept.values()):
            context["inapp_hot_batch"] = True
            return
        hot = {table: [r for r in items if r not in kept[table]] for table, items in requests.items()}
        held = context.setdefault("inapp_held", {})
        for table, items in hot.items():
            if items:
                held.setdefault(table, []).extend(items)
        params["RequestItems"] = {table: items for table, items in kept.items() if items}
        self._tally("hotkey", any(hot.values()))

    def _hot(self, operation: str, request: Any) -> bool:
        """Whether this attempt of a write goes beyond a partition key's limit (each attempt spends its units)."""
        batch = request.context.get("inapp_hot_batch", False)
        if not self._rate or not (operation in SINGLE_WRITES or batch):
            return False
        params = json.loads(request.body)
        if operation == "TransactWriteItems":
            actions = [next(iter(item.values())) for item in params["TransactItems"]]
            writes, factor = [(a["TableName"], a.get("Item") or a["Key"]) for a in actions], 2
        elif batch:
            writes, factor = [(t, _written(r)) for t, requests in params["RequestItems"].items() for r in requests], 1
        else:
            writes, factor = [(params["TableName"], params.get("Item") or params["Key"])], 1
        hot = not self._spend(writes, factor)
        self._tally("hotkey", hot)
        return hot

    def _spend(self, writes: list[tuple[str, dict[str, Any]]], factor: int) -> bool:
        """Take the attempt's write units from its partition keys' buckets (one second's worth each at most).

        All or nothing: an attempt refused on one key spends nothing (a transaction of several
        items of one key that spent the first items' units before the refusal drained the bucket
        on every retry and never went through). Writes costing more than a second's worth go
        through once the bucket is full, leaving it in debt: a partition takes a large write too (a
        limit below one write's units would refuse it for ever, which no partition does).
        """
        units: dict[tuple[str, str], int] = {}
        for table, item in writes:
            key = (table, json.dumps(item.get(self._hash_key(table, item)), sort_keys=True))
            units[key] = units.get(key, 0) + factor * max(1, math.ceil(len(json.dumps(item)) / 1024))
        now = time.monotonic()
        with self._lock:
            buckets = {}
            for key, spent in units.items():
                left, then = self._buckets.get(key, (self._rate, now))
                buckets[key] = min(self._rate, left + (now - then) * self._rate)
                if buckets[key] < min(spent, self._rate):
                    self._buckets.update({k: (left, now) for k, left in buckets.items()})
                    return False
            self._buckets.update({key: (buckets[key] - spent, now) for key, spent in units.items()})
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
        """A conflict, in place of the call (botocore never retries one)."""
        return context.pop("inapp_answer", None)

    def _before_send(self, request: Any, event_name: str, **_: Any) -> AWSResponse | None:
        """A throttle, in place of this attempt (botocore retries it): a hot partition key, or the ``dynamodb`` share."""
        if self._hot(event_name.rsplit(".", 1)[-1], request):
            return _throttled(request.url, "the partition key is hot")
        if self._hit("dynamodb"):
            return _throttled(request.url, "throttled")
        return None

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
