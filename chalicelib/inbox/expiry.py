"""Messages past their expiry that TTL has not deleted yet: never counted, and deleted when found.

DynamoDB's TTL deletes an expired item within days, not at once; until
then the item is still counted (its REMOVE record is what takes it off
the counts). The lists leave such items out (`queries`); the counts read
here leave them out too. A message expires at its id's time plus the
retention, so a user's expired live messages are the ids below the first
id of (now − retention): one Query on the key, found empty nearly always.
Those it finds are deleted at once, as TTL would, each transaction with
their counts (an app delete counts itself: `counts.own`); the stream tells
every open tab the counts they leave.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chalicelib import counts
from chalicelib.core.clock import utc_now
from chalicelib.core.errors import BusyError
from chalicelib.core.ids import first_id_at_ms
from chalicelib.counts import Counts, OwnChange
from chalicelib.inbox.bulk import in_transaction, per_transaction, unchanged
from chalicelib.storage import InboxMessage


def expired(message: InboxMessage, now: datetime) -> bool:
    """Past its expiry but maybe not yet deleted: TTL deletes within days, not at once; it is gone already."""
    return message.expires_at is not None and message.expires_at <= now


def current_counts(user_id: str, retention: timedelta) -> Counts:
    """The user's counts less the messages that expired and are not yet deleted (which this deletes)."""
    stored = counts.read(user_id)
    now = utc_now()
    cutoff = first_id_at_ms(int((now - retention).timestamp() * 1000))
    found = [m for m in InboxMessage.query(user_id, InboxMessage.id < cutoff) if expired(m, now)]
    if not found:
        return stored
    for start in range(0, len(found), per_transaction(1)):
        try:
            in_transaction(found[start : start + per_transaction(1)], _delete, None)  # one refused is gone: TTL's
        except BusyError:
            break  # the answer leaves them out all the same; the next read deletes them
    return stored.without(m.serialize() for m in found)


def _delete(transaction: Any, message: InboxMessage, own: OwnChange) -> None:
    own.item(message.serialize(), None)
    transaction.delete(message, condition=unchanged(message))
