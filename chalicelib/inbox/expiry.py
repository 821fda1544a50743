"""Messages past their expiry that TTL has not deleted yet: never counted, and deleted when found.

DynamoDB's TTL deletes an expired item within days, not at once; until
then the item is still counted (its REMOVE record is what takes it off
the counts). The lists leave such items out (`queries`); the counts read
here leave them out too. A message expires at its id's time plus the
retention, so a user's expired live messages are the ids below the first
id of (now − retention): one Query on the key, found empty nearly always.
A message sent with an ``expiresAt`` of its own has an entry
``exp#<expiresAt>#<id>`` and is counted in ``x:<channel>``: while a user has
any, the entries up to now are one more Query (and a BatchGetItem of
their messages when there are any).
Those it finds are deleted at once, as TTL would, each transaction with
their counts (an app delete counts itself: `counts.own`); the stream tells
every open tab the counts they leave.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib import broadcast, storage
from chalicelib.core.clock import iso, utc_now
from chalicelib.core.errors import BusyError
from chalicelib.core.ids import first_id_at_ms
from chalicelib.counts import Counts, OwnChange
from chalicelib.inbox.bulk import in_transaction, per_transaction, unchanged
from chalicelib.storage import EXPIRY_ENTRY, Entry, InboxMessage, entry_key

if TYPE_CHECKING:
    from chalicelib.broadcast import IndexEntry


def expired(message: InboxMessage, now: datetime) -> bool:
    """Past its expiry but maybe not yet deleted: TTL deletes within days, not at once; it is gone already.

    An expiry of the message's own counts to the millisecond (TTL keeps whole seconds, rounded up).
    """
    if message.expiry is not None and datetime.fromisoformat(message.expiry) <= now:
        return True
    return message.expires_at is not None and message.expires_at <= now


def current_counts(user_id: str, retention: timedelta) -> Counts:
    """The user's counts less the messages that expired and are not yet deleted (which this deletes), with the
    broadcasts they hold (`chalicelib.broadcast`: read with the counts item)."""
    return counts_and_held(user_id, retention)[0]


def counts_and_held(user_id: str, retention: timedelta) -> tuple[Counts, list[IndexEntry]]:
    """`current_counts`, and the broadcasts in them (newest first)."""
    stored, held = broadcast.read_counts(user_id)
    return broadcast.counts_with(_without_expired(user_id, stored, retention), held), held


def _without_expired(user_id: str, stored: Counts, retention: timedelta) -> Counts:
    now = utc_now()
    cutoff = first_id_at_ms(int((now - retention).timestamp() * 1000))
    found = [m for m in InboxMessage.query(user_id, InboxMessage.id < cutoff) if expired(m, now)]
    if stored.with_own_expiry:  # some have an expiry of their own: their entries up to now name the expired ones
        due = Entry.query(user_id, Entry.id.between(EXPIRY_ENTRY, entry_key(EXPIRY_ENTRY, iso(now), "~")))
        keys = [(user_id, entry.message_id) for entry in due]
        found += [m for m in storage.read_batch(InboxMessage, keys, consistent=True) if expired(m, now)]
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
