"""Batch reads and writes, with DynamoDB's unprocessed items and keys retried as AWS asks.

A BatchWriteItem or BatchGetItem can succeed while leaving part of its work
undone (``UnprocessedItems``/``UnprocessedKeys``: a throttled partition, a
response over 16 MB). PynamoDB resends unprocessed items at once, without
backoff, and its ``batch_get`` loops on unprocessed keys without a limit;
AWS says to back off exponentially. Here each resend waits a full-jitter
pause that doubles from 50 ms (capped at 2 s), and after
``UNPROCESSED_RETRIES`` the call gives up as ``BusyError`` (a 429, or a
retried stream or queue record).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from pynamodb.exceptions import GetError, PutError
from pynamodb.models import Model

from chalicelib.core.backoff import pause
from chalicelib.core.errors import BusyError
from chalicelib.storage.dynamo import is_busy, is_throttled

M = TypeVar("M", bound=Model)

BATCH_GET_KEYS = 100
BATCH_WRITE_ITEMS = 25
BATCH_WRITES_IN_FLIGHT = 8
UNPROCESSED_RETRIES = 8  # at most ~5 s of pauses in all (8 doublings from 50 ms, capped at 2 s, half that on average)
UNPROCESSED_BASE_SECONDS = 0.05
BUSY = "storage: busy, and not every change was written; retry the same request"


def write_batch(model: type[Model], puts: Iterable[Model], deletes: Iterable[Model]) -> None:
    """BatchWriteItem in 25s; unprocessed items resent with backoff, bounded (then BusyError)."""
    requests: list[tuple[str, dict[str, Any]]] = [("put", item.serialize()) for item in puts]
    requests += [("delete", item._get_keys()) for item in deletes]  # type: ignore[no-untyped-call]
    for start in range(0, len(requests), BATCH_WRITE_ITEMS):
        _write(model, requests[start : start + BATCH_WRITE_ITEMS])


def _write(model: type[Model], requests: list[tuple[str, dict[str, Any]]]) -> None:
    connection = model._get_connection()
    put_items = [item for kind, item in requests if kind == "put"]
    delete_items = [item for kind, item in requests if kind == "delete"]
    for attempt in range(UNPROCESSED_RETRIES + 1):
        try:
            answer = connection.batch_write_item(put_items=put_items, delete_items=delete_items)
        except PutError as error:
            if not is_busy(error):
                raise  # a bug, not the weather
            raise BusyError(BUSY) from error
        unprocessed = (answer or {}).get("UnprocessedItems", {}).get(model.Meta.table_name) or []
        if not unprocessed:
            return
        put_items = [request["PutRequest"]["Item"] for request in unprocessed if "PutRequest" in request]
        delete_items = [request["DeleteRequest"]["Key"] for request in unprocessed if "DeleteRequest" in request]
        if attempt < UNPROCESSED_RETRIES:
            pause(attempt, UNPROCESSED_BASE_SECONDS)
    raise BusyError(BUSY)


_batch_writers = ThreadPoolExecutor(max_workers=BATCH_WRITES_IN_FLIGHT, thread_name_prefix="batch-write")


def write_batches(model: type[Model], puts: Sequence[Model]) -> None:
    """Puts in BatchWriteItems of 25, eight in flight: a 1,000-receiver send waits for 5 round trips, not 40.

    Every batch runs to its end; the first failure is raised after all of
    them (what did get written is then known only to a retry, as before).
    """
    batches = [puts[start : start + BATCH_WRITE_ITEMS] for start in range(0, len(puts), BATCH_WRITE_ITEMS)]
    if len(batches) <= 1:
        write_batch(model, puts, [])
        return
    futures = [_batch_writers.submit(write_batch, model, batch, []) for batch in batches]
    errors = [error for error in (future.exception() for future in futures) if error is not None]
    if errors:
        raise errors[0]


def try_batches(model: type[Model], puts: Sequence[M], on_time: Callable[[], bool]) -> list[M]:
    """One BatchWriteItem per 25 puts (eight in flight), each started only while ``on_time()``: the puts not written.

    Through ``model``'s connection as configured (`InboxOneAttempt`'s retries nothing): what it
    writes lands at once. A batch's unprocessed items, a throttled batch and a batch not started
    in time come back, for the caller to write as late; any other failure is raised after every
    batch has run (BusyError when it is the weather).
    """
    table = model.Meta.table_name

    def attempt(batch: Sequence[M]) -> list[M]:
        if not on_time():
            return list(batch)
        try:
            answer = model._get_connection().batch_write_item(put_items=[item.serialize() for item in batch])
        except PutError as error:
            if is_throttled(error):
                return list(batch)
            if not is_busy(error):
                raise
            raise BusyError(BUSY) from error
        unprocessed = (answer or {}).get("UnprocessedItems", {}).get(table) or []
        left = [request["PutRequest"]["Item"] for request in unprocessed]
        return [item for item in batch if item.serialize() in left]

    batches = [puts[start : start + BATCH_WRITE_ITEMS] for start in range(0, len(puts), BATCH_WRITE_ITEMS)]
    futures = [_batch_writers.submit(attempt, batch) for batch in batches]
    errors = [error for error in (future.exception() for future in futures) if error is not None]
    if errors:
        raise errors[0]
    return [item for future in futures for item in future.result()]


def read_batch(model: type[M], keys: Iterable[Any], *, consistent: bool = False) -> list[M]:
    """The items of ``keys`` (hash keys, or (hash, range) pairs) that exist: ≤ 100 keys per BatchGetItem."""
    return [model.from_raw_data(raw) for raw in read_raw(model, keys, consistent=consistent)]


def read_raw(model: type[Model], keys: Iterable[Any], *, consistent: bool = False) -> list[dict[str, Any]]:
    """`read_batch`'s raw items: for a table whose items are of more than one model (each picks its own)."""
    wanted = [_key(model, key) for key in dict.fromkeys(keys)]
    batches = (wanted[start : start + BATCH_GET_KEYS] for start in range(0, len(wanted), BATCH_GET_KEYS))
    return [raw for batch in batches for raw in _read(model, batch, consistent)]


