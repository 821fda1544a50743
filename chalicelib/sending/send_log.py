"""The send log (admin): one item per send, what it was, who sent it, how far it got.

A receivers send is logged once its groups are stored (``done`` at once,
``recipients`` = ``stored`` = distinct receivers). An audience send is
logged ``queued`` before its first chunk is queued; the worker (`chalicelib.audience.worker`)
sets ``recipients`` when it starts (``sending``), adds each chunk's size to
``stored`` once the chunk is written, and marks it ``done`` after
the last chunk, when ``recipients`` becomes ``stored`` (the two differ only
if subscribers were removed while it ran: see docs/design.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import PutError

from chalicelib import storage
from chalicelib.core import tenants
from chalicelib.core.clock import iso_from_ms
from chalicelib.core.cursors import CursorCodec, Page
from chalicelib.core.errors import NotFoundError
from chalicelib.core.ids import first_id_at, id_time_ms, is_valid_id
from chalicelib.storage import SendLog, log_key, page_json, send_log_json

if TYPE_CHECKING:
    from chalicelib.sending.commands import SendRequest
    from chalicelib.storage import Channel

QUEUED, SENDING, DONE, FAILED = "queued", "sending", "done", "failed"
CANCELLED = "cancelled"  # its channel was deleted while it ran: it stops, keeping recipients; stored says who got it
LAMBDA_SENDER = "lambda"
CURSOR_SCOPE = "sends"


@dataclass(frozen=True)
class SendLogQuery:
    """``GET /messages``: the send log, of one channel or all."""

    channel: str | None
    page: Page
    tenant: str | None = None  # with tenants on, the caller's: only its sends are listed


def _item(request: SendRequest, channel: Channel, send_id: str, sender: str) -> SendLog:
    return SendLog(
        send_id,
        log=log_key(send_id, tenants.channel_tenant(request.channel)),
        **request.stored_fields(),
        channel_title=channel.title,
        channel_since=first_id_at(channel.created_at),
        sender=sender,
        audience=request.audience,
        created_at=iso_from_ms(id_time_ms(send_id)),
    )


def done_item(request: SendRequest, channel: Channel, send_id: str, sender: str) -> SendLog:
    """A receivers send's log item, written after all of its inbox items."""
    item = _item(request, channel, send_id, sender)
    count = len(request.receivers)
    item.receivers = item.recipients = item.stored = count
    item.status = DONE
    item.completed_at = iso_from_ms(id_time_ms(send_id))  # not "now": a retried transaction repeats its parameters
    return item


def broadcast_item(request: SendRequest, channel: Channel, send_id: str, sender: str) -> SendLog:
    """An audience send stored as a broadcast (`chalicelib.broadcast.store` sets ``recipients`` and ``stored``)."""
    item = _item(request, channel, send_id, sender)
    item.status = DONE
    item.completed_at = iso_from_ms(id_time_ms(send_id))  # as a receivers send's: the same on every retry
    return item


def record_queued(request: SendRequest, channel: Channel, send_id: str, sender: str) -> None:
    """An audience send, before its first chunk is queued; a retry (same key, same id) keeps the first item."""
    item = _item(request, channel, send_id, sender)
    item.status = QUEUED
    try:
        item.save(condition=SendLog.id.does_not_exist())
    except PutError as error:
        if not storage.condition_failed(error):
            raise


def get_send(send_id: str, tenant: str | None = None) -> dict[str, Any]:
    """One send; another tenant's answers 404, exactly like a missing one."""
    missing = NotFoundError(f"send_id: send '{send_id}' not found")
    if not is_valid_id(send_id):
        raise missing
    try:
        entry = SendLog.get(send_id, consistent_read=True)
    except SendLog.DoesNotExist:
        raise missing from None
    if tenants.channel_tenant(entry.channel) != tenant:
        raise missing
    return send_log_json(entry)


def list_sends(user_id: str, query: SendLogQuery, cursors: CursorCodec) -> dict[str, Any]:
    """Newest first, all sends or one channel's; the cursor holds the last id (bound to the filter)."""
    scope = json.dumps([CURSOR_SCOPE, query.channel])
    before = str(cursors.decode(query.page.cursor, user_id, scope).get("id", "")) if query.page.cursor else None
    found = storage.newest_sends(before, query.page.limit + 1, query.channel, query.tenant)
    items, more = storage.first_page(found, query.page.limit)
    cursor = storage.next_cursor(items, more, lambda s: cursors.encode(user_id, scope, {"id": s.id}))
    return page_json([send_log_json(s) for s in items], cursor)
