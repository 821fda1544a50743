"""DynamoDB plumbing, written once: transactions, refused conditions, pages, retries.

Every module that writes more than one item at a time, reads why a write
was refused, or cuts a page from a query comes here, so the rules of the
service (100 actions per transaction, cancellation reasons in action order,
"condition failed" meaning a domain outcome) live in one place.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import islice
from typing import Any, TypeVar

from botocore.exceptions import ClientError
from pynamodb.exceptions import DeleteError, PutError, PynamoDBException, TransactWriteError, UpdateError
from pynamodb.expressions.operand import Path
from pynamodb.models import Model
from pynamodb.pagination import ResultIterator
from pynamodb.transactions import TransactWrite

from chalicelib.core.backoff import pause
from chalicelib.core.errors import BusyError, InboxError
from chalicelib.storage.inbox_tables import InboxMessage
from chalicelib.storage.tables import MODELS, SHARED_TABLES

T = TypeVar("T")
M = TypeVar("M", bound=Model)

CONDITION_FAILED = "ConditionalCheckFailed"
TRANSACTION_CONFLICT = "TransactionConflict"
IDEMPOTENT_PARAMETER_MISMATCH = "IdempotentParameterMismatchException"
MAX_TRANSACTION_ACTIONS = 100
# What every failed storage call raises (PynamoDB's): the edge looks for it here, once storage is loaded.
StorageError = PynamoDBException
CONFLICT_RETRIES = 5
BACKOFF_BASE_SECONDS = 0.02


def transaction(token: str | None = None) -> TransactWrite:
    """A TransactWriteItems on the service's connection; ``token`` makes it idempotent for 10 minutes."""
    return TransactWrite(connection=InboxMessage._get_connection().connection, client_request_token=token)


