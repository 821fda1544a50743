"""Each user's counts, kept by the stream handler from the inbox's own change records.

A stream record carries the item before and after the change, so its
effect on the counts is ``contribution(new) - contribution(old)``: a send,
a read, a seen, an archive (the live item goes, its archived copy counts
nothing), a delete or a TTL expiry all count the same way, and no write
path has to touch a counter. That keeps counters out of the writers'
transactions (one item per receiver, not two; sends to the same user no
longer conflict on a counter item).

Exactly once: a user's records of one batch become one ``UpdateItem`` that
adds their deltas and raises the item's ``seq`` to their last sequence
number, on condition that ``seq`` is still below their first. DynamoDB
Streams orders the records of one partition key (all of a user's inbox
items) by sequence number, and Lambda runs a shard's batches in order,
parents before children, so a replayed record is always at or below
``seq``: its update is refused, the item is read, and only the records
above ``seq`` are applied (optimistically, on ``seq`` unchanged).

`apply` is the one path: `deliver` runs it with its posts as the step
that follows each user's counts, the tests' catch-up with none. The
attributes are described in `chalicelib.counts.model`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

from pynamodb.exceptions import PynamoDBException, UpdateError
from pynamodb.expressions.operand import Path

from chalicelib import storage
from chalicelib.core.errors import BusyError
from chalicelib.counts.changes import Change
from chalicelib.counts.model import KINDS, Counts, read_many
from chalicelib.storage import UserCounts

logger = logging.getLogger(__name__)

# A user's counts update tried this often in one invocation before their records go back to Lambda:
# each retry of a partly failed batch counts toward the mapping's retry limit, after which it is given up.
COUNTS_ATTEMPTS = 4
T = TypeVar("T")


def _actions(change: Change) -> list[Any]:
    actions: list[Any] = [Path("seq").set(change.last), Path("v").add(1)]
    for (kind, channel), delta in sorted(change.deltas.items()):
        if delta:
            actions.append(Path(f"{kind}:{channel}").add(delta))
    for channel, latest in sorted(change.latest.items()):
        actions.append(Path(f"l:{channel}").set(latest))
    if change.muted is not None:
        actions.append(Path("muted").set(change.muted) if change.muted else Path("muted").remove())
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
    """One user's change, on ``seq`` below its first record; REPLAYED when refused (`settle_replayed` sorts it out)."""
    seq = Path("seq")
    try:
        counts = _update(change, seq.does_not_exist() | (seq < change.first))
    except UpdateError as error:
        if storage.condition_failed(error):
            return REPLAYED  # or a latest id older than the stored one: the careful path sorts it out
        logger.warning("counts update failed", extra={"code": error.cause_response_code})
        return FAILED
    except PynamoDBException as error:
        logger.warning("counts update failed", extra={"code": getattr(error, "cause_response_code", None)})
        return FAILED
    drop_empty_channels(counts)
    return counts


def settle_replayed(changes: list[Change]) -> tuple[dict[str, Counts], list[Change]]:
    """The changes `first_try` found replayed: their counts now, and those that failed (to retry)."""
    done: dict[str, Counts] = {}
    failed: list[Change] = []
    if changes:
        _apply_replayed(changes, done, failed)
        for counts in done.values():
            drop_empty_channels(counts)
    return done, failed


def apply(
    changes: dict[str, Change],
    users: Iterable[str],
    then: Callable[[str, Counts | None], T],
    *,
    counts_pool: Executor,
    then_pool: Executor,
    attempts: int = COUNTS_ATTEMPTS,
) -> tuple[list[T], list[str]]:
    """Apply every user's change once; ``then(user, counts)`` as soon as that user's counts are stored.

    Every user's update starts at once on ``counts_pool``; each user's
    ``then`` runs on ``then_pool`` as soon as their own update is back (a user
    without a change gets ``then(user, None)`` at once). So one user's frames
    go out while another's counts are still being written, and slow posts
    never delay a counts update. A replayed change is settled (`settle_replayed`),
    a failed one tried again, up to ``attempts`` times in this call.
    Returns what each ``then`` gave, and the users whose counts still failed.
    """

    def update(user: str) -> Outcome | None:
        change = changes.get(user)
        return first_try(change) if change is not None else None

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
    return results, pending


def _apply_replayed(changes: list[Change], done: dict[str, Counts], failed: list[Change]) -> None:
    """Records at or below ``seq`` were applied before: apply only the rest, on ``seq`` unchanged.

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
            rest = change.after(current.sequence)
            rest.latest = {c: i for c, i in rest.latest.items() if i > current.latest.get(c, "")}  # never backwards
            if rest.empty:
                done[change.user_id] = current
                continue
            try:
                seq = Path("seq")
                unchanged = seq == current.sequence if current.sequence else seq.does_not_exist()
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


def drop_empty_channels(counts: Counts) -> None:
    """A channel whose last message went: remove its attributes so the item stays small (a rare extra call)."""
    empty = [c for (kind, c), n in counts.values.items() if kind == "t" and n == 0]
    if not empty:
        return
    condition: Any = None
    for channel in empty:
        check = Path(f"t:{channel}") == 0
        condition = check if condition is None else condition & check
    names = [f"{kind}:{c}" for c in empty for kind in (*KINDS, "l")]
    try:
        storage.update_item(UserCounts, counts.user_id, [Path(n).remove() for n in names], condition)
    except UpdateError as error:
        # A message arrived meanwhile (condition), or storage is busy: harmless, the next change tries again.
        logger.info("empty channels kept", extra={"code": error.cause_response_code})
