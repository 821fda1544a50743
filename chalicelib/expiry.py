"""Keeping counters true when DynamoDB's TTL deletes old messages.

A TTL deletion reaches the inbox stream as a REMOVE whose ``userIdentity`` is
the DynamoDB service; the stream handler turns those into ``ADD total -n,
unread -m`` on each (user, channel) counter, so a badge never counts a
message the user can no longer see. An update that fails is reported back
as a failed record (Lambda retries it); an update that succeeded is not
repeated, since the batch moves past it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.models import UNREAD, ChannelCounter
from chalicelib.storage_errors import condition_failed

logger = logging.getLogger(__name__)

TTL_PRINCIPAL = "dynamodb.amazonaws.com"


@dataclass(frozen=True)
class Expiry:
    sequence_number: str
    user_id: str
    channel: str
    was_unread: bool


def expiry_from_record(record: dict[str, Any]) -> Expiry | None:
    """The expiry a stream record reports, or None for anything but a TTL deletion."""
    identity = record.get("userIdentity") or {}
    if record.get("eventName") != "REMOVE" or identity.get("type") != "Service" or identity.get("principalId") != TTL_PRINCIPAL:
        return None
    data = record["dynamodb"]
    old = data["OldImage"]
    return Expiry(str(data["SequenceNumber"]), old["userId"]["S"], old["channel"]["S"], old["status"]["S"] == UNREAD)


def apply_expiries(expiries: Iterable[Expiry]) -> list[str]:
    """Decrement the counters, one update per (user, channel); return the sequence numbers that failed."""
    groups: dict[tuple[str, str], list[Expiry]] = defaultdict(list)
    for expiry in expiries:
        groups[(expiry.user_id, expiry.channel)].append(expiry)
    failed: list[str] = []
    for (user_id, channel), group in groups.items():
        unread = sum(1 for e in group if e.was_unread)
        try:
            ChannelCounter(user_id, channel).update(
                actions=[ChannelCounter.total.add(-len(group)), ChannelCounter.unread.add(-unread)],
                condition=ChannelCounter.user_id.exists(),
            )
        except UpdateError as error:
            if condition_failed(error):
                continue  # no counter to correct
            logger.warning("counter correction failed", extra={"code": error.cause_response_code})
            failed += [e.sequence_number for e in group]
    return failed
