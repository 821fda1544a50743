"""Delivery: inbox stream records → the user's counts, then frames on every connection of the user.

Per user of the batch: first the batch's effect on their counts is
applied, once (`counts`: one UpdateItem, whose answer is the new counts —
so live counts cost no extra call), then their frames go to each of their
connections, in order. Every user's update starts at once on a counts
pool, and as soon as a user's own update is back, each of their
connections gets a task of its own on the posting pool (its frames in
order): one user's frames leave while another's counts are still being
written, and a user's connections are posted side by side, never one after
another in one worker while the batch waits. The receivers' connections
are looked up before, ⌈U/100⌉ BatchGetItem, at most the cap's worth per
user (the newest): a user holding many slow sockets adds a bounded number
of posts to a batch. The frames, from each record's kind of item, and the
counts riding on a user's last new message: `chalicelib.realtime.frames`.

A connection whose token's ``exp`` has passed gets no frame: it is closed
instead (4001, `chalicelib.realtime.closing`), and forgotten.

Posts run concurrently on a thread pool through `chalicelib.realtime.poster`,
which retries 429 (LimitExceeded) and 5xx with exponential backoff and full
jitter. Per post: 410 → forget that connection (unless it is only
seconds old: API Gateway answers 410 while ``$connect`` still runs);
413 → log and drop the frame (the counts a message carried go alone);
anything else still failing → the record's sequence number goes to
``batchItemFailures`` so Lambda retries from it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from pynamodb.exceptions import PynamoDBException

from chalicelib import counts
from chalicelib.core import metrics
from chalicelib.core.errors import BusyError
from chalicelib.counts import Counts
from chalicelib.realtime import late
from chalicelib.realtime.closing import TOKEN_EXPIRED, Closer
from chalicelib.realtime.connections import ConnectionRegistry, LiveConnection
from chalicelib.realtime.frames import Frame, user_frames
from chalicelib.realtime.poster import Outcome
from chalicelib.storage import (
    StreamRecord,
)

logger = logging.getLogger(__name__)

POST_WORKERS = 64
GONE_GRACE_SECONDS = 10.0


@dataclass
class BatchReport:
    """What one batch did; ``failures`` become ``batchItemFailures``."""

    frames: int = 0
    posts: int = 0
    sent: int = 0
    gone: int = 0
    dropped: int = 0
    failed_posts: int = 0
    failures: list[str] = field(default_factory=list)

    def response(self) -> dict[str, list[dict[str, str]]]:
        return {"batchItemFailures": [{"itemIdentifier": seq} for seq in self.failures]}

    def publish(self) -> None:
        """The batch's outcome as metrics (flushed once per invocation by `metrics.middleware`)."""
        for name, value in (
            (metrics.FRAMES_POSTED, self.sent),
            (metrics.CONNECTIONS_GONE, self.gone),
            (metrics.FRAMES_DROPPED, self.dropped),
            (metrics.POSTS_FAILED, self.failed_posts),
            (metrics.BATCH_ITEM_FAILURES, len(self.failures)),
        ):
            metrics.add(name, value)


Posts = list[tuple[LiveConnection, Frame, Outcome]]  # one connection's frames, each with its post's outcome
Posted = tuple[int, list[Future[Posts]]]  # one user's frame count, and each of their connections' posts on the pool


