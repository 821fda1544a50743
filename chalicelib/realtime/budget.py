"""The account's ``@connections`` budget, shared by every function container through one item per second.

API Gateway throttles ``@connections`` per account and Region (10,000
requests a second, shared with every API there). `Pacer` paces one
container, but a busy stream has one ``Deliver`` container per shard, and
their sum can pass the account's quota: AIMD only answers the 429s once
they come. So every container also takes its posts from a budget of
``INAPP_POST_BUDGET`` a second, kept in the connections table: the item
``budget#<second>`` counts the posts leased in that second. A container
leases a block at a time with one conditional ``UpdateItem`` (``used``
never passes the budget), smaller blocks when the second's budget is
nearly gone, and waits for the next second when it is gone.

One write per block (1 % of the posts at the default budget); the item of
one second takes at most budget / block writes (100 a second at 10,000),
far below the 1,000 a partition key takes. When the budget cannot be read
(storage busy), posts go on under the container's own `Pacer`: a busy
table must not stop delivery, and 429s still halve the pace.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from pynamodb.exceptions import PynamoDBException
from pynamodb.expressions.operand import Path

from chalicelib import storage
from chalicelib.storage import Connection

logger = logging.getLogger(__name__)

BUDGET_PREFIX = "budget#"
BLOCKS_PER_SECOND = 100  # a block is 1 % of a second's budget: few writes, little left unused in a container
KEPT_SECONDS = 120  # a second's item expires (TTL) after this


class AccountBudget:
    """Posts a second for all containers together; ``take`` blocks until this container may post once more."""

    def __init__(
        self,
        per_second: int,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_second <= 0:
            raise ValueError(f"per_second must be positive, got {per_second}")
        self.per_second = per_second
        self.block = max(1, per_second // BLOCKS_PER_SECOND)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()  # a container's threads lease one block at a time, and share it
        self._second = -1
        self._left = 0
        self._leasing = False

    def take(self) -> float:
        """One post's share of the budget; returns the seconds waited for the next second's.

        One thread leases at a time, outside the lock: while its call is out (slow when the
        table throttles it and botocore backs off), the others post on under the container's
        own pace rather than queue behind it.
        """
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                second = int(now)
                if self._second == second and self._left > 0:
                    self._left -= 1
                    return waited
                if self._leasing:
                    return waited
                self._leasing = True
            granted = 0
            try:
                granted = self._lease(second)
            finally:
                with self._lock:
                    self._leasing = False
                    self._second, self._left = second, granted
            if granted:
                continue
            pause = second + 1 - now
            self._sleep(pause)
            waited += pause

    def _lease(self, second: int) -> int:
        """Posts leased for ``second``: a block, or less near the end of its budget; 0 when it is gone."""
        size = self.block
        while size >= 1:
            used = Path("used")
            try:
                storage.update_item(
                    Connection,
                    f"{BUDGET_PREFIX}{second}",
                    [used.add(size), Path("expiresAt").set(second + KEPT_SECONDS)],
                    used.does_not_exist() | (used <= self.per_second - size),
                )
                return size
            except PynamoDBException as error:
                if not storage.condition_failed(error):
                    logger.warning("post budget unreadable; pacing alone", extra={"code": error.cause_response_code})
                    return self.block  # storage busy: post on, under the container's own pace
            size //= 10
        return 0
