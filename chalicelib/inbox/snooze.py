"""Snoozing a message: out of the lists and counts until a time, then back unread as a new message.

A snooze moves the message to ``snoozed#<id>`` (a delete and a put in one
transaction with the counts it leaves, like archiving: every list and
count reads only live ids) and asks a managed scheduler to wake it
(`WakeScheduler`: EventBridge Scheduler one-time schedules deployed, the
local stack's stand-in in `infra.local`). The wake-up moves it back unread,
with ``unsnoozedAt`` (so the stream tells every open tab ``message.created``
with ``"unsnoozed": true``) and a fresh ``storedId`` (so a catch-up finds it
behind newer ids).

The schedule is asked for before the move. A wake-up names the
``snoozedUntil`` it was made for and moves the message only if it still says
so, so a wake-up run twice, or one for a snooze since changed (snoozed again,
woken by hand, archived, deleted), changes nothing: correctness never depends
on a schedule being gone. Still, each pending schedule counts toward the
account's EventBridge Scheduler quota, so a write that ends or moves a snooze
(snoozed again to another time, woken by hand, archived, deleted) cancels the
old one's schedule once it succeeded, and a snooze whose move failed or lost
cancels the one it just asked for, unless the message is snoozed until that
very time after all (a retried request, or its twin that won). Cancelling is
best effort: a failure is logged and the answer stands, as the schedule left
behind finds nothing to wake. A wake-up by its own schedule cancels nothing:
that schedule deletes itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException

from chalicelib import counts, storage
from chalicelib.core.clock import iso, utc_now
from chalicelib.core.errors import BusyError, ConflictError
from chalicelib.core.ids import is_valid_id, new_id
from chalicelib.counts import OwnChange
from chalicelib.inbox.bulk import BUSY, in_transaction, marked_copy, move_to, unchanged
from chalicelib.storage import SNOOZED, UNREAD, InboxMessage, message_json

logger = logging.getLogger(__name__)


class WakeScheduler(Protocol):
    def schedule(self, user_id: str, message_id: str, until: str, wake_id: str | None) -> None: ...

    def cancel(self, user_id: str, message_id: str, until: str, wake_id: str | None) -> None: ...


@dataclass(frozen=True)
class EventBridgeScheduler:
    """One-time EventBridge Scheduler schedules that invoke the ``wake`` function at ``snoozedUntil``, then delete themselves."""

    client: Any  # boto3's "scheduler" client
    target_arn: str
    role_arn: str
    group: str = "default"

    def schedule(self, user_id: str, message_id: str, until: str, wake_id: str | None) -> None:
        moment = datetime.fromisoformat(until)
        with contextlib.suppress(self.client.exceptions.ConflictException):  # asked for before: the same schedule
            self.client.create_schedule(
                Name=schedule_name(user_id, message_id, until, wake_id),
                GroupName=self.group,
                ScheduleExpression=f"at({moment:%Y-%m-%dT%H:%M:%S})",
                ScheduleExpressionTimezone="UTC",
                FlexibleTimeWindow={"Mode": "OFF"},
                ActionAfterCompletion="DELETE",
                Target={
                    "Arn": self.target_arn,
                    "RoleArn": self.role_arn,
                    "Input": wake_input(user_id, message_id, until, wake_id),
                },
            )

    def cancel(self, user_id: str, message_id: str, until: str, wake_id: str | None) -> None:
        with contextlib.suppress(self.client.exceptions.ResourceNotFoundException):  # ran and deleted itself, or cancelled
            self.client.delete_schedule(Name=schedule_name(user_id, message_id, until, wake_id), GroupName=self.group)


def schedule_name(user_id: str, message_id: str, until: str, wake_id: str | None = None) -> str:
    """A schedule's name (64 characters of ``[0-9A-Za-z_.-]``), the same for the same wake-up: one snooze written
    (``wake_id``; None for a snooze stored before snoozes had their own), never another snooze to the same time."""
    parts = [user_id, message_id, until] if wake_id is None else [user_id, message_id, until, wake_id]
    digest = hashlib.sha256(json.dumps(parts).encode("utf-8")).hexdigest()
    return f"wake-{message_id}-{digest[:32]}"


def wake_input(user_id: str, message_id: str, until: str, wake_id: str | None = None) -> str:
    event = {"userId": user_id, "id": message_id, "snoozedUntil": until}
    return json.dumps(event if wake_id is None else {**event, "wakeId": wake_id}, separators=(",", ":"))


def snooze(user_id: str, message: InboxMessage, until: datetime, scheduler: WakeScheduler) -> dict[str, Any]:
    """Snooze a live or snoozed message until ``until``; the scheduler is asked first, an earlier snooze's cancelled after."""
    if message.archived:
        raise ConflictError("snoozedUntil: an archived message cannot be snoozed; restore it first")
    when, wake_id = iso(until), new_id()
    scheduler.schedule(user_id, message.message_id, when, wake_id)
    after = marked_copy(message, counts.fresh_mark())
    after.id, after.snoozed_until, after.wake_id = SNOOZED + message.message_id, when, wake_id
    after.set_status(message.status, message.read_at)
    layout: tuple[int, ...] = (1,) if message.snoozed else (1, 1)  # an update of the time, or a move
    write = _update_until(after, _same_snooze(message)) if message.snoozed else move_to(after)
    written = 0
    try:
        written = in_transaction([message], write, None, layout, field="snoozedUntil")
        if not written:
            raise BusyError(f"snoozedUntil: {BUSY}")
    finally:
        if not written:  # failed or lost: its schedule would find nothing to wake
            _cancel_unless_snoozed(scheduler, user_id, message.message_id, when, wake_id)
    forget_wake_up(scheduler, message)
    return message_json(after)


