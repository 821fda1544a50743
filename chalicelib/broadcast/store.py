"""Storing a broadcast: one transaction of four writes, whatever the number of subscribers.

1. the channel's sequence moves from s to s + 1, on the condition that it is
   s and its subscriber count is the n read (`sequence`): the subscriptions
   standing now are exactly those that hold broadcast s + 1;
2. the channel's index item ``~b|<channel>`` gains ``b:<id>`` (its number,
   the channel's life, severity, tags, own expiry: what counts and filters
   need), on the condition that it has none yet — a retry of the same send
   finds it and stores nothing twice;
3. the tenant's register ``~r|<tenant>`` names the channel among those with
   broadcasts (a user's reads look there first);
4. the send log item, ``done`` with ``recipients`` = ``stored`` = n: every
   subscriber holds it the moment the transaction lands.

Then a ``frames`` step goes on the work queue: the frames reach the users
online (`frames`), never the subscribers one by one.

The message itself is the send log item: each user's view of it is built
from it on read (`views`), and a user's own copy only on their first change
(`copies`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.operand import Path

from chalicelib import sending, storage
from chalicelib.broadcast.sequence import ChannelSequence, read_sequence, sequence_item
from chalicelib.core import tenants
from chalicelib.core.clock import utc_now
from chalicelib.core.errors import BusyError
from chalicelib.core.ids import first_id_at, id_time_ms, new_id
from chalicelib.storage import COUNT, CRITICAL, FRAMES, SendLog, Step, UserCounts, WorkQueue

if TYPE_CHECKING:
    from chalicelib.storage import Channel

logger = logging.getLogger(__name__)

INDEX, REGISTER, COPIES = "~b|", "~r|", "~m|"
ENTRY = "b:"
# On a user's copies item ``~m|<user>``: the ids of the broadcasts they hold a copy of, a set per month of the
# ids' time (``mb:<yyyymm>``), so that a month past the retention goes whole as the next copy is written.
COPIED = "mb:"
STALE_MONTHS = 12  # how many months past the retention each copy's write removes (absent ones cost nothing)
# One index item holds a channel's broadcasts within the retention (those past it are removed as the next is
# stored). An entry is ~130 bytes, ~340 with five long tags: past this many bytes of live entries (well under
# DynamoDB's 400 KB item, with room for the next) a channel sends per subscriber again (docs/design.md,
# *Broadcast on read*).
MAX_INDEX_BYTES = 300_000
INDEX_ACTION = 2  # the index entry's place in the transaction (`_write`): refused there, the broadcast is stored
LOG_ACTION = 0  # the send log's: refused there alone, an earlier attempt logged the send per subscriber


def index_key(channel: str) -> str:
    return INDEX + channel


def register_key(tenant: str | None) -> str:
    return REGISTER + (tenant or "")


def copies_key(user_id: str) -> str:
    return COPIES + user_id


@dataclass(frozen=True)
class IndexEntry:
    """One broadcast as the channel's index holds it: what a user's counts and filters need, without its text."""

    id: str
    channel: str  # as stored (the tenant's)
    seq: int
    floor: str
    critical: bool
    tags: tuple[str, ...]
    expiry: str | None  # the send's own expiresAt
    stored: str | None = None  # stored late: an id minted then, so a catch-up finds it behind newer ids

    def value(self) -> str:
        fields = {"seq": self.seq, "floor": self.floor, "critical": self.critical, "tags": self.tags, "expiry": self.expiry}
        return json.dumps(fields | {"stored": self.stored})

    @property
    def size(self) -> int:
        """Its bytes in the index item, as DynamoDB counts them (name and value)."""
        return len((ENTRY + self.id).encode()) + len(self.value().encode())

    def expired(self, now: datetime, retention: timedelta) -> bool:
        """As a stored copy would be (`chalicelib.inbox.expiry.expired`): past its own expiry, or its retention."""
        if self.expiry is not None and datetime.fromisoformat(self.expiry) <= now:
            return True
        return id_time_ms(self.id) / 1000 + retention.total_seconds() <= now.timestamp()

    @classmethod
    def parse(cls, channel: str, name: str, value: str) -> IndexEntry:
        fields = json.loads(value)
        return cls(
            id=name.removeprefix(ENTRY),
            channel=channel,
            seq=int(fields["seq"]),
            floor=str(fields["floor"]),
            critical=bool(fields["critical"]),
            tags=tuple(fields["tags"]),
            expiry=fields["expiry"],
            stored=fields.get("stored"),
        )


def copied_name(message_id: str) -> str:
    """The set on the copies item that names ``message_id`` once copied: its month's."""
    return COPIED + datetime.fromtimestamp(id_time_ms(message_id) / 1000, tz=UTC).strftime("%Y%m")


def copied_ids(item: dict[str, Any] | None) -> frozenset[str]:
    """Every id a raw copies item names."""
    return frozenset(i for name, value in (item or {}).items() if name.startswith(COPIED) for i in value["SS"])


def stale_copied(now: datetime, retention: timedelta) -> list[str]:
    """The sets of the months wholly past the retention (those before the month the retention begins in): every
    broadcast they name has expired, its index entry gone or going."""
    first_kept = (now - retention).replace(day=1)
    months = []
    for _ in range(STALE_MONTHS):
        first_kept = (first_kept - timedelta(days=1)).replace(day=1)
        months.append(COPIED + first_kept.strftime("%Y%m"))
    return months


