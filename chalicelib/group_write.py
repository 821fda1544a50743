"""One group of receivers written in one transaction: their messages and their counters.

All-or-nothing per group, retried on conflicts; its ClientRequestToken and
parameters are deterministic per send, group and attempt, so a retried
request rebuilds the very same transaction (DynamoDB then answers a
committed one with success and changes nothing). Used by the receivers path
(`sending`) and the audience worker's chunks (`fanout`).
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from typing import Any

from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib import storage
from chalicelib.audience_models import SendLog
from chalicelib.clock import iso_from_ms
from chalicelib.errors import BusyError
from chalicelib.ids import id_time_ms
from chalicelib.models import UNREAD, Channel, ChannelCounter, InboxMessage
from chalicelib.parsing import SendRequest

logger = logging.getLogger(__name__)

BUSY_MESSAGE = "receivers: storage is busy and not every inbox was written; retry with the same Idempotency-Key"


class GroupWrite:
    """One group of ≤50 receivers: messages and counters in one transaction, retried on conflicts."""

    def __init__(
        self,
        expires_at: datetime,
        request: SendRequest,
        channel: Channel,
        send_id: str,
        number: int,
        *,
        tally: bool = False,
        log: SendLog | None = None,
    ) -> None:
        self._expires_at = expires_at  # from the send id's time: a retried transaction repeats it exactly
        self._request = request
        self._channel = channel
        self._send_id = send_id
        self._number = number
        self._tally = tally  # add the group's size to the send log's `stored`
        self._log = log  # or write the (receivers) send's log item, in the same transaction

    def write(self, users: list[str]) -> None:
        group = list(users)
        keep_latest = set(group)
        salt = ""
        for attempt in range(storage.CONFLICT_RETRIES):
            try:
                with storage.transaction(self._token(attempt, salt)) as transaction:
                    for user in group:
                        transaction.save(self._message(user), InboxMessage.id.does_not_exist())
                    for user in group:
                        self._count(transaction, user, user in keep_latest)
                    if self._tally:
                        transaction.update(SendLog(self._send_id), actions=[SendLog.stored.add(len(group))])
                    if self._log is not None:
                        transaction.save(self._log)
                return
            except TransactWriteError as error:
                reasons = storage.cancellation_codes(error)
                unstored = storage.not_refused(group, error)
                if len(unstored) < len(group):  # an earlier attempt (or chunk) with this id already wrote some
                    group = unstored
                    if not group:
                        return
                    salt = secrets.token_hex(2)
                    continue
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

        Group numbers wrap at 100,000 (a 4.9 million-recipient send): two groups sharing a token
        within 10 minutes differ in parameters, and the mismatch answer gets a fresh salt below.

        A retried request rebuilds the very same transactions, so DynamoDB
        answers an already-committed one with success and changes nothing.
        """
        return f"{self._send_id}{self._number % 100_000:05d}{attempt}{salt}"

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
            expires_at=self._expires_at,
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
