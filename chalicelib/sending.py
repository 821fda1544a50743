"""Storing sends: one code path for ``POST /messages`` and the ``send`` Lambda.

A send to R receivers writes, per group of 50 receivers, one
TransactWriteItems with a conditional put of each message and an ``ADD`` to
each receiver's channel counter: ⌈R/50⌉ calls, all-or-nothing per group, and
counters stay exact when a group is retried (its puts find the items there
and the whole group is skipped).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib import idempotency, metrics, storage
from chalicelib.channels import get_channel
from chalicelib.clock import iso_from_ms
from chalicelib.errors import BusyError, ConflictError, InboxError, NotFoundError
from chalicelib.ids import id_time_ms, new_id
from chalicelib.models import UNREAD, Channel, ChannelCounter, InboxMessage
from chalicelib.parsing import SendCommand, SendRequest

logger = logging.getLogger(__name__)

RECEIVERS_PER_TRANSACTION = 50
BUSY_MESSAGE = "receivers: storage is busy and not every inbox was written; retry with the same Idempotency-Key"


class Sender:
    """Stores sends; ``retention`` sets each message's TTL."""

    def __init__(self, retention: timedelta) -> None:
        self._retention = retention

    def send(self, command: SendCommand, *, scope: str) -> dict[str, Any]:
        """Store one send for every receiver and return ``{id, channel, receivers}``.

        ``scope`` is whose keys these are: the caller's ``sub``, or the ``send`` Lambda's shared scope.
        """
        return self._finish(command.request, self._claim(command, scope))

    @staticmethod
    def _claim(command: SendCommand, scope: str) -> idempotency.Claim | None:
        return None if command.key is None else idempotency.claim(scope, command.key, command.body_hash, [new_id()])

    def send_all(self, sends: list[SendCommand], *, scope: str) -> list[dict[str, Any]]:
        """A batch: every channel checked and every key claimed before the first message is stored.

        So an unknown channel or a key conflict anywhere writes nothing (the
        keys claimed so far are released for a retry). A storage failure
        midway leaves earlier sends stored; with keys, a retry replays them.
        """
        for send in sends:
            with _naming(send.prefix + "channel"):
                get_channel(send.request.channel)
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
        return [self._finish(send.request, claim) for send, claim in zip(sends, claims, strict=True)]

    def _finish(self, request: SendRequest, claim: idempotency.Claim | None) -> dict[str, Any]:
        if claim is None:
            return self.store(request, new_id())
        if claim.replay is not None:
            return dict(claim.replay)
        return self.store_claimed(request, claim)

    def store_claimed(self, request: SendRequest, claim: idempotency.Claim) -> dict[str, Any]:
        """Store under a claimed key: complete it on success, free it on failure."""
        try:
            response = self.store(request, claim.send_ids[0])
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

    def store(self, request: SendRequest, send_id: str) -> dict[str, Any]:
        channel = get_channel(request.channel)
        for start in range(0, len(request.receivers), RECEIVERS_PER_TRANSACTION):
            group = request.receivers[start : start + RECEIVERS_PER_TRANSACTION]
            _GroupWrite(self, request, channel, send_id, start // RECEIVERS_PER_TRANSACTION).write(group)
        metrics.add(metrics.SENDS)  # here, after every group: replays of an Idempotency-Key never get this far
        metrics.add(metrics.RECIPIENTS_STORED, len(request.receivers))
        return {"id": send_id, "channel": request.channel, "receivers": len(request.receivers)}

    def expires_at(self, send_id: str) -> datetime:
        """From the id's own time, so a retried transaction carries the very same parameters."""
        return datetime.fromtimestamp(id_time_ms(send_id) / 1000, tz=UTC) + self._retention


@contextmanager
def _naming(field: str) -> Iterator[None]:
    """Re-raise a domain error with ``field`` in front, keeping its kind (and so its status)."""
    try:
        yield
    except (NotFoundError, ConflictError) as error:
        raise type(error)(f"{field}: {error}") from None


class _GroupWrite:
    """One group of ≤50 receivers: messages and counters in one transaction, retried on conflicts."""

    def __init__(self, sender: Sender, request: SendRequest, channel: Channel, send_id: str, number: int) -> None:
        self._sender = sender
        self._request = request
        self._channel = channel
        self._send_id = send_id
        self._number = number

    def write(self, group: list[str]) -> None:
        keep_latest = set(group)
        salt = ""
        for attempt in range(storage.CONFLICT_RETRIES):
            try:
                with storage.transaction(self._token(attempt, salt)) as transaction:
                    for user in group:
                        transaction.save(self._message(user), InboxMessage.id.does_not_exist())
                    for user in group:
                        self._count(transaction, user, user in keep_latest)
                return
            except TransactWriteError as error:
                reasons = storage.cancellation_codes(error)
                if reasons and reasons[0] == storage.CONDITION_FAILED:
                    return  # an earlier attempt with these ids committed this whole group
                newer = {u for u, code in zip(group, reasons[len(group) :], strict=False) if code == storage.CONDITION_FAILED}
                if newer:
                    keep_latest -= newer  # they already show a newer latest message: count only
                    continue
                if error.cause_response_code == storage.IDEMPOTENT_PARAMETER_MISMATCH:
                    salt = secrets.token_hex(2)  # same token, other parameters (a renamed channel): a fresh token
                    continue
                logger.warning("send transaction failed", extra={"code": error.cause_response_code, "attempt": attempt})
                if storage.TRANSACTION_CONFLICT not in reasons:
                    break  # botocore already retried throttling and 5xx
                storage.pause_before_retry(attempt)
            except PynamoDBException as error:
                logger.warning("send storage failed", extra={"code": getattr(error, "cause_response_code", None)})
                break
        raise BusyError(BUSY_MESSAGE)

    def _token(self, attempt: int, salt: str) -> str:
        """Deterministic per send, group and attempt (≤ 36 characters, DynamoDB's limit).

        A retried request rebuilds the very same transactions, so DynamoDB
        answers an already-committed one with success and changes nothing.
        """
        return f"{self._send_id}{self._number:03d}{attempt}{salt}"

    def _message(self, user: str) -> InboxMessage:
        request = self._request
        message = InboxMessage(
            user,
            self._send_id,
            channel=request.channel,
            channel_title=self._channel.title,
            title=request.title,
            content=request.content,
            url=request.url,
            duration=request.duration,
            created_at=iso_from_ms(id_time_ms(self._send_id)),
            user_channel=f"{user}#{request.channel}",
            expires_at=self._sender.expires_at(self._send_id),
        )
        message.set_status(UNREAD, None)
        return message

    def _count(self, transaction: TransactWrite, user: str, set_latest: bool) -> None:
        actions: list[Any] = [ChannelCounter.unread.add(1), ChannelCounter.total.add(1)]
        condition = None
        if set_latest:
            actions += [
                ChannelCounter.channel_title.set(self._channel.title),
                ChannelCounter.latest_id.set(self._send_id),
                ChannelCounter.latest_title.set(self._request.title),
                ChannelCounter.latest_created_at.set(iso_from_ms(id_time_ms(self._send_id))),
            ]
            condition = ChannelCounter.latest_id.does_not_exist() | (ChannelCounter.latest_id < self._send_id)
        transaction.update(ChannelCounter(user, self._request.channel), actions=actions, condition=condition)
