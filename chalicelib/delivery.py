"""Stream fan-out: inbox stream records → frames on every connection of the receiver.

INSERT → ``message.created``; MODIFY whose status really changed →
``message.updated`` (moto even emits MODIFY for no-op writes, so images are
compared); REMOVE → no frame (a TTL expiry corrects the counters: `expiry`).

Posts run concurrently on a thread pool through `chalicelib.socket_poster`,
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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from chalicelib import metrics
from chalicelib.connections import ConnectionRegistry, LiveConnection
from chalicelib.expiry import Expiry, apply_expiries, expiry_from_record
from chalicelib.models import InboxMessage
from chalicelib.socket_poster import Outcome
from chalicelib.stream_records import StreamRecord
from chalicelib.views import message_json

logger = logging.getLogger(__name__)

# The deployed event source mapping and the local poller both read these.
STREAM_BATCH_SIZE = 100
STREAM_BATCH_WINDOW_SECONDS = 0
STREAM_MAX_RETRY_ATTEMPTS = 5
STREAM_MAX_RECORD_AGE_SECONDS = 3600
FAN_OUT_WORKERS = 64
GONE_GRACE_SECONDS = 10.0


@dataclass(frozen=True)
class Frame:
    """One frame for one user, from one stream record."""

    sequence_number: str
    user_id: str
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


def frames_from_record(record: StreamRecord) -> list[Frame]:
    """The frames one stream record asks for (none for REMOVE or no-op MODIFY)."""
    image = record.new_image
    if record.event_name == "INSERT" and image:
        kind = "message.created"
    elif record.event_name == "MODIFY" and image:
        if record.old_string("status") == record.new_string("status"):
            return []
        kind = "message.updated"
    else:
        return []
    message = InboxMessage.from_raw_data(image)
    payload = json.dumps({"type": kind, "message": message_json(message)}, separators=(",", ":")).encode("utf-8")
    return [Frame(record.sequence_number, message.user_id, payload, record.created_at)]


class Delivery:
    """Turns a batch of stream records into posts and reports what failed."""

    def __init__(
        self,
        registry: ConnectionRegistry,
        post: Callable[[str, bytes], Outcome],
        executor: ThreadPoolExecutor,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._registry = registry
        self._post = post
        self._executor = executor
        self._clock = clock

    def handle(self, records: Iterable[dict[str, Any]]) -> BatchReport:
        """Deliver a batch: frames to every live connection, expiries to the counters."""
        report = BatchReport()
        frames, expiries = self._read(records)
        report.frames = len(frames)
        failed: dict[str, None] = dict.fromkeys(apply_expiries(expiries)) if expiries else {}
        if frames:
            self._post_all(frames, report, failed)
        report.failures = list(failed)
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
    def _read(records: Iterable[dict[str, Any]]) -> tuple[list[Frame], list[Expiry]]:
        frames: list[Frame] = []
        expiries: list[Expiry] = []
        for raw in records:
            try:
                record = StreamRecord.parse(raw)
                frames.extend(frames_from_record(record))
                expiry = expiry_from_record(record)
            except (KeyError, TypeError, ValueError, AttributeError) as error:
                # A record we cannot read will not get better on retry: log, skip, keep the rest.
                logger.error("unreadable stream record", extra={"code": type(error).__name__})
                continue
            if expiry is not None:
                expiries.append(expiry)
        return frames, expiries

    def _post_all(self, frames: list[Frame], report: BatchReport, failed: dict[str, None]) -> None:
        connections = self._registry.lookup([f.user_id for f in frames])
        jobs = [(frame, live) for frame in frames for live in connections.get(frame.user_id, [])]
        outcomes = list(self._executor.map(lambda job: self._post(job[1].connection_id, job[0].payload), jobs))
        now = self._clock()
        for (frame, live), outcome in zip(jobs, outcomes, strict=True):
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
