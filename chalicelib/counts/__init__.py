"""Each user's counts: the read model (`model`), a batch's changes to it (`changes`),
the stream's exactly-once updater (`stream`), and a user's own change counted in its write (`own`).

Readers (the inbox, the repair) use `read` and `Counts`; the inbox's writers
add an `OwnChange` to their transactions; the stream function uses
`changes_from` and `apply`. Nothing here writes an inbox item.
"""

from chalicelib.counts.changes import ANY_SHARD, Change, changes_from, echoes_counts, record_user
from chalicelib.counts.model import (
    GUARD,
    GUARD_TIME,
    KINDS,
    TAG,
    Counts,
    add_contribution,
    read,
    read_along,
    read_many,
)
from chalicelib.counts.own import OwnChange, counted_at_write, fresh_mark
from chalicelib.counts.stream import apply, tidy

__all__ = [
    "ANY_SHARD",
    "GUARD",
    "GUARD_TIME",
    "KINDS",
    "TAG",
    "Change",
    "Counts",
    "OwnChange",
    "add_contribution",
    "apply",
    "changes_from",
    "counted_at_write",
    "echoes_counts",
    "fresh_mark",
    "read",
    "read_along",
    "read_many",
    "record_user",
    "tidy",
]
