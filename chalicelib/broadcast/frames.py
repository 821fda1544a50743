"""A new broadcast's frame to the online users who hold it: a page of connections per work-queue step.

A broadcast has no item per subscriber, so no stream record per subscriber
either: the work queue carries ``frames`` steps instead
(`chalicelib.audience.worker`). Each step reads one Scan page of the
connections table (`ConnectionRegistry.online`), keeps the users who hold
the broadcast (their subscription and ended subscriptions on its channel:
BatchGetItems of 100) and posts one ``message.created`` to each of their live
connections through the shared poster, paced at the account's quota like
every other post; a connection whose token expired is closed instead. Then
it queues the next page. So the cost follows the connections, never the
subscribers: a million offline subscribers cost nothing here.

The frame carries ``"broadcast": true``, ``silent`` from the holder's mutes
(their counts items: a consistent BatchGetItem per 100 holders) and no counts
(computing each holder's counts would read the channel's index per holder):
the client adds the message to its counts itself. A post that still fails after the poster's
retries fails the step, and SQS runs it again: a step run twice posts its
frames twice; clients keep messages by id, so a repeated frame changes
nothing they show. A step that runs more than `realtime.LATE_DELIVERY_MS`
after the broadcast's id first gives its index entry a fresh ``stored`` (at
most once a minute), as delivery marks a late message: a holder who saw a
newer message and dropped before this frame finds it by the catch-up.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from datetime import UTC, datetime

from chalicelib import counts, realtime, storage
from chalicelib.broadcast.held import spans_by_user
from chalicelib.broadcast.store import IndexEntry, entries_of, index_key, mark_stored
from chalicelib.broadcast.views import messages
from chalicelib.core.ids import id_time_ms
from chalicelib.storage import SendLog, UserCounts, message_json

logger = logging.getLogger(__name__)


class FramesNotPostedError(RuntimeError):
    """Some posts of a step failed after their retries: the step fails, and the queue runs it again."""


PAGE_ITEMS = 1000  # connections-table items one step reads (two per user online, about)


class BroadcastFrames:
    """Runs one ``frames`` step: ``run(send_id, after)`` posts to a page of holders online; the next page's start."""

    def __init__(
        self,
        registry: realtime.ConnectionRegistry,
        post: Callable[[str, bytes], realtime.Outcome],
        executor: Executor,
        closer: realtime.Closer | None = None,
        page_items: int | None = None,
    ) -> None:
        self._registry = registry
        self._post = post
        self._executor = executor
        self._closer = closer
        self._page_items = page_items  # None: PAGE_ITEMS

    def run(self, send_id: str, after: str | None) -> str | None:
        entry = _entry(send_id)
        if entry is None:  # expired since, or not found yet: logged, and the step ends (a retry would not find it)
            logger.error("broadcast not in its channel's index", extra={"send_id": send_id})
            return None
        if _late(entry):  # before its frames: a client that saw newer messages and drops finds it by a catch-up
            mark_stored(entry)
        online, next_page = self._registry.online(after, self._page_items or PAGE_ITEMS)
        spans = spans_by_user(entry.channel, list(online)) if online else {}
        holders = [user for user in online if any(span.holds(entry) for span in spans[user])]
        if holders:
            self._post_all(entry, holders, online)
        return next_page

    def _post_all(self, entry: IndexEntry, holders: list[str], online: dict[str, list[realtime.LiveConnection]]) -> None:
        view = messages(holders[0], [entry.id])
        if not view:
            return
        muted = {user for user, found in counts.read_many(holders).items() if view[0].channel in found.muted}
        silent = not entry.critical  # for those who muted its channel
        payloads = {
            quiet: json.dumps(
                {"type": "message.created", "message": message_json(view[0]), "silent": quiet, "broadcast": True},
                separators=(",", ":"),
            ).encode()
            for quiet in (False, silent)
        }
        connections = [(live, payloads[user in muted and silent]) for user in holders for live in online[user]]
        now = datetime.now(UTC).timestamp()
        expired = [live for live, _ in connections if live.expired(now)]
        posts = [self._executor.submit(self._post, live.connection_id, data) for live, data in connections if live not in expired]
        for live in expired:
            if self._closer is not None:
                self._closer.close(live, realtime.TOKEN_EXPIRED)
        outcomes = [post.result() for post in posts]
        sent = sum(outcome is realtime.Outcome.SENT for outcome in outcomes)
        logger.info("broadcast frames posted", extra={"send_id": entry.id, "posts": len(outcomes), "sent": sent})
        if realtime.Outcome.FAILED in outcomes:  # SQS runs the step again: its holders get the frame (maybe twice)
            raise FramesNotPostedError(f"broadcast {entry.id}: {outcomes.count(realtime.Outcome.FAILED)} posts failed")


REMARK_MS = 60_000  # a catch-up looks 125 s behind its ``after`` for late ones: marked afresh each minute of frames


def _late(entry: IndexEntry) -> bool:
    """Its frames go out more than `realtime.LATE_DELIVERY_MS` after its id (a step retried, or a long walk of the
    connections), and it was not marked in the last `REMARK_MS`."""
    now_ms = datetime.now(UTC).timestamp() * 1000
    if now_ms - id_time_ms(entry.id) <= realtime.LATE_DELIVERY_MS:
        return False
    return entry.stored is None or now_ms - id_time_ms(entry.stored) > REMARK_MS


def _entry(send_id: str) -> IndexEntry | None:
    """The broadcast's index entry: consistent reads, as the step may run the moment after the store."""
    try:
        channel = SendLog.get(send_id, consistent_read=True).channel
    except SendLog.DoesNotExist:
        return None
    found = entries_of(channel, storage.read_item(UserCounts, index_key(channel), consistent=True))
    return next((entry for entry in found if entry.id == send_id), None)
