"""Storing sends: one code path for ``POST /messages`` and the ``send`` Lambda.

A send to R receivers writes its R inbox items (`group_write`: ⌈R/25⌉
BatchWriteItem calls the first time, conditional transactions when a
retry may find some already there), then its send-log item (`send_log`),
so a send is logged ``done`` only once all of it is stored. Counters are
not written here: the stream keeps them (`counts`).

An audience send (``"audience": "subscribers"``) is logged as queued and
handed to the work queue; `chalicelib.audience.worker` stores it chunk by chunk with the same
writer and adds each chunk's size to the log's ``stored`` exactly once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.exceptions import PynamoDBException

from chalicelib.channels import get_channel
from chalicelib.core import metrics, tenants
from chalicelib.core.errors import BusyError, ConfigurationError, ConflictError, InboxError, NotFoundError
from chalicelib.core.ids import id_time_ms, new_id
from chalicelib.sending import idempotency, send_log
from chalicelib.sending.commands import SendCommand, SendRequest, check_expiry
from chalicelib.sending.group_write import store_send
from chalicelib.sending.progress import advance, claim_blind_write, request_of
from chalicelib.storage import CHUNK, Channel, SendLog, Step, WorkQueue

# Stores an audience send's log item (not yet saved) as one broadcast if its channel is large enough: whether it did.
Broadcaster = Callable[[SendLog, Channel], bool]

logger = logging.getLogger(__name__)

FRESH_START_MS = 1000  # a first attempt starting later than this after its id is marked as a late store


class Sender:
    """Stores sends; ``retention`` sets each message's TTL, ``queue`` (built on first use) takes audience sends."""

    def __init__(
        self, retention: timedelta, queue: Callable[[], WorkQueue] | None = None, broadcaster: Broadcaster | None = None
    ) -> None:
        self._retention = retention
        self._queue = queue or _no_queue
        self._broadcaster = broadcaster  # None: every audience send is stored per subscriber

    def send(self, command: SendCommand, *, scope: str, sender: str = send_log.LAMBDA_SENDER) -> dict[str, Any]:
        """Store one send for every receiver and return ``{id, channel, receivers}``.

        ``scope`` is whose keys these are: the caller's ``sub``, or the ``send`` Lambda's shared scope;
        ``sender`` is who the send log names (the ``sub``, ``lambda`` or an EventBridge source).
        """
        self._check_expiry(command)
        return self._finish(command.request, self._claim(command, scope), sender)

    def _check_expiry(self, command: SendCommand) -> None:
        check_expiry(command.request, self._retention, command.prefix)

    @staticmethod
    def _claim(command: SendCommand, scope: str) -> idempotency.Claim | None:
        return None if command.key is None else idempotency.claim(scope, command.key, command.body_hash, [new_id()])

    def send_all(self, sends: list[SendCommand], *, scope: str, sender: str) -> list[dict[str, Any]]:
        """A batch: every channel checked and every key claimed before the first message is stored.

        So an unknown channel or a key conflict anywhere writes nothing (the
        keys claimed so far are released for a retry). A storage failure
        midway leaves earlier sends stored; with keys, a retry replays them.
        """
        for send in sends:
            self._check_expiry(send)
        for send in sends:
            with _naming(send.prefix + "channel"):
                get_channel(send.request.channel, "channel")
        claims: list[idempotency.Claim | None] = []
        try:
            for send in sends:
                with _naming(send.prefix + "idempotencyKey"):
                    claims.append(self._claim(send, scope))
        except InboxError:
            for taken in claims:
                if taken is not None and taken.replay is None:
                    idempotency.release(taken.record_key)
            raise
        return [self._finish(send.request, claim, sender) for send, claim in zip(sends, claims, strict=True)]

    def _finish(self, request: SendRequest, claim: idempotency.Claim | None, sender: str) -> dict[str, Any]:
        if claim is None:
            return self.store(request, new_id(), sender, fresh=True)
        if claim.replay is not None:
            return dict(claim.replay)
        return self.store_claimed(request, claim, sender)

    def store_claimed(self, request: SendRequest, claim: idempotency.Claim, sender: str) -> dict[str, Any]:
        """Store under a claimed key: complete it on success, free it on failure."""
        try:
            response = self.store(request, claim.send_ids[0], sender, fresh=claim.fresh)
        except (BusyError, PynamoDBException):
            # Storage failed (throttled channel read, a group that could not be written): a retry
            # with the key must take over at once, not wait out the lease behind a 409.
            idempotency.release(claim.record_key)
            raise
        except InboxError:
            idempotency.abandon(claim.record_key)  # refused (unknown channel): the key is free again
            raise
        idempotency.complete(claim.record_key, response)
        return response

    def store(
        self, request: SendRequest, send_id: str, sender: str = send_log.LAMBDA_SENDER, *, fresh: bool = False
    ) -> dict[str, Any]:
        """Store under ``send_id``; ``fresh`` when no earlier attempt can have stored any of it."""
        channel = get_channel(request.channel, "channel")
        if request.audience is not None:
            if self._broadcaster is not None and self._broadcaster(
                send_log.broadcast_item(request, channel, send_id, sender), channel
            ):
                metrics.add(metrics.SENDS)
                return self._audience_answer(request, send_id)
            return self._queue_audience(request, channel, send_id, sender)
        self.store_chunk(request, channel, send_id, request.receivers, fresh=fresh, late=not fresh)
        send_log.done_item(request, channel, send_id, sender).save()  # logged done only once all of it is stored
        metrics.add(metrics.SENDS)  # here, after every group: replays of an Idempotency-Key never get this far
        metrics.add(metrics.RECIPIENTS_STORED, len(request.receivers))
        return {"id": send_id, "channel": tenants.plain_channel(request.channel), "receivers": len(request.receivers)}

    def store_chunk(
        self, request: SendRequest, channel: Channel, send_id: str, users: list[str], *, fresh: bool, late: bool
    ) -> None:
        """Every user's message of this send (the receivers, or an audience chunk).

        ``late`` when the items may land well after their id was minted (an
        audience chunk, any retry): they are then marked with a store-time id
        for the catch-up (`inbox.catch_up`). So is a first attempt that only
        starts more than ``FRESH_START_MS`` after its id (a ``send`` Lambda
        batch mints every id first, then stores its sends one by one), and
        what its batches do not write at their first try within that time.
        """
        now = new_id()
        # Stored the moment its id was minted: the id range finds it, no mark needed.
        stored_id = now if late or stale(send_id, now) else None

        def on_time() -> bool:
            return not stale(send_id, new_id())

        store_send(
            request, channel.title, send_id, users, self.expires_at(send_id), stored_id=stored_id, on_time=on_time, fresh=fresh
        )

    def store_audience_chunk(self, entry: SendLog, number: int, users: list[str], next_user: str | None) -> None:
        """Step ``number`` of an audience send: store ``users``' items, queue the next step, count this one.

        The chunk's first run claims its blind write; a later run (a redelivery,
        a duplicate, a redrive) writes only the missing items. The next step is
        queued before this one is counted, so a crash between the two queues it
        twice (the copy finds the step counted) rather than never.
        """
        expires_at = self.expires_at(entry.id)
        fresh = claim_blind_write(entry.id, number)
        store_send(request_of(entry), entry.channel_title, entry.id, users, expires_at, stored_id=new_id(), fresh=fresh)
        if next_user is not None:
            self._queue().put(Step(CHUNK, entry.id, next_user, number + 1))
        advance(entry.id, number, len(users), last=next_user is None)
        metrics.add(metrics.FANOUT_CHUNKS)
        metrics.add(metrics.FANOUT_RECIPIENTS, len(users))

    @staticmethod
    def _audience_answer(request: SendRequest, send_id: str) -> dict[str, Any]:
        channel_name = tenants.plain_channel(request.channel)
        return {"id": send_id, "channel": channel_name, "audience": request.audience, "status": send_log.QUEUED}

    def _queue_audience(self, request: SendRequest, channel: Channel, send_id: str, sender: str) -> dict[str, Any]:
        """Log the send as queued and queue its first chunk; the worker (`chalicelib.audience.worker`) does the rest."""
        send_log.record_queued(request, channel, send_id, sender)
        try:
            self._queue().put(Step(CHUNK, send_id))
        except Exception as error:  # botocore's ClientError or a connection error: nothing was queued
            logger.warning("queueing an audience send failed", extra={"error": type(error).__name__})
            raise BusyError("audience: the send could not be queued; retry with the same Idempotency-Key") from None
        metrics.add(metrics.SENDS)
        return self._audience_answer(request, send_id)

    def expires_at(self, send_id: str) -> datetime:
        """From the id's own time, so a retried transaction carries the very same parameters."""
        return datetime.fromtimestamp(id_time_ms(send_id) / 1000, tz=UTC) + self._retention


def stale(send_id: str, now: str) -> bool:
    """More than ``FRESH_START_MS`` since ``send_id`` was minted: what is stored now is a late store."""
    return id_time_ms(now) - id_time_ms(send_id) > FRESH_START_MS


def _no_queue() -> WorkQueue:
    raise ConfigurationError("this sender was built without a work queue: it cannot take audience sends")


@contextmanager
def _naming(field: str) -> Iterator[None]:
    """Re-raise a domain error naming ``field`` instead of the field it named, keeping its kind (and so its status)."""
    try:
        yield
    except (NotFoundError, ConflictError) as error:
        _, named, problem = str(error).partition(": ")
        raise type(error)(f"{field}: {problem if named else error}") from None
