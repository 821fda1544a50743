"""Each user's counts as stored, and what one inbox item adds to them: the read side of the counts.

The badge, ``GET /me/unread-count`` and ``GET /me/channels`` read a
user's counts item through `read`; `chalicelib.counts.stream` keeps it,
and the repair recounts it from the items with `add_contribution`, the
same rule the stream applies.

Attributes, per channel ``c``: ``u:c`` unread, ``t:c`` total, ``s:c``
unseen, ``cu:c``/``cs:c`` the critical part of those two (mutes never
hide critical messages), ``x:c`` those with an expiry of their own (the
reads look for expired ones only while there are any), ``l:c`` the latest
message id; per tag ``t``, ``tg:t`` its unread messages; per user:
``muted`` (a copy of the preferences item) and ``v`` (a version that
`chalicelib.inbox.repair` checks); per stream shard ``h`` that brought the
user records lately, ``g:h`` the last sequence number applied from it and
``gt:h`` when (the exactly-once guard of `chalicelib.counts.stream`). The
broadcasts a user holds are added on read (`chalicelib.broadcast`), never here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from chalicelib import storage
from chalicelib.storage import CRITICAL, LIVE_END, UNREAD, Image, UserCounts, image_string

KINDS = ("u", "t", "s", "cu", "cs", "x")  # unread, total, unseen, critical unread, critical unseen, own expiry
TAG = "tg"  # per tag: unread (``g`` is the guards')
GUARD, GUARD_TIME = "g", "gt"  # per shard: the last sequence number applied, and when (epoch seconds)


def is_live(message_id: str) -> bool:
    return message_id < LIVE_END


def contribution(image: Image | None) -> tuple[str, dict[str, int]] | None:
    """A stored item's share of its user's counts: its channel and 0/1 per kind; None if it counts nothing."""
    if not image or not is_live(image_string(image, "id") or LIVE_END):
        return None
    unread = image_string(image, "status") == UNREAD
    unseen = "seenAt" not in image or "NULL" in image["seenAt"]
    critical = image_string(image, "severity") == CRITICAL
    expiry = "expiry" in image and "NULL" not in image["expiry"]
    share = {
        "u": int(unread),
        "t": 1,
        "s": int(unseen),
        "cu": int(critical and unread),
        "cs": int(critical and unseen),
        "x": int(expiry),
    }
    return str(image_string(image, "channel")), share


def add_contribution(totals: dict[tuple[str, str], int], image: Image | None, sign: int = 1) -> None:
    """Add (or with ``sign`` -1 take away) an item's contribution to per (kind, channel) and per tag totals."""
    share = contribution(image)
    if share is None:
        return
    channel, kinds = share
    for kind, value in kinds.items():
        if value:
            totals[(kind, channel)] = totals.get((kind, channel), 0) + sign * value
    if kinds["u"] and image is not None:
        for tag in image.get("tags", {}).get("SS", []):
            totals[(TAG, tag)] = totals.get((TAG, tag), 0) + sign


@dataclass(frozen=True)
class Counts:
    """A user's counts as stored: what the badge, ``/me/unread-count`` and ``/me/channels`` show."""

    user_id: str
    values: dict[tuple[str, str], int]
    latest: dict[str, str]
    muted: frozenset[str]
    version: int = 0
    guards: dict[str, tuple[str, int]] = field(default_factory=dict)  # shard → (last sequence applied, when)

    @classmethod
    def from_item(cls, user_id: str, item: dict[str, Any] | None) -> Counts:
        item = item or {}
        values: dict[tuple[str, str], int] = {}
        latest: dict[str, str] = {}
        guards: dict[str, tuple[str, int]] = {}
        for name, value in item.items():
            kind, colon, channel = name.partition(":")
            if not colon:
                continue
            if kind == "l":
                latest[channel] = value["S"]
            elif kind in KINDS or kind == TAG:
                values[(kind, channel)] = int(value["N"])
            elif kind == GUARD:
                guards[channel] = (value["S"], int(item.get(f"{GUARD_TIME}:{channel}", {}).get("N", "0")))
        return cls(
            user_id=user_id,
            values=values,
            latest=latest,
            muted=frozenset(item.get("muted", {}).get("SS", [])),
            version=int(item.get("v", {}).get("N", "0")),
            guards=guards,
        )

    def without(self, images: Iterable[Image]) -> Counts:
        """These counts less the contributions of items counted but no longer shown (expired, not yet deleted)."""
        values = dict(self.values)
        for image in images:
            add_contribution(values, image, -1)
        return replace(self, values=values)

    def applied(self, shard: str) -> str:
        """The last sequence number applied from ``shard`` ("" if none)."""
        return self.guards.get(shard, ("", 0))[0]

    def of(self, kind: str, channel: str) -> int:
        """What is shown: never below 0 (a user's change counted before the stream counted its message)."""
        return max(0, self.values.get((kind, channel), 0))

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

    def unread_by_tag(self) -> dict[str, int]:
        return {tag: self.of(TAG, tag) for kind, tag in sorted(self.values) if kind == TAG and self.of(TAG, tag) > 0}

    @property
    def with_own_expiry(self) -> bool:
        """Whether any counted message has an expiry of its own (then the reads look for expired ones)."""
        return any(n > 0 for (kind, _), n in self.values.items() if kind == "x")

    def numbers(self) -> dict[tuple[str, str], int]:
        """The non-zero counts, to compare with a recount."""
        return {key: n for key, n in self.values.items() if n}

    def summary(self) -> dict[str, Any]:
        """``GET /me/unread-count`` and the ``counts.updated`` frame."""
        tags = self.unread_by_tag()  # only when some are unread: older clients see no change
        return {**self.badge(), "channels": self.unread_by_channel(), **({"tags": tags} if tags else {})}


def read(user_id: str, *, consistent: bool = False) -> Counts:
    return Counts.from_item(user_id, storage.read_item(UserCounts, user_id, consistent=consistent))


def read_along(user_id: str, others: list[str]) -> tuple[Counts, dict[str, dict[str, Any]]]:
    """The user's counts and the raw items ``others`` of the same table, in one BatchGetItem (eventually
    consistent, as `read`)."""
    keys = [user_id, *others]
    found = {item["userId"]["S"]: item for item in storage.read_items(UserCounts, "userId", keys, consistent=False)}
    return Counts.from_item(user_id, found.pop(user_id, None)), found


def read_many(user_ids: list[str]) -> dict[str, Counts]:
    """Consistent reads of many users' counts: ⌈U/100⌉ calls."""
    found = {item["userId"]["S"]: item for item in storage.read_items(UserCounts, "userId", user_ids)}
    return {user: Counts.from_item(user, found.get(user)) for user in user_ids}
