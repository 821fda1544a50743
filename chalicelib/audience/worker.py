"""The fan-out worker (``@app.on_sqs_message``): audience sends chunk by chunk, and channel clean-up.

A ``chunk`` step of send S, number k, starting after user u:

1. reads S's log item (consistent); a send already ``done`` or
   ``cancelled``, or whose ``chunks`` counter is past k, has had this step:
   nothing to do (a redelivered or duplicated message); a send whose
   channel was deleted (or deleted and made again) is ``cancelled`` here:
   it stops, ``recipients`` keeps its snapshot and ``stored`` who got it;
2. step 0 counts the snapshot (``recipients``) and marks S ``sending``;
3. reads one page of ≤ ``chunk_size`` subscriptions after u that are older
   than S but not older than its channel (one Query; others are filtered
   out: "subscribed at the moment of the send", and not left over from a
   deleted channel of the same name);
4. hands the page to the sender (`Sender.store_audience_chunk`, steps 4
   and 5 in one call), which stores it with the receivers path's writer: the
   chunk's first run claims it (``writing`` = k, conditional) and writes
   blind with BatchWriteItem; any later run of chunk k (redelivered,
   duplicated, redriven) finds the claim and writes only the missing items,
   with conditional puts;
5. queues step k+1 (if the page was not the last), then moves ``chunks``
   from k to k+1 and adds the page's size to ``stored`` in one conditional
   update — or, after the last page, also marks S ``done`` and sets
   ``recipients`` to ``stored``. The condition makes ``stored`` exact
   however often the step runs.

A crash anywhere re-runs the step from 1 after SQS's visibility timeout:
items already written are skipped, so nothing is stored twice. A crash
between 5's two writes queues step k+1 twice; the copy finds ``chunks``
past k+1 later, or stores nothing new — duplicates cost work, never items.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalicelib import broadcast, sending
from chalicelib.audience import subscribers
from chalicelib.channels import get_channel
from chalicelib.core import metrics
from chalicelib.core.clock import iso_from_ms
from chalicelib.core.errors import NotFoundError
from chalicelib.core.ids import first_id_at, id_time_ms
from chalicelib.sending import Sender
from chalicelib.storage import CHUNK, COUNT, FRAMES, MAX_RECEIVES, UNSUBSCRIBE, SendLog, Step, WorkQueue

if TYPE_CHECKING:
    from chalicelib.broadcast import BroadcastFrames as Frames

logger = logging.getLogger(__name__)

UNSUBSCRIBE_PAGE = 1000


class AudienceWorker:
    """Runs the work queue's steps; ``handle`` takes an SQS batch and reports the failed messages."""

    def __init__(
        self, sender: Sender, queue: WorkQueue, chunk_size: int, frames: Callable[[], Frames | None] | None = None
    ) -> None:
        self._sender = sender
        self._queue = queue
        self._chunk_size = chunk_size
        self._frames = frames or (lambda: None)  # built on a frames step's first run; None: no WebSocket API

    def handle(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """Lambda's SQS batch; ``batchItemFailures`` names the messages SQS should deliver again."""
        failures = []
        for record in records:
            try:
                step = Step.parse(record["body"])
            except (KeyError, TypeError, ValueError) as error:  # not ours to run: the dead-letter queue keeps it
                logger.error("unreadable fan-out step", extra={"code": type(error).__name__})
                failures.append({"itemIdentifier": record["messageId"]})
                continue
            try:
                self.run(step)
            except Exception:  # every message of the batch is tried; this one is retried by SQS
                logger.exception("fan-out step failed", extra={"kind": step.kind, "target": step.target})
                metrics.add(metrics.FANOUT_FAILURES)
                receives = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
                if step.kind == CHUNK and receives >= MAX_RECEIVES:
                    sending.mark_failed(step.target)  # its next stop is the dead-letter queue
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}

    def run(self, step: Step) -> None:
        if step.kind == UNSUBSCRIBE:
            self._unsubscribe(step)
        elif step.kind == CHUNK:
            self._chunk(step)
        elif step.kind == FRAMES:
            self._broadcast_frames(step)
        elif step.kind == COUNT:
            self._count(step)
        else:
            raise ValueError(f"unknown step kind {step.kind!r}")

    def _chunk(self, step: Step) -> None:
        try:
            entry = SendLog.get(step.target, consistent_read=True)
        except SendLog.DoesNotExist:
            logger.error("audience send not in the log", extra={"send_id": step.target})
            return
        if entry.status in (sending.DONE, sending.CANCELLED) or int(entry.chunks) > step.number:
            return  # this step already ran to its end
        if _channel_gone(entry):
            sending.cancel(entry.id)
            logger.info("audience send cancelled: its channel was deleted", extra={"send_id": entry.id})
            return
        if step.number == 0 and entry.status != sending.SENDING:
            _start(entry)
        window = (entry.channel, entry.channel_since, entry.id)
        users, next_user = subscribers.page_between(*window, step.cursor, self._chunk_size)
        self._sender.store_audience_chunk(entry, step.number, users, next_user)

    def _broadcast_frames(self, step: Step) -> None:
        """One page of a broadcast's frames (`chalicelib.broadcast.frames`), then the next page's step."""
        frames = self._frames()
        if frames is None:
            logger.info("no WebSocket API: a broadcast's frames have nobody to reach", extra={"send_id": step.target})
            return
        next_page = frames.run(step.target, step.cursor)
        if next_page is not None:
            self._queue.put(Step(FRAMES, step.target, next_page, step.number + 1))

    def _count(self, step: Step) -> None:
        """Count a channel's subscriptions once, so its audience sends may be broadcasts (`chalicelib.broadcast.sequence`)."""
        try:
            floor = first_id_at(get_channel(step.target).created_at)
        except NotFoundError:
            return  # deleted: a channel made again under its name is counted from its start
        broadcast.set_counted(step.target, floor, lambda: subscribers.count_life(step.target, floor))

    def _unsubscribe(self, step: Step) -> None:
        """One page of a deleted channel's subscriptions; skipped while the channel still stands (its delete failed)."""
        before = str(step.before)
        try:
            if get_channel(step.target).created_at <= iso_from_ms(id_time_ms(before)):
                return
        except NotFoundError:
            pass
        next_user = subscribers.remove_page(step.target, before, step.cursor, UNSUBSCRIBE_PAGE)
        if next_user is not None:
            self._queue.put(Step(UNSUBSCRIBE, step.target, next_user, step.number + 1, before))


def _channel_gone(entry: SendLog) -> bool:
    """The send's channel was deleted (maybe made again since: a new channel of the same name is not the send's)."""
    try:
        channel = get_channel(entry.channel)
    except NotFoundError:
        return True
    return bool(entry.channel_since) and first_id_at(channel.created_at) != entry.channel_since


def _start(entry: SendLog) -> None:
    """Count the snapshot (recipients) and mark the send ``sending``, once."""
    sending.mark_sending(entry.id, subscribers.count_between(entry.channel, entry.channel_since, entry.id))
