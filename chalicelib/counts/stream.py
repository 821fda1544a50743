"""Each user's counts, kept by the stream handler from the inbox's own change records.

A stream record carries the item before and after the change, so its
effect on the counts is ``contribution(new) - contribution(old)``: a send,
a read, a seen, an archive (the live item goes, its archived copy counts
nothing), a delete or a TTL expiry all count the same way, and no write
path has to touch a counter. That keeps counters out of the writers'
transactions (one item per receiver, not two; sends to the same user no
longer conflict on a counter item).

Exactly once: a user's records of one batch become one ``UpdateItem`` that
adds their deltas and raises the item's ``seq`` to their last sequence
number, on condition that ``seq`` is still below their first. DynamoDB
Streams orders the records of one partition key (all of a user's inbox
items) by sequence number, and Lambda runs a shard's batches in order,
parents before children, so a replayed record is always at or below
``seq``: its update is refused, the item is read, and only the records
above ``seq`` are applied (optimistically, on ``seq`` unchanged).

Attributes, per channel ``c``: ``u:c`` unread, ``t:c`` total, ``s:c``
unseen, ``cu:c``/``cs:c`` the critical part of those two (mutes never
hide critical messages), ``l:c`` the latest message id; per user:
``muted`` (a copy of the preferences item), ``seq`` and ``v`` (a version
that `repair` checks).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pynamodb.exceptions import PynamoDBException, UpdateError
from pynamodb.expressions.operand import Path

from chalicelib.core.errors import BusyError
from chalicelib.storage import dynamo as storage
from chalicelib.storage.stream_records import Image, StreamRecord, image_string
from chalicelib.storage.tables import CRITICAL, LIVE_END, PREFERENCES, UNREAD, UserCounts

logger = logging.getLogger(__name__)

KINDS = ("u", "t", "s", "cu", "cs")  # unread, total, unseen, critical unread, critical unseen
SEQUENCE_WIDTH = 40  # DynamoDB's sequence numbers are 21 to 40 digits: padded, they compare as strings


def is_live(message_id: str) -> bool:
    return message_id < LIVE_END


def contribution(image: Image | None) -> tuple[str, dict[str, int]] | None:
    """A stored item's share of its user's counts: its channel and 0/1 per kind; None if it counts nothing."""
    if not image or not is_live(image_string(image, "id") or LIVE_END):
        return None
    unread = image_string(image, "status") == UNREAD
    unseen = "seenAt" not in image or "NULL" in image["seenAt"]
    critical = image_string(image, "severity") == CRITICAL
    share = {"u": int(unread), "t": 1, "s": int(unseen), "cu": int(critical and unread), "cs": int(critical and unseen)}
    return str(image_string(image, "channel")), share


def add_contribution(totals: dict[tuple[str, str], int], image: Image | None, sign: int = 1) -> None:
    """Add (or with ``sign`` -1 take away) an item's contribution to per (kind, channel) totals."""
    share = contribution(image)
    if share is None:
        return
    channel, kinds = share
    for kind, value in kinds.items():
        if value:
            totals[(kind, channel)] = totals.get((kind, channel), 0) + sign * value


@dataclass
class Change:
    """What one user's records of a batch do to their counts."""

    user_id: str
    first: str = ""
    last: str = ""
    deltas: dict[tuple[str, str], int] = field(default_factory=dict)  # (kind, channel) → delta
    latest: dict[str, str] = field(default_factory=dict)  # channel → newest new message id
    muted: set[str] | None = None  # the preferences item's new mutes, when it changed
    records: list[StreamRecord] = field(default_factory=list)

    def add(self, record: StreamRecord) -> None:
        sequence = record.sequence_number.zfill(SEQUENCE_WIDTH)
        self.first = min(self.first or sequence, sequence)
        self.last = max(self.last, sequence)
        self.records.append(record)
        add_contribution(self.deltas, record.new_image)
        add_contribution(self.deltas, record.old_image, -1)
        new_id = record.new_string("id") or ""
        if record.event_name == "INSERT" and is_live(new_id) and record.new_image and "restoredAt" not in record.new_image:
            channel = str(record.new_string("channel"))
            self.latest[channel] = max(self.latest.get(channel, ""), new_id)
        if new_id == PREFERENCES or record.old_string("id") == PREFERENCES:
            muted = (record.new_image or {}).get("muted", {}).get("SS", [])
            self.muted = set(muted)

    def after(self, applied: str) -> Change:
        """The same user's change from only the records above ``applied`` (a partly replayed batch)."""
        rest = Change(self.user_id)
        for record in self.records:
            if record.sequence_number.zfill(SEQUENCE_WIDTH) > applied:
                rest.add(record)
        return rest

    @property
    def empty(self) -> bool:
        return not self.records


