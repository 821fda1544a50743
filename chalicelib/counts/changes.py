"""A batch of inbox stream records, read as each user's `Change` to their counts.

A stream record carries the item before and after the change, so its
effect is ``contribution(new) - contribution(old)`` (`chalicelib.counts.model`);
a user's records of one batch add up to one `Change`, applied once by
`chalicelib.counts.stream`. A record its write counted already (the
user's own change, `chalicelib.counts.own`) is left out. A batch comes from one shard (Lambda reads
each shard on its own), so a change carries its shard: the guard that
makes it apply once is per (user, shard).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from chalicelib.counts.model import add_contribution, is_live
from chalicelib.counts.own import counted_at_write
from chalicelib.storage import PREFERENCES, StreamRecord

SEQUENCE_WIDTH = 40  # DynamoDB's sequence numbers are 21 to 40 digits: padded, they compare as strings
# The shard of a batch whose event does not name one (an event source mapping without a tumbling
# window, a hand-made test event): one guard for the whole stream, exact only while each user's
# records come from one shard at a time.
ANY_SHARD = "stream"


@dataclass
class Change:
    """What one user's records of a batch do to their counts."""

    user_id: str
    shard: str = ANY_SHARD
    first: str = ""
    last: str = ""
    deltas: dict[tuple[str, str], int] = field(default_factory=dict)  # (kind, channel) → delta
    latest: dict[str, str] = field(default_factory=dict)  # channel → newest new message id
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

    def after(self, applied: str) -> Change:
        """The same user's change from only the records above ``applied`` (a partly replayed batch)."""
        rest = Change(self.user_id, self.shard)
        for record in self.records:
            if record.sequence_number.zfill(SEQUENCE_WIDTH) > applied:
                rest.add(record)
        return rest

    @property
    def empty(self) -> bool:
        return not self.records


def touches_counts(record: StreamRecord) -> bool:
    """A message's record, or the preferences' (the mutes, which their writes copy to the counts)."""
    ids = (record.new_string("id"), record.old_string("id"))
    return any(i is not None and (is_live(i) or i == PREFERENCES) for i in ids)


def counted_here(record: StreamRecord) -> bool:
    """A live message's record that its write did not count: a send, TTL's deletion."""
    ids = (record.new_string("id"), record.old_string("id"))
    return any(i is not None and is_live(i) for i in ids) and not counted_at_write(record)


def echoes_counts(records: Iterable[StreamRecord]) -> bool:
    """Whether a user's records hold an own change of their counts: their sockets get the counts it left."""
    return any(touches_counts(record) and counted_at_write(record) for record in records)


def record_user(record: StreamRecord) -> str:
    return str(record.new_string("userId") or record.old_string("userId"))


def changes_from(records: Iterable[StreamRecord], shard: str = ANY_SHARD) -> dict[str, Change]:
    """Each user's change from a batch's records, all from ``shard`` (only those `counted_here`)."""
    changes: dict[str, Change] = {}
    for record in records:
        if counted_here(record):
            user = record_user(record)
            changes.setdefault(user, Change(user, shard)).add(record)
    return changes
