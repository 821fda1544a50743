"""One run at a time per key, shared by every function container through one item in the connections table.

A user's bulk change (mark all read or seen, archive all) paces its writes
at `chalicelib.inbox.bulk.BULK_UNITS_PER_SECOND`, half of what the user's
partition takes. That pace is one run's: two runs of the same user at once
(two tabs, or a client that ignores ``Retry-After`` and sends the request
again and again) would add their paces up, throttle the user's partition
and spend the table's and the account's capacity that every other user
shares. So a run first takes the user's lease: one conditional
``UpdateItem`` of ``lease#<key>`` that sets who holds it and until when,
on condition that nobody holds it or the holder's time is past. A second
run meanwhile is refused with the seconds until the lease ends
(``Retry-After``); the holder gives it back when it ends (a conditional
``DeleteItem``, on the holder being itself), so the next run waits for no
time at all. A container that dies holding it loses it after ``seconds``:
the function's timeout, past which no run can still be going.

When the table cannot be written (throttled or failing after botocore's
retries), the run goes on unleased and it is logged: a busy table must not
lock users out of their own inbox.
"""

from __future__ import annotations

import logging
import math
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from pynamodb.exceptions import PynamoDBException
from pynamodb.expressions.operand import Path

from chalicelib import storage
from chalicelib.storage import Connection

logger = logging.getLogger(__name__)

KEY_PREFIX = "lease#"
KEPT_SECONDS = 60  # an item left by a dead holder expires (TTL) this long after its lease


class Leases:
    """``hold(key)``: a context in which this run alone holds ``key``; `Refused` with the seconds to wait if another does."""

    def __init__(self, seconds: int, *, clock: Callable[[], float] = time.time) -> None:
        if seconds <= 0:
            raise ValueError(f"a lease lasts a positive number of seconds, got {seconds}")
        self.seconds = seconds
        self.clock = clock  # wall-clock seconds, the same in every container (tests move it)

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        holder = secrets.token_urlsafe(12)
        taken = self._take(key, holder)
        try:
            yield
        finally:
            if taken:
                self._give_back(key, holder)

    def _take(self, key: str, holder: str) -> bool:
        """Take the lease (True), or go on without it when the table is busy (False); `Refused` if it is held."""
        now = self.clock()
        until = Path("until")
        actions = [
            Path("holder").set(holder),
            until.set(math.ceil((now + self.seconds) * 1000)),
            Path("expiresAt").set(math.ceil(now) + self.seconds + KEPT_SECONDS),
        ]
        try:
            taken, item = storage.update_or_read(
                Connection, KEY_PREFIX + key, actions, until.does_not_exist() | (until < math.floor(now * 1000))
            )
        except PynamoDBException as error:
            if not storage.is_busy(error):
                raise
            logger.warning("lease unwritable; the run goes on without it", extra={"code": error.cause_response_code})
            return False
        if not taken and item.get("holder", {}).get("S") != holder:  # ours: a retried call whose first one went through
            raise Refused(max(1, math.ceil(int(item["until"]["N"]) / 1000 - now)))
        return True

    def _give_back(self, key: str, holder: str) -> None:
        try:
            storage.delete_if(Connection, KEY_PREFIX + key, Path("holder") == holder)
        except PynamoDBException as error:  # it ends at its time anyway
            logger.warning("lease not given back; it ends at its time", extra={"code": error.cause_response_code})


class Refused(Exception):  # noqa: N818 — a lease is refused, not failed
    """Another run holds the lease; ``retry_after``: whole seconds until its time is up."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"held by another run for {retry_after} s more")
        self.retry_after = retry_after
