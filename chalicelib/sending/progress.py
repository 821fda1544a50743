"""An audience send's progress on its send-log item: ``queued`` → ``sending`` → ``done`` (or ``failed``, ``cancelled``).

The audience worker runs a send chunk by chunk (`chalicelib.audience.worker`);
every move here is a conditional update that a repeated step finds already
made, so each chunk is counted once however often SQS delivers it.
"""

from __future__ import annotations

import json
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib import storage
from chalicelib.core.clock import iso, utc_now
from chalicelib.sending.commands import Action, SendRequest
from chalicelib.sending.send_log import CANCELLED, DONE, FAILED, QUEUED, SENDING
from chalicelib.storage import SendLog


def request_of(entry: SendLog) -> SendRequest:
    """The send as it was logged, to store its next chunk."""
    return SendRequest(
        channel=entry.channel,
        receivers=[],
        title=entry.title,
        content=entry.content,
        url=entry.url,
        duration=int(entry.duration),
        audience=entry.audience,
        mobile_url=entry.mobile_url,
        severity=entry.severity,
        actions=tuple(Action(**a) for a in json.loads(entry.actions or "[]")),
        tags=tuple(sorted(entry.tags or ())),
        expiry=entry.expiry,
    )


def advance(send_id: str, number: int, stored: int, *, last: bool) -> None:
    """Step ``number`` stored ``stored`` items: count them and it (once); after the last one the send is done.

    A send cancelled meanwhile still counts what the step stored, and stays cancelled with its recipients.
    """
    counted: list[Any] = [SendLog.chunks.set(number + 1), SendLog.stored.add(stored)]
    if last:
        done = SendLog.status.set(DONE)
        moved = [done, SendLog.completed_at.set(iso(utc_now())), SendLog.recipients.set(SendLog.stored + stored)]
    else:
        moved = [SendLog.status.set(SENDING)]
    step = SendLog.chunks == number
    if not _conditional(send_id, counted + moved, step & (SendLog.status != CANCELLED)):
        _conditional(send_id, counted, step & (SendLog.status == CANCELLED))  # nothing when the step ran already


def claim_blind_write(send_id: str, number: int) -> bool:
    """Claim chunk ``number``'s blind write: only its first run may write without looking.

    Any later run of the chunk (SQS redelivery, a duplicate copy of the step,
    a redrive) finds the claim and writes only the missing items, so nothing
    the users did meanwhile is overwritten.
    """
    try:
        SendLog(send_id).update(
            actions=[SendLog.writing.set(number)],
            condition=SendLog.writing.does_not_exist() | (SendLog.writing < number),
        )
    except UpdateError as error:
        if storage.condition_failed(error):
            return False
        raise
    return True


def mark_failed(send_id: str) -> None:
    _conditional(send_id, [SendLog.status.set(FAILED)], ~SendLog.status.is_in(DONE, CANCELLED))


def cancel(send_id: str) -> None:
    """Its channel is gone: the send stops where it is (``recipients`` keeps the snapshot's count)."""
    _conditional(
        send_id,
        [SendLog.status.set(CANCELLED), SendLog.completed_at.set(iso(utc_now()))],
        SendLog.status.is_in(QUEUED, SENDING, FAILED),
    )


def _conditional(send_id: str, actions: list[Any], condition: Any) -> bool:
    """An update that a repeated step finds already made (its condition fails): then nothing happens (False)."""
    try:
        SendLog(send_id).update(actions=actions, condition=condition)
    except UpdateError as error:
        if not storage.condition_failed(error):
            raise
        return False
    return True


def mark_sending(send_id: str, recipients: int) -> None:
    """The first chunk starts: the snapshot's size is the send's ``recipients`` (once)."""
    _conditional(
        send_id,
        [SendLog.recipients.set(recipients), SendLog.status.set(SENDING)],
        (SendLog.chunks == 0) & SendLog.status.is_in(QUEUED, FAILED),
    )
