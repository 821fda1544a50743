"""Stream fan-out: inbox stream records → the user's counts, then frames on every connection of the user.

Per user of the batch: first the batch's effect on their counts is
applied, once (`counts`: one UpdateItem, whose answer is the new counts —
so live counts cost no extra call), then their frames go to each of their
connections, in order. Every user's update starts at once on a counts
pool, and each user's posts start on the posting pool as soon as their own
update is back: one user's frames leave while another's counts are still
being written. The receivers' connections are looked up before, ⌈U/100⌉
BatchGetItem. The frames, from each record's kind of item:

* INSERT of a live message → ``message.created`` (``silent`` when its
  channel is muted and it is not critical), or ``message.updated`` when it
  came back from the archive (``restoredAt``);
* INSERT of an archived copy → ``message.updated`` (``archived: true``);
* INSERT of a tombstone → ``message.deleted``;
* MODIFY whose state really changed → ``message.updated`` (moto even
  emits MODIFY for no-op writes, so images are compared);
* the preferences item → ``preferences.updated``;
* REMOVE → nothing: moves and deletions are announced by what they insert,
  and a TTL expiry only changes the counts;
* and per user whose counts changed, one ``counts.updated``.

Posts run concurrently on a thread pool through `chalicelib.realtime.poster`,
which retries 429 (LimitExceeded) and 5xx with exponential backoff and full
jitter. Per post: 410 → forget that connection (unless it is only
seconds old: API Gateway answers 410 while ``$connect`` still runs);
413 → log and drop the frame; anything else still failing → the record's
sequence number goes to ``batchItemFailures`` so Lambda retries from it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from chalicelib.core import metrics
from chalicelib.counts import stream as counts
from chalicelib.counts.stream import Change, Counts
from chalicelib.realtime.connections import ConnectionRegistry, LiveConnection
from chalicelib.realtime.poster import Outcome
from chalicelib.storage import dynamo as storage
from chalicelib.storage.shapes import message_json, preferences_json
from chalicelib.storage.stream_records import StreamRecord
from chalicelib.storage.tables import ARCHIVED, CRITICAL, DELETED, PREFERENCES, InboxMessage

logger = logging.getLogger(__name__)

# The deployed event source mapping and the local poller both read these.
# Lambda takes up to 10,000 (and 6 MB); under load one batch holds several messages per user: one counts update for them all.
STREAM_BATCH_SIZE = 3000
STREAM_BATCH_WINDOW_SECONDS = 0
STREAM_MAX_RETRY_ATTEMPTS = 5
STREAM_MAX_RECORD_AGE_SECONDS = 3600
FAN_OUT_WORKERS = 64
GONE_GRACE_SECONDS = 10.0
# A user's counts update tried this often in one invocation before their records go back to Lambda:
# each retry of a partly failed batch counts toward the mapping's retry limit, after which it is given up.
COUNTS_ATTEMPTS = 4


@dataclass(frozen=True)
class Frame:
    """One frame for one user, from one stream record."""

    sequence_number: str
    payload: bytes
    created_at: float | None = None  # the stream record's creation, epoch seconds: delivery lag is measured from it


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


STATE_FIELDS = ("status", "seenAt", "archivedAt")
Posted = tuple[int, list[tuple[LiveConnection, "Frame", Outcome]]]  # one user's frames, and each post's outcome


def _payload(frame: dict[str, Any]) -> bytes:
    return json.dumps(frame, separators=(",", ":")).encode("utf-8")


def frame_from_record(record: StreamRecord, muted: frozenset[str] = frozenset()) -> dict[str, Any] | None:
    """The frame one stream record asks for, or None (REMOVE, a no-op MODIFY)."""
    image = record.new_image
    if image is None or record.event_name not in ("INSERT", "MODIFY"):
        return None
    item_id = record.new_string("id") or ""
    if item_id == PREFERENCES:
        return {"type": "preferences.updated", "preferences": preferences_json(image.get("muted", {}).get("SS", []))}
    if item_id.startswith(DELETED):
        return {"type": "message.deleted", "id": item_id.removeprefix(DELETED)} if record.event_name == "INSERT" else None
    if record.event_name == "MODIFY" and all(record.old_string(f) == record.new_string(f) for f in STATE_FIELDS):
        return None
    message = InboxMessage.from_raw_data(image)
    if record.event_name == "INSERT" and not item_id.startswith(ARCHIVED) and message.restored_at is None:
        silent = message.channel in muted and message.severity != CRITICAL
        return {"type": "message.created", "message": message_json(message), "silent": silent}
    return {"type": "message.updated", "message": message_json(message)}


class Delivery:
    """Turns a batch of stream records into posts and reports what failed."""

    def __init__(
        self,
        registry: ConnectionRegistry,
        post: Callable[[str, bytes], Outcome],
        executor: ThreadPoolExecutor,
        clock: Callable[[], float] = time.time,
        counts_executor: ThreadPoolExecutor | None = None,
    ) -> None:
        self._registry = registry
        self._post = post
        self._executor = executor
        self._clock = clock
        # Counts get a pool of their own, so slow posts never hold back a user's counts update.
        self._counts_executor = counts_executor or ThreadPoolExecutor(max_workers=FAN_OUT_WORKERS, thread_name_prefix="counts")

    def handle(self, records: Iterable[dict[str, Any]]) -> BatchReport:
        """Deliver a batch: per user, their counts first, then their frames on every live connection.

        Every user's counts update starts at once on the counts pool; each
        user's posts start on the posting pool as soon as their own update
        is back. So one user's frames go out while another's counts are still
        being written, and slow posts never delay a counts update.
        """
        report = BatchReport()
        parsed = self._read(records)
        changes = counts.changes_from(parsed)
        by_user: dict[str, list[StreamRecord]] = {}
        for record in parsed:
            by_user.setdefault(counts.record_user(record), []).append(record)
        connections = self._registry.lookup(list(by_user)) if by_user else {}

        def deliver(user: str, stored: Counts | None) -> Posted:
            frames = self._frames(by_user[user], changes.get(user), stored)
            posts = [post for live in connections.get(user, []) for post in self._post_in_order(live, frames)]
            return len(frames), posts

        def update(user: str) -> counts.Outcome | None:
            change = changes.get(user)
            return counts.first_try(change) if change is not None else None

        def first(user: str, written: Future[counts.Outcome | None]) -> tuple[counts.Outcome | None, Posted]:
            outcome = written.result()
            if isinstance(outcome, str):
                return outcome, (0, [])  # replayed (settled below) or failed (retried with its frames)
            return outcome, deliver(user, outcome)

        results: list[Posted] = []
        pending = list(by_user)
        for attempt in range(COUNTS_ATTEMPTS):
            written = [self._counts_executor.submit(update, user) for user in pending]
            outcomes = dict(zip(pending, self._executor.map(first, pending, written), strict=True))
            results += [result for _, result in outcomes.values()]
            replayed = [changes[user] for user, (outcome, _) in outcomes.items() if outcome == counts.REPLAYED]
            settled, failed = counts.settle_replayed(replayed)
            results += self._executor.map(deliver, list(settled), list(settled.values()))
            pending = [change.user_id for change in failed]
            pending += [user for user, (outcome, _) in outcomes.items() if outcome == counts.FAILED]
            if not pending or attempt == COUNTS_ATTEMPTS - 1:
                break
            storage.pause_before_retry(attempt)  # a throttled update: again, within this invocation
        # Every record of a user whose counts still failed is retried by Lambda, frames included.
        failures = {r.sequence_number: None for user in pending for r in by_user[user]}
        now = self._clock()
        report.frames = sum(frames for frames, _ in results)
        for live, frame, outcome in (post for _, posts in results for post in posts):
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

    @staticmethod
    def _frames(records: list[StreamRecord], change: Change | None, stored: Counts | None) -> list[Frame]:
        """One user's frames: every record's, then their new counts when the batch changed them."""
        frames: list[Frame] = []
        for record in records:
            try:
                frame = frame_from_record(record, stored.muted if stored is not None else frozenset())
            except (KeyError, TypeError, ValueError, AttributeError) as error:
                logger.error("unreadable stream record", extra={"code": type(error).__name__})
                continue
            if frame is not None:
                frames.append(Frame(record.sequence_number, _payload(frame), record.created_at))
        if change is not None and stored is not None and (any(change.deltas.values()) or change.muted is not None):
            payload = _payload({"type": "counts.updated", "counts": stored.summary()})
            frames.append(Frame(change.records[-1].sequence_number, payload))
        return frames

    def _post_in_order(self, live: LiveConnection, frames: list[Frame]) -> list[tuple[LiveConnection, Frame, Outcome]]:
        """One connection's frames in order (a message before the counts it changed).

        Stops at a closed socket, and at a failed post: its record goes back to
        Lambda, whose retry re-sends it and every later frame, still in order.
        """
        posted: list[tuple[LiveConnection, Frame, Outcome]] = []
        for frame in frames:
            outcome = self._post(live.connection_id, frame.payload)
            posted.append((live, frame, outcome))
            if outcome in (Outcome.GONE, Outcome.FAILED):
                break
        return posted

    def _count(
        self, frame: Frame, live: LiveConnection, outcome: Outcome, now: float, report: BatchReport, failed: dict[str, None]
    ) -> None:
        report.posts += 1
        if outcome is Outcome.SENT:
            report.sent += 1
            if frame.created_at is not None:
                metrics.add(metrics.DELIVERY_LAG, max(0.0, now - frame.created_at) * 1000, "Milliseconds")
        elif outcome is Outcome.GONE:
            self._gone(live, report)
        elif outcome is Outcome.TOO_LARGE:
            report.dropped += 1
            logger.error("frame too large for the socket; dropped", extra={"sequence_number": frame.sequence_number})
        elif outcome is Outcome.FAILED:
            report.failed_posts += 1
            failed[frame.sequence_number] = None

    def _gone(self, live: LiveConnection, report: BatchReport) -> None:
        if live.age_seconds(self._clock()) < GONE_GRACE_SECONDS:
            return  # $connect may still be running; a later post decides
        report.gone += 1
        self._registry.forget(live)
