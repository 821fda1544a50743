"""Writing one send's inbox items: blind batch writes the first time, conditional ones on a retry.

A send's first attempt writes its items with BatchWriteItem (one write unit
per item: no transaction, no counter — the counts follow from the stream).
Its id is new, so nothing can be overwritten. A later attempt under the
same id (a retried Idempotency-Key, a redelivered fan-out step) may find
items the first one wrote — and the user may since have read, archived or
deleted them — so it writes only receivers who hold none of the message's
items (live, ``archived#`` or ``deleted#``: read in one BatchGetItem per
100), each put conditional, ≤ 100 per transaction.
"""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import PynamoDBException, TransactWriteError

from chalicelib import storage
from chalicelib.clock import iso_from_ms
from chalicelib.errors import BusyError
from chalicelib.ids import id_time_ms
from chalicelib.models import ARCHIVED, DELETED, UNREAD, InboxMessage
from chalicelib.parsing import SendRequest

BUSY_MESSAGE = "receivers: storage is busy and not every inbox was written; retry with the same Idempotency-Key"
KEYS_PER_READ = 100 // 3  # a receiver's three possible items per BatchGetItem of ≤ 100 keys


def build_message(request: SendRequest, channel_title: str, send_id: str, user: str, expires_at: datetime) -> InboxMessage:
    """One receiver's item; every parameter comes from the send, so a retry builds the very same item."""
    message = InboxMessage(
        user,
        send_id,
        channel=request.channel,
        channel_title=channel_title,
        title=request.title,
        content=request.content,
        url=request.url,
        mobile_url=request.mobile_url,
        duration=request.duration,
        severity=request.severity,
        actions=request.actions_json(),
        created_at=iso_from_ms(id_time_ms(send_id)),
        user_channel=f"{user}#{request.channel}",
        expires_at=expires_at,
    )
    message.set_status(UNREAD, None)
    return message


def store_messages(messages: list[InboxMessage], *, fresh: bool) -> None:
    """Store every message; ``fresh`` when no earlier attempt can have written any of them."""
    try:
        if fresh:
            storage.write_batch(InboxMessage, messages, [])
            return
        for start in range(0, len(messages), KEYS_PER_READ):
            _store_missing(messages[start : start + KEYS_PER_READ])
    except (PynamoDBException, BusyError) as error:
        raise BusyError(BUSY_MESSAGE) from error


def _store_missing(messages: list[InboxMessage]) -> None:
    """The messages whose receiver holds none of this message's items, with conditional puts."""
    keys = [(m.user_id, prefix + m.id) for m in messages for prefix in ("", ARCHIVED, DELETED)]
    holding = {found.user_id for found in InboxMessage.batch_get(keys, attributes_to_get=["userId", "id"])}
    missing = [m for m in messages if m.user_id not in holding]
    for attempt in range(storage.CONFLICT_RETRIES):
        if not missing:
            return
        try:
            with storage.transaction() as transaction:
                for message in missing:
                    transaction.save(message, condition=InboxMessage.id.does_not_exist())
            return
        except TransactWriteError as error:
            left = storage.not_refused(missing, error)  # written meanwhile by a concurrent copy of this step
            if len(left) == len(missing):
                storage.pause_before_retry(attempt)
            missing = left
    raise BusyError(BUSY_MESSAGE)