def touches_counts(record: StreamRecord) -> bool:
    ids = (record.new_string("id"), record.old_string("id"))
    return any(i is not None and (is_live(i) or i == PREFERENCES) for i in ids)


def record_user(record: StreamRecord) -> str:
    return str(record.new_string("userId") or record.old_string("userId"))


def changes_from(records: Iterable[StreamRecord]) -> dict[str, Change]:
    """Each user's change from a batch's records (those that touch no count are left out)."""
    changes: dict[str, Change] = {}
    for record in records:
        if touches_counts(record):
            user = record_user(record)
            changes.setdefault(user, Change(user)).add(record)
    return changes


@dataclass(frozen=True)
class Counts:
    """A user's counts as stored: what the badge, ``/me/unread-count`` and ``/me/channels`` show."""

    user_id: str
    values: dict[tuple[str, str], int]
    latest: dict[str, str]
    muted: frozenset[str]
    version: int = 0
    sequence: str = ""

    @classmethod
    def from_item(cls, user_id: str, item: dict[str, Any] | None) -> Counts:
        item = item or {}
        values: dict[tuple[str, str], int] = {}
        latest: dict[str, str] = {}
        for name, value in item.items():
            kind, colon, channel = name.partition(":")
            if not colon:
                continue
            if kind == "l":
                latest[channel] = value["S"]
            elif kind in KINDS:
                values[(kind, channel)] = int(value["N"])
        return cls(
            user_id=user_id,
            values=values,
            latest=latest,
            muted=frozenset(item.get("muted", {}).get("SS", [])),
            version=int(item.get("v", {}).get("N", "0")),
            sequence=item.get("seq", {}).get("S", ""),
        )

    def of(self, kind: str, channel: str) -> int:
        return self.values.get((kind, channel), 0)

    @property
    def channels(self) -> list[str]:
        """Channels that hold live messages for the user."""
        return sorted(c for (kind, c), n in self.values.items() if kind == "t" and n > 0)

    def badge(self) -> dict[str, int]:
        """``total`` and ``unseen``: muted channels left out, except their critical messages."""
        total = unseen = 0
        for channel in self.channels:
            muted = channel in self.muted
            total += self.of("cu" if muted else "u", channel)
            unseen += self.of("cs" if muted else "s", channel)
        return {"total": total, "unseen": unseen}

    def unread_by_channel(self) -> dict[str, int]:
        return {c: self.of("u", c) for c in self.channels if self.of("u", c) > 0}

    def numbers(self) -> dict[tuple[str, str], int]:
        """The non-zero counts, to compare with a recount."""
        return {key: n for key, n in self.values.items() if n}

    def summary(self) -> dict[str, Any]:
        """``GET /me/unread-count`` and the ``counts.updated`` frame."""
        return {**self.badge(), "channels": self.unread_by_channel()}


def read(user_id: str, *, consistent: bool = False) -> Counts:
    return Counts.from_item(user_id, storage.read_item(UserCounts, user_id, consistent=consistent))


def read_many(user_ids: list[str]) -> dict[str, Counts]:
    """Consistent reads of many users' counts: ⌈U/100⌉ calls."""
    found = {item["userId"]["S"]: item for item in storage.read_items(UserCounts, "userId", user_ids)}
    return {user: Counts.from_item(user, found.get(user)) for user in user_ids}


def _actions(change: Change) -> list[Any]:
    actions: list[Any] = [Path("seq").set(change.last), Path("v").add(1)]
    for (kind, channel), delta in sorted(change.deltas.items()):
        if delta:
            actions.append(Path(f"{kind}:{channel}").add(delta))
    for channel, latest in sorted(change.latest.items()):
        actions.append(Path(f"l:{channel}").set(latest))
    if change.muted is not None:
        actions.append(Path("muted").set(change.muted) if change.muted else Path("muted").remove())
    return actions


