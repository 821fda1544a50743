"""Sending: one code path for ``POST /messages`` and the ``send`` Lambda.

A send to R receivers writes, per group of 50 receivers, one
TransactWriteItems with a conditional put of each message and an ``ADD`` to
each receiver's channel counter: ⌈R/50⌉ calls, all-or-nothing per group, and
counters stay exact when a group is retried (its puts find the items there
and the whole group is skipped).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib import idempotency
from chalicelib import validation as v
from chalicelib.channels import get_channel
from chalicelib.clock import iso_from_ms
from chalicelib.errors import BusyError, InboxError, ValidationError
from chalicelib.ids import id_time_ms, new_id
from chalicelib.models import UNREAD, Channel, ChannelCounter, InboxMessage
from chalicelib.storage_errors import CONDITION_FAILED, TRANSACTION_CONFLICT, cancellation_codes, pause
from chalicelib.templating import render

logger = logging.getLogger(__name__)

SEND_FIELDS = {"channel", "receivers", "title", "content", "url", "duration", "data"}
RECEIVERS_PER_TRANSACTION = 50
CONFLICT_RETRIES = 5
BACKOFF_BASE_SECONDS = 0.05


@dataclass(frozen=True)
class SendRequest:
    """A validated send, placeholders already filled."""

    channel: str
    receivers: list[str]
    title: str
    content: str
    url: str | None
    duration: int


def body_hash(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def _optional_text(body: dict[str, Any], field: str, prefix: str) -> str | None:
    value = body.get(field)
    if value is not None and not isinstance(value, str):
        raise ValidationError(prefix + field, "must be a string")
    return value


def parse_send(body: dict[str, Any], prefix: str = "") -> SendRequest:
    """Validate a send body; ``prefix`` names its place in a batch (``messages[3].``).

    Limits are checked on the text after placeholders are filled.
    """
    v.reject_unknown(body, SEND_FIELDS, prefix)
    channel = v.channel_name(v.require(body, "channel", prefix), prefix + "channel")
    receivers = v.receivers(v.require(body, "receivers", prefix), prefix + "receivers")
    title = _optional_text(body, "title", prefix)
    if title is None:
        raise ValidationError(prefix + "title", "is required")
    content = _optional_text(body, "content", prefix) or ""
    url = _optional_text(body, "url", prefix)
    if body.get("data") is not None:
        values = v.data(body["data"], prefix + "data")
        title = render(title, values, prefix + "title")
        content = render(content, values, prefix + "content")
        url = None if url is None else render(url, values, prefix + "url", url=True)
    duration = body.get("duration")
    return SendRequest(
        channel=channel,
        receivers=receivers,
        title=v.message_title(title, prefix + "title"),
        content=v.content(content, prefix + "content"),
        url=None if url is None else v.url(url, prefix + "url"),
        duration=0 if duration is None else v.duration(duration, prefix + "duration"),
    )


class Sender:
    """Stores sends; ``retention`` sets each message's TTL."""

    def __init__(self, retention: timedelta) -> None:
        self._retention = retention

    def send(self, request: SendRequest, *, scope: str, key: str | None, raw_body: dict[str, Any]) -> dict[str, Any]:
        """Store one send for every receiver and return ``{id, channel, receivers}``."""
        if key is None:
            return self._store(request, new_id())
        claim = idempotency.claim(scope, key, body_hash(raw_body), [new_id()])
        if claim.replay is not None:
            return dict(claim.replay)
        try:
            response = self._store(request, claim.send_ids[0])
        except InboxError as error:
            if isinstance(error, BusyError):
                idempotency.release(claim.record_key)
            else:
                idempotency.abandon(claim.record_key)
            raise
        idempotency.complete(claim.record_key, response)
        return response

    def _store(self, request: SendRequest, send_id: str) -> dict[str, Any]:
        channel = get_channel(request.channel)
        connection = InboxMessage._get_connection().connection
        for start in range(0, len(request.receivers), RECEIVERS_PER_TRANSACTION):
            group = request.receivers[start : start + RECEIVERS_PER_TRANSACTION]
            group_number = start // RECEIVERS_PER_TRANSACTION
            self._write_group(connection, group_number, request, channel, send_id, group)
        return {"id": send_id, "channel": request.channel, "receivers": len(request.receivers)}

    def _write_group(
        self, connection: Any, group_number: int, request: SendRequest, channel: Channel, send_id: str, group: list[str]
    ) -> None:
        keep_latest = set(group)
        for attempt in range(CONFLICT_RETRIES):
            try:
                token = f"{send_id}-{group_number}-{attempt}"  # stable across botocore retries of one call
                with TransactWrite(connection=connection, client_request_token=token) as transaction:
                    for user in group:
                        transaction.save(self._message(request, channel, send_id, user), InboxMessage.id.does_not_exist())
                    for user in group:
                        self._count(transaction, request, channel, send_id, user, user in keep_latest)
                return
            except TransactWriteError as error:
                reasons = cancellation_codes(error)
                if reasons and reasons[0] == CONDITION_FAILED:
                    return  # an earlier attempt with these ids committed this whole group
                newer = {user for user, code in zip(group, reasons[len(group) :], strict=False) if code == CONDITION_FAILED}
                if newer:
                    keep_latest -= newer  # they already show a newer latest message: count only
                    continue
                logger.warning("send transaction failed", extra={"code": error.cause_response_code, "attempt": attempt})
                if TRANSACTION_CONFLICT not in reasons:
                    break  # botocore already retried throttling and 5xx
                pause(attempt, BACKOFF_BASE_SECONDS)
            except PynamoDBException as error:
                logger.warning("send storage failed", extra={"code": getattr(error, "cause_response_code", None)})
                break
        raise BusyError("receivers: storage is busy and not every inbox was written; retry with the same Idempotency-Key")

    def _message(self, request: SendRequest, channel: Channel, send_id: str, user: str) -> InboxMessage:
        message = InboxMessage(
            user,
            send_id,
            channel=request.channel,
            channel_title=channel.title,
            title=request.title,
            content=request.content,
            url=request.url,
            duration=request.duration,
            created_at=iso_from_ms(id_time_ms(send_id)),
            user_channel=f"{user}#{request.channel}",
            expires_at=self._retention,
        )
        message.set_status(UNREAD, None)
        return message

    @staticmethod
    def _count(
        transaction: TransactWrite, request: SendRequest, channel: Channel, send_id: str, user: str, set_latest: bool
    ) -> None:
        actions: list[Any] = [ChannelCounter.unread.add(1), ChannelCounter.total.add(1)]
        condition = None
        if set_latest:
            actions += [
                ChannelCounter.channel_title.set(channel.title),
                ChannelCounter.latest_id.set(send_id),
                ChannelCounter.latest_title.set(request.title),
                ChannelCounter.latest_created_at.set(iso_from_ms(id_time_ms(send_id))),
            ]
            condition = ChannelCounter.latest_id.does_not_exist() | (ChannelCounter.latest_id < send_id)
        transaction.update(ChannelCounter(user, request.channel), actions=actions, condition=condition)