def entries_of(channel: str, item: dict[str, Any] | None) -> list[IndexEntry]:
    """The broadcasts of a raw index item."""
    return [IndexEntry.parse(channel, name, value["S"]) for name, value in (item or {}).items() if name.startswith(ENTRY)]


class Broadcaster:
    """The sender's broadcaster (`chalicelib.sending.Sender`): an audience send to a channel with more than
    ``threshold`` subscribers is stored once, as a broadcast, and its frames are queued (`frames`)."""

    def __init__(self, threshold: int, queue: Callable[[], WorkQueue], retention: timedelta) -> None:
        self.threshold = threshold
        self._queue = queue
        self._retention = retention

    def __call__(self, log: SendLog, channel: Channel) -> bool:
        sequence = read_sequence(channel.name, first_id_at(channel.created_at))
        if not (channel.counted or sequence.counted):  # older than broadcasts: counted once by a step, per subscriber till then
            self._count(channel.name)
            return False
        if sequence.subscribers <= self.threshold:
            return False
        kept = entries_of(channel.name, storage.read_item(UserCounts, index_key(channel.name), consistent=True))
        now = utc_now()
        past = [entry.id for entry in kept if entry.expired(now, self._retention)]  # removed as this one is stored
        if sum(entry.size for entry in kept if entry.id not in past) > MAX_INDEX_BYTES:
            logger.warning("broadcast index full: sent per subscriber", extra={"channel": channel.name})
            return False
        if not store_broadcast(log, sequence, past):
            return False
        try:  # after the store: a retry with the same key finds it stored and queues the frames again
            self._queue().put(Step(FRAMES, log.id))
        except Exception as error:  # botocore's ClientError or a connection error: nothing was queued
            logger.warning("queueing a broadcast's frames failed", extra={"error": type(error).__name__})
            raise BusyError("audience: the send's frames could not be queued; retry with the same Idempotency-Key") from None
        return True

    def _count(self, channel: str) -> None:
        try:
            self._queue().put(Step(COUNT, channel))
        except Exception as error:  # the next audience send queues it again
            logger.warning("queueing a channel's count failed", extra={"error": type(error).__name__})


def store_broadcast(log: SendLog, sequence: ChannelSequence, past: Sequence[str] = ()) -> bool:
    """Store the send ``log`` (not yet saved) as a broadcast: the four writes above, retried until one lands;
    the index entries ``past`` (expired) are removed in the same write. False: an earlier attempt of this send
    logged it as a send per subscriber (the channel has grown past the threshold since): it stays one.

    A subscription change between the read of ``sequence`` and the write is
    read again; a retry of a send that already landed finds its index entry
    and does nothing.
    """
    for attempt in range(storage.CONFLICT_RETRIES):
        entry = IndexEntry(
            id=log.id,
            channel=log.channel,
            seq=sequence.seq + 1,
            floor=sequence.floor,
            critical=log.severity == CRITICAL,
            tags=tuple(sorted(log.tags or ())),
            expiry=log.expiry,
            stored=_late_store(log.id),
        )
        log.recipients = log.stored = sequence.subscribers
        try:
            _write(log, sequence, entry, list(past))
            return True
        except TransactWriteError as error:
            codes = storage.cancellation_codes(error)
            if codes[INDEX_ACTION : INDEX_ACTION + 1] == [storage.CONDITION_FAILED]:
                return True  # stored by an earlier attempt
            if codes[LOG_ACTION : LOG_ACTION + 1] == [storage.CONDITION_FAILED]:
                return False  # logged by an earlier attempt, per subscriber
            if not storage.is_busy(error) and storage.CONDITION_FAILED not in codes:
                raise
        storage.pause_before_retry(attempt)
        sequence = read_sequence(sequence.channel, sequence.floor)
    raise BusyError("audience: the channel's subscriptions keep changing; retry with the same Idempotency-Key")


def mark_stored(entry: IndexEntry) -> None:
    """Give the broadcast a fresh ``stored`` (its frames go out late: a client may have seen newer messages and
    catch up after them); one UpdateItem of its index entry, nothing if it is gone meanwhile."""
    name = Path(ENTRY + entry.id)
    marked = dataclasses.replace(entry, stored=new_id())
    try:
        UserCounts(index_key(entry.channel)).update(actions=[name.set(marked.value())], condition=name.exists())
    except UpdateError as error:
        if not storage.condition_failed(error):
            raise


def _late_store(send_id: str) -> str | None:
    """An id minted now if this attempt starts late (as a send's items are: `sending.stale`), so a
    catch-up after newer ids finds it; None for one stored as its id was minted (the catch-up's id range has it)."""
    now = new_id()
    return now if sending.stale(send_id, now) else None


def _write(log: SendLog, sequence: ChannelSequence, entry: IndexEntry, past: list[str]) -> None:
    name = Path(ENTRY + entry.id)
    index: list[Any] = [name.set(entry.value()), *(Path(ENTRY + expired).remove() for expired in past)]
    with storage.transaction() as transaction:  # PynamoDB sends the put first, then the updates in this order
        transaction.save(log, condition=SendLog.id.does_not_exist())
        transaction.update(sequence_item(sequence.channel), actions=sequence.next(), condition=sequence.still())
        transaction.update(UserCounts(index_key(entry.channel)), actions=index, condition=name.does_not_exist())
        register = UserCounts(register_key(tenants.channel_tenant(entry.channel)))
        transaction.update(register, actions=[Path("channels").add({entry.channel})])
