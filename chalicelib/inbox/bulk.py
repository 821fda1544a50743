"""Changing many of one user's messages: in transactions, each with the counts it changes, paced and bounded.

Every transaction writes its messages and, last, one update of the user's
counts item with what they change (`counts.OwnChange`): the answer and the
counts move together, so the user's next read shows the change. A message
whose write is refused by its condition (changed meanwhile, or listed by
an index that lags its table) is read again and written from what it is
now, if it still needs the change; a conflict (another writer on the same
items, such as the stream on the counts item) is retried after a backoff.

A request is bounded (``limit`` messages, ``BULK_UNITS_PER_REQUEST`` write
units) and answers ``{updated, more}``: what it changed no longer matches
its filter, so the same request again goes on where it stopped. Its Query
reads pages of ``limit`` + 1 items (not DynamoDB's 1 MB; the one more says
whether ``more``): a request that changes 1,000 messages of 300 bytes reads
~38 read units, not 128. The pace is
a run's: the routes run one user's bulk changes one at a time
(`chalicelib.api.one_bulk_at_a_time`), so it is the user's too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import islice
from typing import Any

from pynamodb.exceptions import TransactWriteError

from chalicelib import storage
from chalicelib.core.backoff import Pace
from chalicelib.core.errors import BusyError
from chalicelib.counts import OwnChange
from chalicelib.storage import InboxMessage

# Write units a second one user's bulk change may spend: half of what a partition takes (1,000), so the
# user's key is never throttled and their sends and counts updates keep the other half.
BULK_UNITS_PER_SECOND = 500
# What one request's bulk change may spend: 10 s at that pace, so that with its queries and last transaction it
# ends well within 20 s (API Gateway gives up at 29 s) however large the messages are. Ordinary messages (≤ 1 KB)
# meet the message limit first: 1,000 cost 2,000 units to read or see and 4,000 to archive (config.py).
BULK_UNITS_PER_REQUEST = 10 * BULK_UNITS_PER_SECOND
BUSY = "the message is being changed elsewhere; try again"
Progress = dict[str, int | bool]  # a bulk change's answer: {"updated": n, "more": bool}
Write = Callable[[Any, InboxMessage, OwnChange], None]  # one message's actions, and what they do to the counts
Still = Callable[[InboxMessage], bool]  # whether a message read again still needs the change


def unchanged(message: InboxMessage) -> Any:
    """The item is still as it was read: what its counts' delta was computed from (status and seen)."""
    seen = InboxMessage.seen_at.does_not_exist() if message.seen_at is None else InboxMessage.seen_at == message.seen_at
    return (InboxMessage.status == message.status) & seen


def marked_copy(message: InboxMessage, mark: str) -> InboxMessage:
    """A copy of the message to write, carrying the fresh ``counted`` mark of a change that counts itself."""
    copy = InboxMessage.from_raw_data(message.serialize())
    copy.counted = mark
    return copy


def move_to(after: InboxMessage, condition: Any = None) -> Write:
    """The write that moves a message to ``after``'s key (the archive, a snooze, back): a delete and a put, with
    the counts they change; the delete on the message unchanged (and on ``condition``, when given)."""

    def write(transaction: Any, message: InboxMessage, own: OwnChange) -> None:
        own.item(message.serialize(), after.serialize())
        check = unchanged(message) if condition is None else unchanged(message) & condition
        transaction.delete(message, condition=check)
        transaction.save(after, condition=InboxMessage.id.does_not_exist())

    return write


def per_transaction(actions_per_message: int) -> int:
    """Messages in one transaction: its 100 actions less the counts update."""
    return (storage.MAX_TRANSACTION_ACTIONS - 1) // actions_per_message


def combined(copies: tuple[int, bool], own: Progress) -> Progress:
    """A change of "all" that first wrote ``copies`` (how many, whether some are left) of broadcasts, then ``own``."""
    return {"updated": copies[0] + int(own["updated"]), "more": copies[1] or bool(own["more"])}


def each_in_transactions(
    messages: Iterable[InboxMessage], write: Write, still: Still, limit: int, layout: tuple[int, ...] = (1,)
) -> Progress:
    """Apply ``write`` to the messages, a transaction at a time, paced, until ``limit`` changed or the
    request's write units are spent; ``more``: some are left for the next request.

    Only messages really changed count toward ``limit``: one another device changed meanwhile (or that an
    index lagging the table still lists) and that no longer needs the change is passed over, never using
    up a request.
    """
    pending = iter(messages)
    changed = 0
    pace = Pace(BULK_UNITS_PER_SECOND)
    while changed < limit:
        chunk = list(islice(pending, min(per_transaction(sum(layout)), limit - changed)))
        if not chunk:
            return {"updated": changed, "more": False}
        if pace.spent and pace.spent + storage.transaction_units(chunk, sum(layout)) > BULK_UNITS_PER_REQUEST:
            return {"updated": changed, "more": True}
        changed += in_transaction(chunk, write, still, layout, pace)
    return {"updated": changed, "more": next(pending, None) is not None}


def in_transaction(
    chunk: list[InboxMessage],
    write: Write,
    still: Still | None,
    layout: tuple[int, ...] = (1,),
    pace: Pace | None = None,
    field: str = "channel",
) -> int:
    """One transaction of one user's messages and their counts; how many it wrote.

    Messages refused by their condition are read again and kept if they ``still`` need the change
    (without ``still``, left to the caller); a conflict is retried after a backoff, then BusyError.
    """
    for attempt in range(storage.CONFLICT_RETRIES):
        if not chunk:
            return 0
        if pace is not None:
            pace.spend(storage.transaction_units(chunk, sum(layout)))
        own = OwnChange(chunk[0].user_id)
        try:
            with storage.transaction() as transaction:
                for message in chunk:
                    write(transaction, message, own)
                own.write(transaction)
            return len(chunk)
        except TransactWriteError as error:
            remaining = storage.not_refused(chunk, error, layout)
            if len(remaining) == len(chunk):
                storage.pause_before_retry(attempt)  # a conflict: the same writes again, after a backoff
                continue
            kept = {id(message) for message in remaining}
            refused = [(m.user_id, m.id) for m in chunk if id(m) not in kept]
            again = storage.read_batch(InboxMessage, refused, consistent=True) if still is not None else []
            chunk = remaining + [m for m in again if still is not None and still(m)]
    raise BusyError(f"{field}: {BUSY}")
