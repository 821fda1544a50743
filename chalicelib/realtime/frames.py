"""The frames a stream record asks for, by the kind of item it wrote:

* INSERT of a live message → ``message.created`` (``silent`` when its
  channel is muted and it is not critical), or ``message.updated`` when it
  came back from the archive (``restoredAt``);
* INSERT of an archived or a snoozed copy → ``message.updated`` (``archived: true``, ``snoozedUntil``);
* INSERT of a live message woken from a snooze (``unsnoozedAt``) → ``message.created`` with ``"unsnoozed": true``;
* an entry beside a message (tag, pin, expiry) → nothing;
* INSERT of a tombstone → ``message.deleted``;
* MODIFY whose state really changed → ``message.updated`` (moto even
  emits MODIFY for no-op writes, so images are compared);
* the preferences item → ``preferences.updated``;
* REMOVE → nothing: moves and deletions are announced by what they insert,
  and a TTL expiry only changes the counts;
* and per user whose counts changed (by the stream, or by their own change), their new counts: on
  the last ``message.created`` when it ends their frames, else in one ``counts.updated``.

A batch with more than ``FOLD_AFTER`` changes of one user's messages (a
bulk change: mark-all-read of 1,000 is 1,000 ``message.updated``) sends one
``inbox.changed`` in their place, with the counts: the client reloads what
it shows. So what one user does to their own inbox adds a bounded number of
posts to a batch — not a post per changed message on each of their
connections, which held every other user's frames of the next batch back.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from chalicelib.counts import Change, Counts, echoes_counts
from chalicelib.storage import (
    CRITICAL,
    DELETED,
    ENTRIES,
    PREFERENCES,
    InboxMessage,
    StreamRecord,
    message_json,
    preferences_json,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Frame:
    """One frame for one user, from one stream record."""

    sequence_number: str
    payload: bytes
    created_at: float | None = None  # the stream record's creation, epoch seconds: delivery lag is measured from it
    counts: bytes | None = None  # the counts it carries as a frame of their own: posted instead when it is too large


STATE_FIELDS = ("status", "seenAt", "archivedAt", "pinnedAt", "snoozedUntil")
FOLD_AFTER = 20  # a user's changed messages in one batch beyond which they go as one ``inbox.changed``
CHANGES = ("message.updated", "message.deleted")  # the frames an ``inbox.changed`` stands for


def _payload(frame: dict[str, Any]) -> bytes:
    return json.dumps(frame, separators=(",", ":")).encode("utf-8")


def frame_from_record(record: StreamRecord, muted: frozenset[str] = frozenset()) -> dict[str, Any] | None:
    """The frame one stream record asks for, or None (REMOVE, a no-op MODIFY)."""
    image = record.new_image
    if image is None or record.event_name not in ("INSERT", "MODIFY"):
        return None
    item_id = record.new_string("id") or ""
    if item_id.startswith(ENTRIES):
        return None  # an entry beside a message (a tag's, a pin's, an expiry's): its message tells
    if item_id == PREFERENCES:
        return {"type": "preferences.updated", "preferences": preferences_json(image.get("muted", {}).get("SS", []))}
    if item_id.startswith(DELETED):
        return {"type": "message.deleted", "id": item_id.removeprefix(DELETED)} if record.event_name == "INSERT" else None
    if record.event_name == "MODIFY" and all(record.old_string(f) == record.new_string(f) for f in STATE_FIELDS):
        return None
    message = InboxMessage.from_raw_data(image)
    if record.event_name == "INSERT" and message.live and message.copied_at is not None:
        return None  # a copy of a broadcast the user's devices show already (`chalicelib.broadcast.copies`)
    if record.event_name == "INSERT" and message.live and message.restored_at is None:
        silent = message.channel in muted and message.severity != CRITICAL
        created = {"type": "message.created", "message": message_json(message), "silent": silent}
        return {**created, "unsnoozed": True} if message.unsnoozed_at is not None else created
    return {"type": "message.updated", "message": message_json(message)}


def user_frames(records: list[StreamRecord], change: Change | None, stored: Counts | None) -> list[Frame]:
    """One user's frames: every record's, and their new counts when the batch changed them.

    The counts ride on the last frame when it is a ``message.created`` (one
    frame per delivered message, the common case: API Gateway bills every
    frame); otherwise a ``counts.updated`` of their own follows. Either way
    they are the counts as stored after the whole batch, so a replayed
    batch carries the same absolute values again, never a second increment.
    """
    built: list[tuple[StreamRecord, dict[str, Any]]] = []
    for record in records:
        try:
            frame = frame_from_record(record, stored.muted if stored is not None else frozenset())
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            logger.error("unreadable stream record", extra={"code": type(error).__name__})
            continue
        if frame is not None:
            built.append((record, frame))
    changes = [record for record, frame in built if frame["type"] in CHANGES]
    folded = changes[0] if len(changes) > FOLD_AFTER else None
    if folded is not None:
        built = [(record, frame) for record, frame in built if frame["type"] not in CHANGES]
    frames = [Frame(record.sequence_number, _payload(frame), record.created_at) for record, frame in built]
    changed = change is not None and any(change.deltas.values())
    counts: dict[str, Any] = {}
    if stored is not None and records and (changed or echoes_counts(records)):  # echoes: the user's own, counted at write
        # ``version`` grows with every update: a frame posted by a sibling shard's batch may arrive later, not newer.
        counts = {"counts": stored.summary(), "version": stored.version}
    if folded is not None:  # last: it stands for every change of the batch, so nothing after it may be older
        # A failed post sends Lambda back to the first change it stands for: the retry covers them all.
        fold = _payload({"type": "inbox.changed", "changed": len(changes), **counts})
        alone = _payload({"type": "counts.updated", **counts}) if counts else None
        frames.append(Frame(folded.sequence_number, fold, None, alone))
    elif counts:
        alone = _payload({"type": "counts.updated", **counts})
        if built and built[-1][1]["type"] == "message.created":
            record, frame = built[-1]
            frames[-1] = Frame(record.sequence_number, _payload({**frame, **counts}), record.created_at, alone)
        else:
            frames.append(Frame(records[-1].sequence_number, alone))
    return frames
