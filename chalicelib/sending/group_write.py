"""Writing one send's inbox items: blind batch writes the first time, conditional ones on a retry.

A send's first attempt writes its items with BatchWriteItem (one write unit
per item: no transaction, no counter — the counts follow from the stream).
Its id is new, so nothing can be overwritten. Each batch gets one try that
botocore does not repeat (`store_at_once`): what it leaves is written again
marked as a late store, never unmarked behind newer messages. A later attempt under the
same id (a retried Idempotency-Key, a fan-out chunk run again) may find
items the first one wrote — and the user may since have read, archived or
deleted them — so it writes each receiver's item only if they hold none of
the message's items: a put conditional on the item not existing and three
condition checks (no ``archived#`` or ``snoozed#`` copy, no ``deleted#``
tombstone), 25 receivers per transaction. Whatever happens between two attempts, a user
never gets a message twice, a deleted one back, or a read one unread.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from pynamodb.exceptions import PynamoDBException, TransactWriteError

from chalicelib import storage
from chalicelib.core import tenants
from chalicelib.core.clock import iso_from_ms
from chalicelib.core.errors import BusyError
from chalicelib.core.ids import id_time_ms, new_id
from chalicelib.sending.commands import SendRequest
from chalicelib.storage import (
    ARCHIVED,
    DELETED,
    EXPIRY_ENTRY,
    SNOOZED,
    TAG_ENTRY,
    UNREAD,
    Entry,
    InboxMessage,
    InboxOneAttempt,
    entry_key,
)

BUSY_MESSAGE = "receivers: storage is busy and not every inbox was written; retry with the same Idempotency-Key"
HELD_AS = (ARCHIVED, SNOOZED, DELETED)  # a receiver holding the message in any of these forms must not get it again
MESSAGES_PER_TRANSACTION = storage.MAX_TRANSACTION_ACTIONS // (1 + len(HELD_AS))  # a put and a condition check each


def build_message(
    request: SendRequest, channel_title: str, send_id: str, user: str, expires_at: datetime, stored_id: str | None = None
) -> InboxMessage:
    """One receiver's item; every parameter but ``stored_id`` comes from the send, so a retry builds the same item.

    ``stored_id`` (minted just before a late store: an audience chunk, a
    retry) puts it in ``stored-index``, where the catch-up finds it behind
    the newer ids a client saw meanwhile.
    """
    channel = tenants.plain_channel(request.channel)  # the user's partition is already the tenant's
    message = InboxMessage(
        user,
        send_id,
        **{**request.stored_fields(), "channel": channel},
        channel_title=channel_title,
        created_at=iso_from_ms(id_time_ms(send_id)),
        user_channel=f"{user}#{channel}",
        expires_at=_expiry(request, expires_at),
        stored_id=stored_id,
    )
    message.set_status(UNREAD, None)
    return message


def _expiry(request: SendRequest, retained: datetime) -> datetime:
    """The item's TTL: the send's own expiry when it has one (to the next whole second: TTL keeps seconds), or the retention's."""
    if not request.expiry:
        return retained
    own = datetime.fromisoformat(request.expiry)
    return min(retained, own.replace(microsecond=0) + timedelta(seconds=1 if own.microsecond else 0))


def entries_of(message: InboxMessage) -> list[Entry]:
    """The entries that name a new message: one per tag, one for an expiry of its own (`chalicelib.storage.Entry`)."""
    found = [entry_key(TAG_ENTRY, tag, message.id) for tag in sorted(message.tags or ())]
    if message.expiry:
        found.append(entry_key(EXPIRY_ENTRY, message.expiry, message.id))
    return [Entry(message.user_id, key, expires_at=message.expires_at) for key in found]


def store_send(
    request: SendRequest,
    channel_title: str,
    send_id: str,
    users: list[str],
    expires_at: datetime,
    *,
    stored_id: str | None,
    fresh: bool,
    on_time: Callable[[], bool] | None = None,
) -> None:
    """Every user's item of one send (its receivers, or an audience chunk), in one call from the sender.

    Unmarked items (``stored_id`` None) get one attempt a batch while ``on_time()``; what they leave,
    and every item of a late store, is then written marked (`store_messages`).
    """
    messages = [build_message(request, channel_title, send_id, u, expires_at, stored_id) for u in users]
    if request.tags or request.expiry:  # written first: an entry whose message is not there yet is passed over
        try:
            storage.write_batches(Entry, [e for m in messages for e in entries_of(m)])
        except (PynamoDBException, BusyError) as error:
            raise BusyError(BUSY_MESSAGE) from error
    if stored_id is None:
        messages = store_at_once(messages, on_time or _never)
    store_messages(messages, fresh=fresh)


def _never() -> bool:
    return False


def store_at_once(messages: list[InboxMessage], on_time: Callable[[], bool]) -> list[InboxMessage]:
    """Write unmarked messages, one attempt a batch while ``on_time()``; the rest come back marked late, to store.

    An unmarked item is found by its id alone (`inbox.catch_up`), so it must land as its id is
    minted: a retry's pause (botocore's, or an unprocessed item's resend) would land it behind
    newer messages a client may have seen. What a batch's single attempt leaves (unprocessed,
    throttled, not started in time) gets a store-time id for `stored-index`, as any late store.
    """
    try:
        left = storage.try_batches(InboxOneAttempt, messages, on_time)
    except (PynamoDBException, BusyError) as error:
        raise BusyError(BUSY_MESSAGE) from error
    stored_id = new_id()
    for message in left:
        message.stored_id = stored_id
    return left


def store_messages(messages: list[InboxMessage], *, fresh: bool) -> None:
    """Store every message; ``fresh`` when no earlier attempt can have written any of them."""
    try:
        if fresh:
            storage.write_batches(InboxMessage, messages)
            return
        for start in range(0, len(messages), MESSAGES_PER_TRANSACTION):
            _store_missing(messages[start : start + MESSAGES_PER_TRANSACTION])
    except (PynamoDBException, BusyError) as error:
        raise BusyError(BUSY_MESSAGE) from error


def _store_missing(messages: list[InboxMessage]) -> None:
    """Each message unless its receiver holds it live, archived or deleted; the refused ones are left out."""
    missing = messages
    for attempt in range(storage.CONFLICT_RETRIES):
        if not missing:
            return
        try:
            with storage.transaction() as transaction:
                for message in missing:
                    transaction.save(message, condition=InboxMessage.id.does_not_exist())
                    for prefix in HELD_AS:
                        absent = InboxMessage.id.does_not_exist()
                        transaction.condition_check(InboxMessage, message.user_id, prefix + message.id, condition=absent)
            return
        except TransactWriteError as error:
            # The condition checks of each receiver, then the puts: those who hold it in any form are done.
            left = storage.not_refused(missing, error, layout=(len(HELD_AS), 1))
            if len(left) == len(missing):
                storage.pause_before_retry(attempt)
            missing = left
    raise BusyError(BUSY_MESSAGE)