def _key(model: type[Model], key: Any) -> dict[str, Any]:
    hash_name = model._hash_key_attribute().attr_name  # type: ignore[no-untyped-call]
    range_attribute = model._range_key_attribute()  # type: ignore[no-untyped-call]
    if range_attribute is None:
        hash_value, _ = model._serialize_keys(key)
        return {hash_name: hash_value}
    hash_value, range_value = model._serialize_keys(*key)
    return {hash_name: hash_value, range_attribute.attr_name: range_value}


def _read(model: type[Model], keys: list[dict[str, Any]], consistent: bool) -> list[dict[str, Any]]:
    connection = model._get_connection()
    table = model.Meta.table_name
    found: list[dict[str, Any]] = []
    for attempt in range(UNPROCESSED_RETRIES + 1):
        try:
            typed_keys: Any = keys  # PynamoDB types them as strings; it takes attribute maps
            answer = connection.batch_get_item(typed_keys, consistent_read=consistent or None)
        except GetError as error:
            if not is_busy(error):
                raise
            raise BusyError("storage: busy; retry shortly") from error
        found += answer.get("Responses", {}).get(table, [])
        keys = answer.get("UnprocessedKeys", {}).get(table, {}).get("Keys") or []
        if not keys:
            return found
        if attempt < UNPROCESSED_RETRIES:
            pause(attempt, UNPROCESSED_BASE_SECONDS)
    raise BusyError("storage: busy; retry shortly")


def read_items(model: type[Model], key_name: str, hash_keys: list[str], *, consistent: bool = True) -> list[dict[str, Any]]:
    """Raw reads of many hash-only items (every attribute, also undeclared ones); consistent unless told."""
    keys = [{key_name: {"S": key}} for key in dict.fromkeys(hash_keys)]
    return [
        raw
        for start in range(0, len(keys), BATCH_GET_KEYS)
        for raw in _read(model, keys[start : start + BATCH_GET_KEYS], consistent)
    ]