def forget_wake_up(scheduler: WakeScheduler | None, message: InboxMessage, after: InboxMessage | None = None) -> None:
    """After a write that replaced ``message`` (with ``after``, when it stays): cancel the schedule of the snooze it
    was in, unless ``after`` is still in that very snooze; best effort. Each snooze written has its own schedule, so
    this never cancels one that a later snooze, even to the same time, counts on."""
    if scheduler is None or message.snoozed_until is None:
        return
    if after is not None and (after.snoozed_until, after.wake_id) == (message.snoozed_until, message.wake_id):
        return
    _cancel(scheduler, message.user_id, message.message_id, message.snoozed_until, message.wake_id)


def _cancel_unless_snoozed(scheduler: WakeScheduler, user_id: str, message_id: str, until: str, wake_id: str) -> None:
    """A snooze's move failed or lost: cancel its schedule, unless the write went through despite its error (the
    message is in that very snooze); kept when that cannot be read."""
    try:
        found = storage.read_batch(InboxMessage, [(user_id, SNOOZED + message_id)], consistent=True)
    except PynamoDBException:
        logger.warning("schedule of a failed snooze of %s until %s kept: the message could not be read", message_id, until)
        return
    if not found or found[0].wake_id != wake_id:
        _cancel(scheduler, user_id, message_id, until, wake_id)


def _cancel(scheduler: WakeScheduler, user_id: str, message_id: str, until: str, wake_id: str | None) -> None:
    try:
        scheduler.cancel(user_id, message_id, until, wake_id)
    except (ClientError, BotoCoreError) as error:  # left to run: it finds nothing to wake
        logger.warning("schedule of the snooze of %s until %s not cancelled: %s", message_id, until, error)


def wake(user_id: str, message_id: str, until: str | None, wake_id: str | None = None) -> dict[str, Any] | None:
    """Back unread as a new message, if still snoozed (until ``until``, when named, by the snooze ``wake_id`` names,
    when named); None if there is nothing to wake."""
    woken = _wake(user_id, message_id, until, wake_id)
    return message_json(woken[1]) if woken is not None else None


def wake_now(user_id: str, message_id: str, scheduler: WakeScheduler | None) -> dict[str, Any] | None:
    """``snoozedUntil: null``: woken whatever it was snoozed until, and the schedule of that snooze cancelled."""
    woken = _wake(user_id, message_id, None)
    if woken is None:
        return None
    forget_wake_up(scheduler, woken[0])
    return message_json(woken[1])


def _wake(
    user_id: str, message_id: str, until: str | None, wake_id: str | None = None
) -> tuple[InboxMessage, InboxMessage] | None:
    """The snoozed message and what it became, woken; None if there is nothing to wake."""
    if not is_valid_id(message_id):
        return None
    for attempt in range(storage.CONFLICT_RETRIES):
        found = storage.read_batch(InboxMessage, [(user_id, SNOOZED + message_id)], consistent=True)
        stale = found and ((until is not None and found[0].snoozed_until != until) or wake_id not in (None, found[0].wake_id))
        if not found or stale:
            return None  # woken, snoozed again, archived or deleted meanwhile: this wake-up has nothing to do
        message = found[0]
        after = marked_copy(message, counts.fresh_mark())
        after.id, after.snoozed_until, after.wake_id = message_id, None, None
        after.unsnoozed_at, after.restored_at, after.stored_id = iso(utc_now()), None, new_id()
        after.seen_at = None
        after.set_status(UNREAD, None)
        if in_transaction([message], move_to(after, _same_snooze(message)), None, (1, 1), field="snoozedUntil"):
            return message, after
        storage.pause_before_retry(attempt)
    raise BusyError(f"snoozedUntil: {BUSY}")


def _same_snooze(message: InboxMessage) -> Any:
    """The condition that the stored message is still in ``message``'s snooze (its time and its own schedule)."""
    wake_id = InboxMessage.wake_id.does_not_exist() if message.wake_id is None else InboxMessage.wake_id == message.wake_id
    return (InboxMessage.snoozed_until == message.snoozed_until) & wake_id


def _update_until(after: InboxMessage, condition: Any) -> Any:
    def write(transaction: Any, message: InboxMessage, own: OwnChange) -> None:
        actions = [
            InboxMessage.snoozed_until.set(after.snoozed_until),
            InboxMessage.wake_id.set(after.wake_id),
            InboxMessage.counted.set(after.counted),
        ]
        transaction.update(message, actions=actions, condition=unchanged(message) & condition)

    return write


def handle_wake_event(event: Any) -> dict[str, Any]:
    """The ``wake`` function's event: ``{userId, id, snoozedUntil}`` as the schedule's input."""
    if not isinstance(event, dict) or not all(isinstance(event.get(k), str) for k in ("userId", "id", "snoozedUntil")):
        logger.error("wake-up event without userId, id and snoozedUntil")
        return {"woken": False}
    wake_id = event.get("wakeId") if isinstance(event.get("wakeId"), str) else None  # none in schedules made before
    woken = wake(event["userId"], event["id"], event["snoozedUntil"], wake_id)
    return {"woken": woken is not None}
