"""Each user's counts of what reaches them, kept by the stream handler from the inbox's own change records.

A stream record carries the item before and after the change, so its
effect on the counts is ``contribution(new) - contribution(old)``. The
stream counts the records no write counted: sends (and retried sends,
fan-out chunks) and TTL's deletions. That keeps counters out of the
senders' writes (one item per receiver, not two; sends to the same user
never conflict on a counter item). A user's own changes count themselves
in their transactions (`chalicelib.counts.own`), so the user's next read
shows them; their records are left out here (`changes.counted_here`).

Exactly once, per shard: a user's records of one batch become one
``UpdateItem`` that adds their deltas and raises the item's guard for the
batch's shard, ``g:<shard>``, to their last sequence number, on condition
that it is still below their first. DynamoDB Streams orders records per
item, not per user: when a hot user's item collection splits across
partitions, their records come from two shards that Lambda reads at the
same time, and sequence numbers of two shards say nothing about each
other. Within one shard Lambda runs batches in order, so a replayed record
is always at or below that shard's guard: its update is refused, the item
is read, and only the records above the guard are applied (optimistically,
on the guard unchanged). Across shards no order is needed: every effect is
commutative (deltas add, the latest id only moves forward; the mutes are
copied by their own writes). Lambda names the shard only in tumbling-window
events (``shardId``), so the mapping has a window; it keeps no state.

A guard's records are older than the guard's time; past the mapping's
maximum record age Lambda never hands them over again, so a guard unused
for ``GUARD_KEPT_SECONDS`` is removed (`tidy`): a user's item holds the
guards of the shards of the last hours, not of every shard since ever.

`apply` is the one path: `deliver` runs it with its posts as the step
that follows each user's counts, the tests' catch-up with none. The
attributes are described in `chalicelib.counts.model`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

from pynamodb.exceptions import PynamoDBException, UpdateError
from pynamodb.expressions.operand import Path

from chalicelib import storage
from chalicelib.core.errors import BusyError
from chalicelib.counts.changes import Change
from chalicelib.counts.model import GUARD, GUARD_TIME, KINDS, TAG, Counts, read_many
from chalicelib.storage import UserCounts

logger = logging.getLogger(__name__)

# A user's counts update tried this often in one invocation before their records go back to Lambda:
# each retry of a partly failed batch counts toward the mapping's retry limit, after which it is given up.
COUNTS_ATTEMPTS = 4
# A shard's guard outlives its records: twice the mapping's maximum record age (an hour), so clocks may differ.
GUARD_KEPT_SECONDS = 2 * 3600
T = TypeVar("T")


def _guard(change: Change) -> Path:
    return Path(f"{GUARD}:{change.shard}")


def _actions(change: Change) -> list[Any]:
    when = Path(f"{GUARD_TIME}:{change.shard}").set(int(time.time()))
    actions: list[Any] = [_guard(change).set(change.last), when, Path("v").add(1)]
    for (kind, channel), delta in sorted(change.deltas.items()):
        if delta:
            actions.append(Path(f"{kind}:{channel}").add(delta))
    for channel, latest in sorted(change.latest.items()):
        actions.append(Path(f"l:{channel}").set(latest))
    return actions


def _update(change: Change, condition: Any) -> Counts:
    """The change, on ``condition`` and on each new latest id being newer than the stored one."""
    for channel, latest in change.latest.items():
        stored = Path(f"l:{channel}")
        condition &= stored.does_not_exist() | (stored < latest)
    return Counts.from_item(change.user_id, storage.update_item(UserCounts, change.user_id, _actions(change), condition))


Outcome = Counts | str  # the counts after the update, or why it did not happen
REPLAYED, FAILED = "replayed", "failed"


def first_try(change: Change) -> Outcome:
    """One user's change, on its shard's guard below its first record; REPLAYED when refused (`settle_replayed`)."""
    guard = _guard(change)
    try:
        counts = _update(change, guard.does_not_exist() | (guard < change.first))
    except UpdateError as error:
        if storage.condition_failed(error):
            return REPLAYED  # or a latest id older than the stored one: the careful path sorts it out
        logger.warning("counts update failed", extra={"code": error.cause_response_code})
        return FAILED
    except PynamoDBException as error:
        logger.warning("counts update failed", extra={"code": getattr(error, "cause_response_code", None)})
        return FAILED
    tidy(counts)
    return counts


def settle_replayed(changes: list[Change]) -> tuple[dict[str, Counts], list[Change]]:
    """The changes `first_try` found replayed: their counts now, and those that failed (to retry)."""
    done: dict[str, Counts] = {}
    failed: list[Change] = []
    if changes:
        _apply_replayed(changes, done, failed)
        for counts in done.values():
            tidy(counts)
    return done, failed


def apply(
    changes: dict[str, Change],
    users: Iterable[str],
    then: Callable[[str, Counts | None], T],
    *,
    counts_pool: Executor,
    then_pool: Executor,
    attempts: int = COUNTS_ATTEMPTS,
    echo: Iterable[str] = (),
) -> tuple[list[T], list[str]]:
    """Apply every user's change once; ``then(user, counts)`` as soon as that user's counts are stored.

    Every user's update starts at once on ``counts_pool``; each user's
    ``then`` runs on ``then_pool`` as soon as their own update is back (a user
    without a change gets ``then(user, None)`` at once). So one user's frames
    go out while another's counts are still being written, and slow posts
    never delay a counts update. A replayed change is settled (`settle_replayed`),
    a failed one tried again, up to ``attempts`` times in this call.
    The users in ``echo`` without a change (their own changes were counted
    by their writes) get their counts as stored, read in ⌈U/100⌉ calls.
    Returns what each ``then`` gave, and the users whose counts still failed.
    """
    quiet = [user for user in echo if user not in changes]
    try:
        echoed, unread = (read_many(quiet) if quiet else {}), []
    except (PynamoDBException, BusyError):
        echoed, unread = {}, quiet  # their frames go out; Lambda retries their records for the counts

    def update(user: str) -> Outcome | None:
        change = changes.get(user)
        return first_try(change) if change is not None else echoed.get(user)

    def first(user: str, written: Future[Outcome | None]) -> tuple[Outcome | None, list[T]]:
        outcome = written.result()
        if isinstance(outcome, str):
            return outcome, []  # replayed (settled below) or failed (tried again)
        return outcome, [then(user, outcome)]

    results: list[T] = []
    pending = list(users)
    for attempt in range(attempts):
        written = [counts_pool.submit(update, user) for user in pending]
        outcomes = dict(zip(pending, then_pool.map(first, pending, written), strict=True))
        results += [result for _, done in outcomes.values() for result in done]
        settled, failed = settle_replayed([changes[user] for user, (outcome, _) in outcomes.items() if outcome == REPLAYED])
        results += then_pool.map(then, list(settled), list(settled.values()))
        pending = [change.user_id for change in failed] + [u for u, (outcome, _) in outcomes.items() if outcome == FAILED]
        if not pending or attempt == attempts - 1:
            break
        storage.pause_before_retry(attempt)  # a throttled update: again, within this invocation
    return results, pending + unread


def _apply_replayed(changes: list[Change], done: dict[str, Counts], failed: list[Change]) -> None:
    """Records at or below their shard's guard were applied before: apply only the rest, on the guard unchanged.

    Also the path of a change whose latest id is older than the stored one
    (a fan-out chunk after a newer send): it keeps the newer.
    """
    pending = changes
    for attempt in range(storage.CONFLICT_RETRIES):
        try:
            stored = read_many([c.user_id for c in pending])
        except (PynamoDBException, BusyError):
            break
        again: list[Change] = []
        for change in pending:
            current = stored[change.user_id]
            applied = current.applied(change.shard)
            rest = change.after(applied)
            rest.latest = {c: i for c, i in rest.latest.items() if i > current.latest.get(c, "")}  # never backwards
            if rest.empty:
                done[change.user_id] = current
                continue
            try:
                guard = _guard(change)
                unchanged = guard == applied if applied else guard.does_not_exist()
                done[change.user_id] = _update(rest, unchanged)
            except UpdateError as error:
                if storage.condition_failed(error):
                    again.append(change)  # another batch moved it meanwhile: look again
                else:
                    failed.append(change)
        pending = again
        if not pending:
            return
        storage.pause_before_retry(attempt)
    failed.extend(pending)


def tidy(counts: Counts) -> None:
    """Remove what the item no longer needs, in a rare extra call: channels whose last message went, old guards.

    Each removal is on its own condition (the channel still empty, the guard
    not moved since), so a batch that changed them meanwhile keeps them.
    """
    # Every kind at 0, not only the total: a user's own change may be counted before the stream counts its message.
    channels = {c for (kind, c) in counts.values if kind == "t"}
    empty = sorted(c for c in channels if not any(counts.values.get((kind, c), 0) for kind in KINDS))
    stale = {shard: when for shard, (_, when) in counts.guards.items() if when < time.time() - GUARD_KEPT_SECONDS}
    tags = sorted(tag for (kind, tag), n in counts.values.items() if kind == TAG and n == 0)
    if not empty and not stale and not tags:
        return
    counted = [Path(f"{kind}:{channel}") for channel in empty for kind in KINDS] + [Path(f"{TAG}:{t}") for t in tags]
    checks = [path.does_not_exist() | (path == 0) for path in counted]
    checks += [Path(f"{GUARD_TIME}:{shard}") == when for shard, when in stale.items()]
    condition: Any = checks[0]
    for check in checks[1:]:
        condition &= check
    names = [f"{kind}:{c}" for c in empty for kind in (*KINDS, "l")]
    names += [f"{kind}:{shard}" for shard in stale for kind in (GUARD, GUARD_TIME)] + [f"{TAG}:{t}" for t in tags]
    try:
        storage.update_item(UserCounts, counts.user_id, [Path(n).remove() for n in names], condition)
    except UpdateError as error:
        # A message arrived or a batch came meanwhile (condition), or storage is busy: harmless, the next change tries again.
        logger.info("counts kept untidy", extra={"code": error.cause_response_code})