class Delivery:
    """Turns a batch of stream records into posts and reports what failed."""

    def __init__(
        self,
        registry: ConnectionRegistry,
        post: Callable[[str, bytes], Outcome],
        executor: ThreadPoolExecutor,
        clock: Callable[[], float] = time.time,
        counts_executor: ThreadPoolExecutor | None = None,
        closer: Closer | None = None,
        held_counts: Callable[[list[str]], dict[str, Callable[[Counts], Counts]]] | None = None,
    ) -> None:
        self._registry = registry
        self._post = post
        self._executor = executor
        self._clock = clock
        self._closer = closer  # closes expired tokens' connections; without one they are only skipped
        # What the frames' counts add to the stored ones: each online user's broadcasts (chalicelib.broadcast).
        self._held_counts = held_counts or (lambda users: {})
        # Counts get a pool of their own, so slow posts never hold back a user's counts update.
        self._counts_executor = counts_executor or ThreadPoolExecutor(max_workers=POST_WORKERS, thread_name_prefix="counts")

    def handle_event(self, event: dict[str, Any]) -> dict[str, Any]:
        """Lambda's event: the records of one shard, named in a tumbling window's events (``shardId``).

        The mapping's window is there only for that name: the state it would
        carry stays empty, but must be answered, or Lambda takes the
        invocation as failed. The window's last invocation may carry no record.
        """
        response: dict[str, Any] = self.handle(event.get("Records") or [], event.get("shardId") or counts.ANY_SHARD).response()
        if "window" in event:
            response["state"] = {}
        return response

    def handle(self, records: Iterable[dict[str, Any]], shard: str = counts.ANY_SHARD) -> BatchReport:
        """Deliver a batch: per user, their counts first, then their frames on every live connection.

        Every user's counts update starts at once on the counts pool; as soon
        as a user's own update is back, each of their connections is posted to
        by a task of its own on the posting pool. So one user's frames go out
        while another's counts are still being written, slow posts never delay
        a counts update, and one user's connections are posted side by side.
        """
        report = BatchReport()
        parsed = self._read(records)
        changes = counts.changes_from(parsed, shard)
        by_user: dict[str, list[StreamRecord]] = {}
        for record in parsed:
            by_user.setdefault(counts.record_user(record), []).append(record)
        connections, unread, left = self._registry.lookup(list(by_user)) if by_user else ({}, set(), {})
        online = [record for user in connections for record in by_user[user]]
        online += late.seen_before_leaving(by_user, left)  # a client gone since may have seen newer ones
        late.mark_late(online, int(self._clock() * 1000), self._executor)  # before any frame: a catch-up finds them

        adders = self._held_counts(list(connections)) if connections else {}

        def deliver(user: str, stored: Counts | None) -> Posted:  # runs on the posting pool: submits, never waits
            if stored is not None and user in adders:
                stored = adders[user](stored)  # as the user's reads show them: with the broadcasts they hold
            frames = user_frames(by_user[user], changes.get(user), stored)
            if not frames:
                return 0, []
            now = self._clock()
            posted = []
            for live in connections.get(user, []):
                task = (self._close_expired, live) if live.expired(now) else (self._post_in_order, live, frames)
                posted.append(self._executor.submit(*task))
            return len(frames), posted

        echo = [user for user in connections if counts.echoes_counts(by_user[user])]  # own changes: their counts as stored
        results, pending = counts.apply(
            changes, by_user, deliver, counts_pool=self._counts_executor, then_pool=self._executor, echo=echo
        )
        # Every record of a user whose counts or connections could not be read is retried by Lambda, frames included.
        failures = {r.sequence_number: None for user in [*pending, *unread] for r in by_user[user]}
        now = self._clock()
        report.frames = sum(frames for frames, _ in results)
        for live, frame, outcome in (post for _, posted in results for future in posted for post in future.result()):
            self._count(frame, live, outcome, now, report, failures)
        report.failures = list(failures)
        report.publish()
        logger.info(
            "batch delivered",
            extra={
                "frames": report.frames,
                "posts": report.posts,
                "gone": report.gone,
                "dropped": report.dropped,
                "failures": len(report.failures),
            },
        )
        return report

    @staticmethod
    def _read(records: Iterable[dict[str, Any]]) -> list[StreamRecord]:
        parsed: list[StreamRecord] = []
        for raw in records:
            try:
                parsed.append(StreamRecord.parse(raw))
            except (KeyError, TypeError, ValueError, AttributeError) as error:
                # A record we cannot read will not get better on retry: log, skip, keep the rest.
                logger.error("unreadable stream record", extra={"code": type(error).__name__})
        return parsed

    def _post_in_order(self, live: LiveConnection, frames: list[Frame]) -> Posts:
        """One connection's frames in order (a message before the counts it changed).

        Stops at a closed socket, and at a failed post: its record goes back to
        Lambda, whose retry re-sends it and every later frame, still in order.
        """
        posted: Posts = []
        for frame in frames:
            outcome = self._post(live.connection_id, frame.payload)
            if outcome is Outcome.TOO_LARGE and frame.counts is not None:  # the message cannot go; its counts still can
                posted.append((live, frame, outcome))
                frame = Frame(frame.sequence_number, frame.counts)
                outcome = self._post(live.connection_id, frame.payload)
            posted.append((live, frame, outcome))
            if outcome in (Outcome.GONE, Outcome.FAILED):
                break
        return posted

    def _close_expired(self, live: LiveConnection) -> Posts:
        """Its token expired: no frame, but the reason, and the socket closed (a retried batch closes it again: 410)."""
        if self._closer is not None:
            self._closer.close(live, TOKEN_EXPIRED)
        return []

    def _count(
        self, frame: Frame, live: LiveConnection, outcome: Outcome, now: float, report: BatchReport, failed: dict[str, None]
    ) -> None:
        report.posts += 1
        if outcome is Outcome.SENT:
            report.sent += 1
            if frame.created_at is not None:
                metrics.add(metrics.DELIVERY_LAG, max(0.0, now - frame.created_at) * 1000, "Milliseconds")
        elif outcome is Outcome.GONE and not self._gone(live, report):
            failed[frame.sequence_number] = None  # its clean-up failed: the retry posts again and forgets it then
        elif outcome is Outcome.TOO_LARGE:
            report.dropped += 1
            logger.error("frame too large for the socket; dropped", extra={"sequence_number": frame.sequence_number})
        elif outcome is Outcome.FAILED:
            report.failed_posts += 1
            failed[frame.sequence_number] = None

    def _gone(self, live: LiveConnection, report: BatchReport) -> bool:
        """Forget a closed connection; False when storage would not (conflicting, throttled)."""
        if live.age_seconds(self._clock()) < GONE_GRACE_SECONDS:
            return True  # $connect may still be running; a later post decides
        report.gone += 1
        try:
            self._registry.forget(live)
        except (BusyError, PynamoDBException):
            logger.warning("forgetting a gone connection failed", extra={"connection_id": live.connection_id})
            return False
        return True