LAMBDA_SCOPE = "lambda:send"
MAX_BATCH = 100


def send_body(sender: Sender, body: dict[str, Any], *, scope: str, key: str | None) -> dict[str, Any]:
    """Validate and store one ``POST /messages`` body."""
    if key is not None:
        idempotency.check_key(key)
    return sender.send(parse_send(body), scope=scope, key=key, raw_body=body)


def _unwrap(event: Any) -> Any:
    if isinstance(event, dict) and "detail" in event and "detail-type" in event:
        return event["detail"]  # an EventBridge envelope
    return event


def _split_key(body: Any, prefix: str) -> tuple[dict[str, Any], str | None]:
    if not isinstance(body, dict):
        raise ValidationError(prefix.rstrip(".") or "event", "must be a JSON object")
    fields = dict(body)
    key = fields.pop("idempotencyKey", None)
    if key is not None:
        idempotency.check_key(key, prefix + "idempotencyKey")
    return fields, key


def handle_send_event(sender: Sender, event: Any) -> dict[str, Any] | list[dict[str, Any]]:
    """The ``send`` Lambda: one send, ``{"messages": [...]}`` (≤100), or either inside EventBridge's ``detail``.

    Every message is validated before any is stored, so invalid input writes nothing.
    """
    event = _unwrap(event)
    if isinstance(event, dict) and "messages" in event:
        if set(event) != {"messages"}:
            raise ValidationError(sorted(set(event) - {"messages"})[0], "is not a known field")
        batch = event["messages"]
        if not isinstance(batch, list) or not 1 <= len(batch) <= MAX_BATCH:
            raise ValidationError("messages", f"must be a list of 1 to {MAX_BATCH} messages")
        prepared = []
        for index, item in enumerate(batch):
            fields, key = _split_key(item, f"messages[{index}].")
            prepared.append((parse_send(fields, f"messages[{index}]."), fields, key))
        return [sender.send(request, scope=LAMBDA_SCOPE, key=key, raw_body=fields) for request, fields, key in prepared]
    fields, key = _split_key(event, "")
    return sender.send(parse_send(fields), scope=LAMBDA_SCOPE, key=key, raw_body=fields)
