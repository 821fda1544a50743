"""The chaos run's cancelled send: an audience send whose channel is deleted while its chunks are being stored.

A channel of its own (``doomed``) with subscribers no client listens as, so
the rest of the run's expectations are untouched. The admin sends to its
audience and deletes the channel at once; under the run's faults the send
must end ``cancelled`` with ``recipients`` still the subscribers it started
with and ``stored`` exactly the number of subscribers holding the message
(or, if every chunk beat the delete, ``done`` with all of them; if the
delete beat the first step, ``cancelled`` before it counted anyone: 0 and 0).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from chalicelib.core.auth import issue_token
from infra.checks.chaos_traffic import SECRET, Tally, call, log_entry
from infra.checks.target import Target

DOOMED = "doomed"
LAST_STATES = ("cancelled", "done", "failed")


@dataclass(frozen=True)
class Cancelled:
    send_id: str
    status: str
    recipients: int
    stored: int
    holding: int  # subscribers whose inbox holds the message
    subscribers: int

    @property
    def exact(self) -> bool:
        """``cancelled`` (or ``done``) with its recipients kept and ``stored`` who holds it.

        A send cancelled before its first step counted the snapshot started with none: recipients 0, stored 0.
        """
        kept = self.recipients == self.subscribers
        if self.status == "done":
            return kept and self.stored == self.holding == self.subscribers
        unstarted = self.recipients == self.stored == self.holding == 0
        return self.status == "cancelled" and (unstarted or (kept and self.stored == self.holding <= self.subscribers))

    def line(self) -> str:
        return (
            f"{self.status}, recipients {self.recipients} of {self.subscribers} subscribers,"
            f" stored {self.stored}, held by {self.holding}"
        )


def start(target: Target, tally: Tally, subscribers: int) -> tuple[str, list[str]]:
    """The doomed channel, its subscribers, its audience send, and the channel's deletion right after."""
    admin = issue_token("admin", SECRET, admin=True)
    users = [f"doomed{n:04d}" for n in range(subscribers)]
    call(target, tally, "POST", "/channels", admin, {"name": DOOMED, "title": "Doomed"})
    for start_at in range(0, len(users), 1000):
        call(target, tally, "POST", f"/channels/{DOOMED}/subscribers", admin, {"add": users[start_at : start_at + 1000]})
    body = {"channel": DOOMED, "audience": "subscribers", "title": "about to be cancelled"}
    status, answer = call(target, tally, "POST", "/messages", admin, body, key="chaos-doomed")
    send_id = answer["id"] if status == 202 else ""
    call(target, tally, "DELETE", f"/channels/{DOOMED}", admin)
    return send_id, users


def finish(target: Target, tally: Tally, send_id: str, users: list[str], deadline: float) -> Cancelled:
    """The send's last state once it has one (or the deadline), and who holds its message."""
    entry = log_entry(target, tally, send_id)
    while entry.status not in LAST_STATES and time.monotonic() < deadline:
        time.sleep(0.5)
        entry = log_entry(target, tally, send_id)
    holding = 0
    for user in users:
        status, page = call(target, tally, "GET", f"/me/messages?channel={DOOMED}&limit=10", issue_token(user, SECRET))
        holding += status == 200 and any(message["id"] == send_id for message in page["items"])
    return Cancelled(send_id, entry.status, entry.recipients, entry.stored, holding, len(users))
