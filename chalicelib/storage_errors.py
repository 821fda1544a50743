"""Reading PynamoDB's errors, and backing off from the retryable ones, in one place."""

from __future__ import annotations

import random
import time

from pynamodb.exceptions import PynamoDBException, TransactWriteError

CONDITION_FAILED = "ConditionalCheckFailed"
TRANSACTION_CONFLICT = "TransactionConflict"


def condition_failed(error: PynamoDBException) -> bool:
    """A single-item write refused by its condition expression."""
    return error.cause_response_code == "ConditionalCheckFailedException"


def cancellation_codes(error: TransactWriteError) -> list[str | None]:
    """Why each action of a cancelled transaction failed (None where it did not), in action order."""
    return [reason.code if reason else None for reason in (error.cancellation_reasons or [])]


def full_jitter(attempt: int, base: float, cap: float = 2.0) -> float:
    """AWS's "full jitter": a uniform pick below the exponential ceiling."""
    return random.uniform(0, min(cap, base * 2**attempt))


def pause(attempt: int, base: float) -> None:
    time.sleep(full_jitter(attempt, base))
