"""The chaos run's snoozes and expiries: messages snoozed, woken by the scheduler, and expired, under the faults.

Users of their own (``snoozyNN``, no client listens as them, so the rest of
the run's expectations are untouched) get messages with tags; some carry
an ``expiresAt`` about a minute ahead, some are snoozed for about a minute
(each PATCH retried while it answers 429). The local stack's scheduler
stand-in wakes them through the ``wake`` function while the stack injects
its faults (a failed wake-up is tried again, one run twice changes
nothing). At the end every user must list exactly the messages that did
not expire (the woken ones back among them, unread), hold none snoozed,
and show counts (total and per tag) equal to them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from chalicelib.core.auth import issue_token
from chalicelib.core.clock import iso
from infra.checks.chaos_traffic import CHANNEL, SECRET, Tally, call
from infra.checks.target import Target

SNOOZE_SECONDS = 65  # the API takes a minute ahead at least
EXPIRY_SECONDS = 70
TAGS = ("alpha", "beta")


@dataclass
class Snoozes:
    users: list[str]
    sent: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)  # message id → its tag
    expiring: set[str] = field(default_factory=set)
    snoozed: dict[str, set[str]] = field(default_factory=dict)  # user → ids snoozed
    due: float = 0.0  # epoch seconds when every snooze and expiry has come


@dataclass(frozen=True)
class SnoozeResult:
    snoozed: int
    expired: int
    mismatches: list[str]

    @property
    def exact(self) -> bool:
        return self.snoozed > 0 and self.expired > 0 and not self.mismatches

    def line(self) -> str:
        return f"{self.snoozed} snoozed and woken, {self.expired} expired, {len(self.mismatches)} users off"


def start(target: Target, tally: Tally, users: int, per_user: int = 6) -> Snoozes:
    """Send the messages (some expiring), then snooze some: everything comes due about a minute later."""
    admin = issue_token("admin", SECRET, admin=True)
    snoozes = Snoozes([f"snoozy{n:02d}" for n in range(users)])
    for number in range(per_user):
        body = {"channel": CHANNEL, "receivers": snoozes.users, "title": f"snoozy {number}", "tags": [TAGS[number % 2]]}
        if number % 3 == 0:
            body["expiresAt"] = iso(datetime.now(UTC) + timedelta(seconds=EXPIRY_SECONDS))
        status, answer = call(target, tally, "POST", "/messages", admin, body, key=f"chaos-snoozy-{number}")
        if status != 202:
            continue
        snoozes.sent.append(answer["id"])
        snoozes.tags[answer["id"]] = TAGS[number % 2]
        if "expiresAt" in body:
            snoozes.expiring.add(answer["id"])
    until = iso(datetime.now(UTC) + timedelta(seconds=SNOOZE_SECONDS))
    for user in snoozes.users:
        token = issue_token(user, SECRET)
        snoozes.snoozed[user] = set()
        for index, message_id in enumerate(snoozes.sent):
            if index % 3 == 1:
                status, _ = call(target, tally, "PATCH", f"/me/messages/{message_id}", token, {"snoozedUntil": until})
                if status == 200:
                    snoozes.snoozed[user].add(message_id)
    snoozes.due = time.time() + max(SNOOZE_SECONDS, EXPIRY_SECONDS) + 3
    return snoozes


def _off(target: Target, tally: Tally, snoozes: Snoozes, user: str) -> str | None:
    """None when the user lists and counts exactly the messages that did not expire, none snoozed; else what is off."""
    token = issue_token(user, SECRET)
    kept = [i for i in snoozes.sent if i not in snoozes.expiring]
    _, page = call(target, tally, "GET", "/me/messages?limit=100", token)
    _, asleep = call(target, tally, "GET", "/me/messages?snoozed=true", token)
    _, counts = call(target, tally, "GET", "/me/unread-count", token)
    listed = sorted(m["id"] for m in (page or {}).get("items", []))
    unread = sum(m["status"] == "unread" for m in (page or {}).get("items", []))
    tags = {tag: sum(snoozes.tags[i] == tag for i in kept) for tag in TAGS}
    shown = (listed, len((asleep or {}).get("items", [1])), (counts or {}).get("total"), (counts or {}).get("tags"))
    wanted = (sorted(kept), 0, len(kept), {t: n for t, n in tags.items() if n})
    if shown == wanted and unread == len(kept):
        return None
    return f"{user}: listed/snoozed/total/tags {shown}, expected {wanted}"


def finish(target: Target, tally: Tally, snoozes: Snoozes, deadline: float) -> SnoozeResult:
    """Once everything is due: every user's lists and counts, until they are right or the deadline."""
    time.sleep(max(0.0, snoozes.due - time.time()))
    off = {user: "" for user in snoozes.users}
    while off and time.monotonic() < deadline:
        off = {user: gap for user in off if (gap := _off(target, tally, snoozes, user)) is not None}
        if off:
            time.sleep(1.0)
    snoozed = sum(len(ids) for ids in snoozes.snoozed.values())
    return SnoozeResult(snoozed, len(snoozes.expiring) * len(snoozes.users), sorted(off.values()))
