"""Keeping counters true when DynamoDB's TTL deletes old messages.

A TTL deletion reaches the inbox stream as a REMOVE whose identity is the
DynamoDB service. Each one decrements its (user, channel) counter once:
the decrement and a marker item for that message are written in one
transaction whose marker put is conditional, so when Lambda re-runs a batch
(it retries from the first failed record, repeating the ones after it) the
replayed corrections find their markers and change nothing.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from pynamodb.exceptions import PynamoDBException, TransactWriteError

from chalicelib import storage
from chalicelib.models import UNREAD, ChannelCounter, EffectMarker
from chalicelib.stream_records import StreamRecord

logger = logging.getLogger(__name__)

MARKER_LIFETIME = timedelta(hours=48)  # longer than the stream keeps records (24 h)
MARKERS_PER_TRANSACTION = storage.MAX_TRANSACTION_ACTIONS - 1  # plus the counter update


@dataclass(frozen=True)
class Expiry:
    sequence_number: str
    user_id: str
    channel: str
    message_id: str
    was_unread: bool

    @property
    def marker_key(self) -> str:
        return json.dumps(["expired", self.user_id, self.message_id], separators=(",", ":"))


def expiry_from_record(record: StreamRecord) -> Expiry | None:
    """The expiry a stream record reports, or None for anything but a TTL deletion."""
    if not record.is_ttl_delete:
        return None
    user_id, channel, message_id = (record.old_string(n) for n in ("userId", "channel", "id"))
    if user_id is None or channel is None or message_id is None:
        raise ValueError("a TTL deletion without its old image")
    return Expiry(record.sequence_number, user_id, channel, message_id, record.old_string("status") == UNREAD)


def apply_expiries(expiries: Iterable[Expiry]) -> list[str]:
    """Correct the counters, once per expired message; return the sequence numbers that failed."""
    groups: dict[tuple[str, str], dict[str, Expiry]] = defaultdict(dict)
    for expiry in expiries:
        groups[(expiry.user_id, expiry.channel)][expiry.marker_key] = expiry  # a replay within one batch counts once
    failed: list[str] = []
    for (user_id, channel), group in groups.items():
        pending = list(group.values())
        for start in range(0, len(pending), MARKERS_PER_TRANSACTION):
            chunk = pending[start : start + MARKERS_PER_TRANSACTION]
            if not _correct(user_id, channel, chunk):
                failed += [e.sequence_number for e in chunk]
    return failed


def _correct(user_id: str, channel: str, chunk: list[Expiry]) -> bool:
    """One transaction: a marker per message not corrected before, and the counter's decrement."""
    for attempt in range(storage.CONFLICT_RETRIES):
        if not chunk:
            return True
        try:
            with storage.transaction() as transaction:
                for expiry in chunk:
                    marker = EffectMarker(expiry.marker_key, expires_at=MARKER_LIFETIME)
                    transaction.save(marker, condition=EffectMarker.key.does_not_exist())
                unread = sum(1 for e in chunk if e.was_unread)
                transaction.update(
                    ChannelCounter(user_id, channel),
                    actions=[ChannelCounter.total.add(-len(chunk)), ChannelCounter.unread.add(-unread)],
                    condition=ChannelCounter.user_id.exists(),
                )
            return True
        except TransactWriteError as error:
            reasons = storage.cancellation_codes(error)
            if len(reasons) > len(chunk) and reasons[len(chunk)] == storage.CONDITION_FAILED:
                return True  # no counter to correct
            remaining = storage.not_refused(chunk, error)
            if len(remaining) == len(chunk):
                storage.pause_before_retry(attempt)
            chunk = remaining
        except PynamoDBException as error:
            logger.warning("counter correction failed", extra={"code": getattr(error, "cause_response_code", None)})
            return False
    return False