def transaction_units(items: Sequence[Model], actions_per_item: int = 1) -> int:
    """The write units a transaction of these items' writes spends: twice a started KB per write."""
    return sum(2 * actions_per_item * (len(json.dumps(item.serialize())) // 1024 + 1) for item in items)


def botocore_clients() -> list[Any]:
    """The distinct botocore clients behind the models (for call counting and write hooks)."""
    clients = (model._get_connection().connection.client for model in [*MODELS.values(), *SHARED_TABLES])
    return list({id(client): client for client in clients}.values())


THROTTLED_CODES = frozenset({"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"})
BUSY_CODES = frozenset(
    {
        *THROTTLED_CODES,
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
        "TransactionInProgressException",
    }
)


def is_busy(error: PynamoDBException) -> bool:
    """Throttling, a conflict or a service-side failure that outlived the retries: worth a retry later, not a 500.

    A transaction cancelled only because another one was writing the same
    item (`TransactionConflict`, which botocore does not retry) is the weather
    too; one cancelled by a condition is a domain outcome, for its caller.
    """
    if error.cause_response_code in BUSY_CODES:
        return True
    codes = cancellation_codes(error) if isinstance(error, TransactWriteError) else []
    return TRANSACTION_CONFLICT in codes and CONDITION_FAILED not in codes


def is_throttled(error: PynamoDBException) -> bool:
    """Refused for throughput: nothing of the call was written."""
    return error.cause_response_code in THROTTLED_CODES


def retrying_conflicts(write: Callable[[], T]) -> T:
    """``write`` (a transaction), again after a backoff while it meets a conflict or throttling; then BusyError."""
    for attempt in range(CONFLICT_RETRIES):
        try:
            return write()
        except TransactWriteError as error:
            if not is_busy(error):
                raise
            if attempt + 1 < CONFLICT_RETRIES:
                pause_before_retry(attempt)
    raise BusyError("storage: busy; retry shortly")


def condition_failed(error: PynamoDBException) -> bool:
    """A single-item write refused by its condition expression."""
    return error.cause_response_code == "ConditionalCheckFailedException"


def cancellation_codes(error: TransactWriteError) -> list[str | None]:
    """Why each action of a cancelled transaction failed (None where it did not), in action order."""
    return [reason.code if reason else None for reason in (error.cancellation_reasons or [])]


def not_refused(items: list[T], error: TransactWriteError, layout: tuple[int, ...] = (1,)) -> list[T]:
    """``items`` less those with an action refused by its condition, in a cancelled transaction.

    ``layout`` is how many actions each item has in each consecutive block of
    the transaction: PynamoDB sends all condition checks, then the deletes,
    the puts and the updates, each block in the order they were added. A
    retry drops what an earlier attempt, another device or a replay already
    did, and writes the rest.
    """
    codes = cancellation_codes(error)
    refused: set[int] = set()
    start = 0
    for per in layout:
        for index in range(len(items)):
            if CONDITION_FAILED in codes[start + index * per : start + (index + 1) * per]:
                refused.add(index)
        start += per * len(items)
    return [item for index, item in enumerate(items) if index not in refused]


@contextmanager
def refused_as(domain_error: InboxError) -> Iterator[None]:
    """Turn a single-item write refused by its condition into ``domain_error``; other errors pass."""
    try:
        yield
    except (PutError, UpdateError, DeleteError) as error:
        if condition_failed(error):
            raise domain_error from None
        raise


def pause_before_retry(attempt: int) -> None:
    """Back off after a transaction conflict, before looking at the items again."""
    pause(attempt, BACKOFF_BASE_SECONDS)


def first_page(results: Iterable[T], limit: int) -> tuple[list[T], bool]:
    """The first ``limit`` results and whether more follow (reads at most one extra)."""
    found = list(islice(results, limit + 1))
    return found[:limit], len(found) > limit


def next_cursor(items: list[T], more: bool, position: Callable[[T], str]) -> str | None:
    """The cursor that continues after the last item, or None on the last page."""
    return position(items[-1]) if more and items else None


def one_page(model: type[M], results: ResultIterator[M]) -> tuple[list[M], dict[str, Any] | None]:
    """Exactly one Query/Scan call's items (``page_size`` bounds what it evaluates) and its LastEvaluatedKey."""
    page = next(results.page_iter)
    items = [model.from_raw_data(raw) for raw in page.get("Items", [])]
    return items, results.page_iter.last_evaluated_key


def read_item(model: type[Model], hash_key: str, *, consistent: bool = False) -> dict[str, Any] | None:
    """One item's raw attributes (every attribute, also those the model does not declare), or None."""
    found = model._get_connection().get_item(hash_key, consistent_read=consistent)
    item: dict[str, Any] | None = found.get("Item")
    return item


def update_item(model: type[Model], hash_key: str, actions: list[Any], condition: Any = None) -> dict[str, Any]:
    """UpdateItem by attribute paths (``pynamodb.expressions.operand.Path``); returns the item after it."""
    response = model._get_connection().update_item(hash_key, actions=actions, condition=condition, return_values="ALL_NEW")
    attributes: dict[str, Any] = response.get("Attributes", {})
    return attributes


def update_or_read(model: type[Model], hash_key: str, actions: list[Any], condition: Any) -> tuple[bool, dict[str, Any]]:
    """A conditional UpdateItem that reads as well, in one call: (True, the item after it) or (False, the item as it stood).

    ``ReturnValuesOnConditionCheckFailure: ALL_OLD`` hands back the item that
    refused the condition, at no extra cost. PynamoDB's client drops it from
    the error, so the call goes to the same botocore client directly; any
    other error is raised as PynamoDB's ``UpdateError``, like every other write's.
    """
    connection = model._get_connection().connection
    request = connection.get_operation_kwargs(
        model.Meta.table_name,
        hash_key,
        actions=actions,
        condition=condition,
        return_values="ALL_NEW",
        return_values_on_condition_failure="ALL_OLD",
    )
    try:
        answer = connection.client.update_item(**request)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False, dict(error.response.get("Item") or {})
        raise UpdateError("Failed to update item", error) from error
    return True, dict(answer.get("Attributes") or {})


def delete_if(model: type[Model], hash_key: str, condition: Any) -> bool:
    """DeleteItem on ``condition``: True if deleted, False if the condition refused it (nothing changed)."""
    try:
        model._get_connection().delete_item(hash_key, condition=condition)
    except DeleteError as error:
        if condition_failed(error):
            return False
        raise
    return True


def put_item(model: type[Model], hash_key: str, attributes: dict[str, Any], *, version: int) -> None:
    """PutItem of raw attributes (any names), only if the item's ``v`` still equals ``version`` (0: no item yet)."""
    version_path = Path("v")
    condition = version_path.does_not_exist() if version == 0 else version_path == version
    model._get_connection().put_item(hash_key, attributes=attributes, condition=condition)
