"""Messages the stream hands over late are marked, so a reconnecting client's catch-up still finds them.

The catch-up (``GET /me/messages?after=<newest id seen>``) reads ids from
``ORDER_WINDOW_MS`` before ``after``, and messages stored late by their
``storedId`` (`stored-index`). That assumed a message reaches delivery
within moments of its id. The stream does not promise it: after a
partition split one user's messages come from two shards, and a shard
retrying a failed batch holds its messages back while its sibling goes on,
so a client can see newer messages first. Should the older one's post then
find the socket gone, the client reconnects with an ``after`` past it and
the id range misses it for good (a full ``make chaos`` run lost one message
this way, minutes late).

So a message whose INSERT reaches delivery more than `LATE_DELIVERY_MS`
after its id gets a fresh ``storedId`` before any frame is posted, as a
late store does — for users with a live connection, and for users whose
last connection went after the message's id was minted (``leftAt`` on
their connections item): only a client connected while the message was on
its way can have seen a newer one and missed this one's frame (a full
``make chaos`` run with broadcasts lost six this way: the socket dropped
between a newer message's frame and the older one's late delivery, the
reconnect caught up after the newer id). A client gone before the message
existed saw nothing newer: its catch-up's id range finds it, and a page
opened later lists it like any other. On time — the usual case — this
writes nothing; late, one conditional UpdateItem per message of an online
user (a backlog of an audience send, mostly to users who are not
connected, stays nearly free). The MODIFY it causes changes no state: it
makes no frame and no count. A replayed INSERT marks it again, later:
harmless.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import Executor

from pynamodb.exceptions import UpdateError

from chalicelib import storage
from chalicelib.core.ids import id_time_ms, is_valid_id, new_id
from chalicelib.storage import InboxMessage, StreamRecord

# Half the catch-up's ORDER_WINDOW_MS (6 s): the other half is margin for the clocks of the machines minting ids.
LATE_DELIVERY_MS = 3_000


def late_messages(records: Iterable[StreamRecord], now_ms: int) -> list[tuple[str, str]]:
    """(user, message id) of each new live message in ``records`` whose id is older than the delivery allows."""
    late = []
    for record in records:
        item_id = record.new_string("id") or ""
        user = record.new_string("userId")
        # A live message's id: not an archived copy's or a tombstone's (prefixed), nor the preferences item's.
        if record.event_name != "INSERT" or user is None or not is_valid_id(item_id):
            continue
        if record.new_string("copiedAt") is not None:  # a broadcast's copy: its user has it (`chalicelib.broadcast`)
            continue
        moved_back = record.new_string("restoredAt") or record.new_string("unsnoozedAt")  # marked stored when moved
        if moved_back is None and now_ms - id_time_ms(item_id) > LATE_DELIVERY_MS:
            late.append((user, item_id))
    return late


def seen_before_leaving(by_user: dict[str, list[StreamRecord]], left: dict[str, int]) -> list[StreamRecord]:
    """The records of users no longer connected whose ids were minted before the user left (``left``, ms; with
    `LATE_DELIVERY_MS` for the clocks): their clients may have seen newer messages before going."""
    return [
        record
        for user, left_ms in left.items()
        for record in by_user.get(user, [])
        if is_valid_id(record.new_string("id") or "") and id_time_ms(record.new_string("id") or "") <= left_ms + LATE_DELIVERY_MS
    ]


def mark_late(records: Iterable[StreamRecord], now_ms: int, executor: Executor) -> int:
    """Give each late message a fresh ``storedId`` (side by side); how many were marked.

    A message gone meanwhile (read into the archive, deleted) is left alone.
    A failed write raises: the batch is retried, marks included.
    """
    late = late_messages(records, now_ms)
    return sum(executor.map(lambda key: _mark(*key), late))


def _mark(user: str, message_id: str) -> int:
    try:
        InboxMessage(user, message_id).update(actions=[InboxMessage.stored_id.set(new_id())], condition=InboxMessage.id.exists())
    except UpdateError as error:
        if storage.condition_failed(error):
            return 0
        raise
    return 1
