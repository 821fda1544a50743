"""Idempotency-Key handling: the first answer to (caller, key) is kept 24 h.

A key is claimed with a conditional put that also fixes the send ids, so a
retry after a failure reuses the same ids and the inbox's conditional puts
turn it into a no-op for receivers already written. A claim carries a short
lease: a second request while the first is still running gets 409, a retry
after the first failed (or its Lambda died) takes the claim over.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pynamodb.exceptions import PutError, UpdateError

from chalicelib import storage
from chalicelib.core.clock import utc_now
from chalicelib.core.errors import BusyError, ConflictError
from chalicelib.storage import IdempotencyRecord, condition_failed, refused_as

logger = logging.getLogger(__name__)

KEEP_FOR = timedelta(hours=24)
LEASE_SECONDS = 60
PENDING, DONE, FAILED = "pending", "done", "failed"
CLAIM_ATTEMPTS = 3
STILL_RUNNING = "Idempotency-Key: a request with this key is still running"


@dataclass(frozen=True)
class Claim:
    """Either the stored first answer (``replay``) or the ids to write under."""

    record_key: str
    send_ids: list[str]
    replay: Any = None
    fresh: bool = True  # False when taken over from a failed attempt, which may have stored part of the send


def key_of(scope: str, key: str) -> str:
    """A JSON pair, so no (scope, key) can spell another's: ``ops``+``team#k1`` ≠ ``ops#team``+``k1``."""
    return json.dumps([scope, key], ensure_ascii=False, separators=(",", ":"))


def claim(scope: str, key: str, body_hash: str, fresh_ids: list[str]) -> Claim:
    """Claim ``key`` for this body, or return what its first use answered."""
    for _ in range(CLAIM_ATTEMPTS):
        found = _try_claim(key_of(scope, key), body_hash, fresh_ids)
        if found is not None:
            return found
    raise BusyError("Idempotency-Key: the key is changing hands; retry")


def _try_claim(item_key: str, body_hash: str, fresh_ids: list[str]) -> Claim | None:
    """A claim, or None when the record vanished between our put and our read (retry)."""
    now = time.time()
    record = IdempotencyRecord(
        item_key,
        body_hash=body_hash,
        state=PENDING,
        send_ids=",".join(fresh_ids),
        lease_until=int(now) + LEASE_SECONDS,
        expires_at=KEEP_FOR,
    )
    try:
        record.save(condition=IdempotencyRecord.key.does_not_exist() | (IdempotencyRecord.expires_at < utc_now()))
        return Claim(item_key, fresh_ids)
    except PutError as error:
        if not condition_failed(error):
            raise
    try:
        existing = IdempotencyRecord.get(item_key, consistent_read=True)
    except IdempotencyRecord.DoesNotExist:
        return None  # released and deleted meanwhile
    if existing.body_hash != body_hash:
        raise ConflictError("Idempotency-Key: was already used with a different body")
    if existing.state == DONE:
        return Claim(item_key, existing.send_ids.split(","), replay=json.loads(existing.response or "null"))
    if existing.state == PENDING and existing.lease_until > now:
        raise ConflictError(STILL_RUNNING)
    with refused_as(ConflictError(STILL_RUNNING)):
        existing.update(
            actions=[IdempotencyRecord.state.set(PENDING), IdempotencyRecord.lease_until.set(int(now) + LEASE_SECONDS)],
            condition=IdempotencyRecord.lease_until == existing.lease_until,
        )
    return Claim(item_key, existing.send_ids.split(","), fresh=False)


def complete(item_key: str, response: Any) -> None:
    _settle(item_key, [IdempotencyRecord.state.set(DONE), IdempotencyRecord.response.set(json.dumps(response))])


def release(item_key: str) -> None:
    """The send failed midway: let a retry with the same key take over at once."""
    _settle(item_key, [IdempotencyRecord.state.set(FAILED), IdempotencyRecord.lease_until.set(0)])


def _settle(item_key: str, actions: list[Any]) -> None:
    """Record how the request ended, trying a little harder than botocore does.

    If this write is lost the claim still expires with its lease, but every
    retry until then would get a 409 "still running" — so a throttled write is
    retried a few times, then given up with a warning (never failing a send
    that is already stored).
    """
    for attempt in range(storage.CONFLICT_RETRIES):
        try:
            IdempotencyRecord(item_key).update(actions=actions)
            return
        except UpdateError as error:
            if not storage.is_busy(error):
                raise
            storage.pause_before_retry(attempt)
    logger.warning("idempotency record not settled; its lease frees it", extra={"code": "busy"})


def abandon(item_key: str) -> None:
    """The request was refused (e.g. unknown channel): free the key entirely."""
    IdempotencyRecord(item_key).delete()
