"""Each user's counts: the read model (`model`), a batch's changes to it (`changes`),
and the stream's exactly-once updater (`stream`).

Readers (the inbox, the repair) use `read` and `Counts`; the stream
function uses `changes_from` and `apply`. Nothing here writes an inbox item.
"""

from chalicelib.counts.changes import ANY_SHARD, Change, changes_from, record_user
from chalicelib.counts.model import GUARD, GUARD_TIME, KINDS, Counts, add_contribution, read, read_many
from chalicelib.counts.stream import apply

__all__ = [
    "ANY_SHARD",
    "GUARD",
    "GUARD_TIME",
    "KINDS",
    "Change",
    "Counts",
    "add_contribution",
    "apply",
    "changes_from",
    "read",
    "read_many",
    "record_user",
]