def _update(change: Change, condition: Any) -> Counts:
    """The change, on ``condition`` and on each new latest id being newer than the stored one."""
    for channel, latest in change.latest.items():
        stored = Path(f"l:{channel}")
        condition &= stored.does_not_exist() | (stored < latest)
    return Counts.from_item(change.user_id, storage.update_item(UserCounts, change.user_id, _actions(change), condition))


Outcome = Counts | str  # the counts after the update, or why it did not happen
REPLAYED, FAILED = "replayed", "failed"


def first_try(change: Change) -> Outcome:
    """One user's change, on ``seq`` below its first record; REPLAYED when refused (`settle_replayed` sorts it out)."""
    seq = Path("seq")
    try:
        counts = _update(change, seq.does_not_exist() | (seq < change.first))
    except UpdateError as error:
        if storage.condition_failed(error):
            return REPLAYED  # or a latest id older than the stored one: the careful path sorts it out
        logger.warning("counts update failed", extra={"code": error.cause_response_code})
        return FAILED
    except PynamoDBException as error:
        logger.warning("counts update failed", extra={"code": getattr(error, "cause_response_code", None)})
        return FAILED
    drop_empty_channels(counts)
    return counts


def settle_replayed(changes: list[Change]) -> tuple[dict[str, Counts], list[Change]]:
    """The changes `first_try` found replayed: their counts now, and those that failed (to retry)."""
    done: dict[str, Counts] = {}
    failed: list[Change] = []
    if changes:
        _apply_replayed(changes, done, failed)
        for counts in done.values():
            drop_empty_channels(counts)
    return done, failed


def apply(changes: Iterable[Change]) -> tuple[dict[str, Counts], list[Change]]:
    """Apply every user's change once; return the counts now stored and the changes that failed (to retry).

    Delivery runs the same two steps, `first_try` per user and then
    `settle_replayed`, interleaved with its posts.
    """
    pending = list(changes)
    done: dict[str, Counts] = {}
    replayed: list[Change] = []
    failed: list[Change] = []
    for change, outcome in zip(pending, map(first_try, pending), strict=True):
        if isinstance(outcome, Counts):
            done[change.user_id] = outcome
        else:
            (replayed if outcome == REPLAYED else failed).append(change)
    settled, failed_again = settle_replayed(replayed)
    return {**done, **settled}, failed + failed_again


def _apply_replayed(changes: list[Change], done: dict[str, Counts], failed: list[Change]) -> None:
    """Records at or below ``seq`` were applied before: apply only the rest, on ``seq`` unchanged.

    Also the path of a change whose latest id is older than the stored one
    (a fan-out chunk after a newer send): it keeps the newer.
    """
    pending = changes
    for attempt in range(storage.CONFLICT_RETRIES):
        try:
            stored = read_many([c.user_id for c in pending])
        except (PynamoDBException, BusyError):
            break
        again: list[Change] = []
        for change in pending:
            current = stored[change.user_id]
            rest = change.after(current.sequence)
            rest.latest = {c: i for c, i in rest.latest.items() if i > current.latest.get(c, "")}  # never backwards
            if rest.empty:
                done[change.user_id] = current
                continue
            try:
                seq = Path("seq")
                unchanged = seq == current.sequence if current.sequence else seq.does_not_exist()
                done[change.user_id] = _update(rest, unchanged)
            except UpdateError as error:
                if storage.condition_failed(error):
                    again.append(change)  # another batch moved it meanwhile: look again
                else:
                    failed.append(change)
        pending = again
        if not pending:
            return
        storage.pause_before_retry(attempt)
    failed.extend(pending)


def drop_empty_channels(counts: Counts) -> None:
    """A channel whose last message went: remove its attributes so the item stays small (a rare extra call)."""
    empty = [c for (kind, c), n in counts.values.items() if kind == "t" and n == 0]
    if not empty:
        return
    condition: Any = None
    for channel in empty:
        check = Path(f"t:{channel}") == 0
        condition = check if condition is None else condition & check
    names = [f"{kind}:{c}" for c in empty for kind in (*KINDS, "l")]
    try:
        storage.update_item(UserCounts, counts.user_id, [Path(n).remove() for n in names], condition)
    except UpdateError as error:
        # A message arrived meanwhile (condition), or storage is busy: harmless, the next change tries again.
        logger.info("empty channels kept", extra={"code": error.cause_response_code})
