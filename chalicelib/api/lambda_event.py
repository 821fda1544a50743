"""The ``send`` Lambda's edge: what another AWS service invoked it with, as typed sends.

Accepted events: one send body (plus ``idempotencyKey``), ``{"messages":
[…]}`` with up to 100 of them, or either inside an EventBridge envelope's
``detail``. Everything is parsed before anything is stored, so invalid
input writes nothing; errors name the field (``messages[3].channel``).

A send without an ``idempotencyKey`` gets one: the EventBridge event's
``id`` (a retried or duplicated event stores one message), or else the
invocation's request id, which Lambda keeps when it retries an asynchronous
invocation. A batch's sends get the same with ``#<index>``. The sender the
send log names is ``events:<source>`` for an EventBridge event, ``lambda``
otherwise: never a bare string that could equal a user id.

With tenants on (``INAPP_TENANT_CLAIM`` set) the event's top level carries
``tenant`` (next to ``messages`` in a batch): every send of the event is that
tenant's, and so are its Idempotency-Keys. With tenants off ``tenant`` is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.api import tenancy
from chalicelib.api.send_body import send_command
from chalicelib.core import tenants
from chalicelib.core.errors import ValidationError
from chalicelib.core.json_text import check_encodable
from chalicelib.sending import LAMBDA_SENDER, SendCommand

if TYPE_CHECKING:
    from chalicelib.sending import Sender

LAMBDA_SCOPE = "lambda:send"
MAX_SOURCE = 256  # EventBridge's limit on `source`
MAX_BATCH = 100
EVENTS_SENDER = "events:"
MAX_DERIVED_BASE = 200  # room for `event:` and `#99` within a key's 255 characters


@dataclass(frozen=True)
class SendEvent:
    sends: list[SendCommand]
    is_batch: bool
    sender: str = LAMBDA_SENDER
    tenant: str | None = None


def _printable(value: Any, limit: int) -> str | None:
    return value if isinstance(value, str) and value.isascii() and value.isprintable() and 1 <= len(value) <= limit else None


def _unwrap(event: Any, request_id: str | None) -> tuple[Any, str, str | None]:
    """The sends inside ``event``, who the send log names as their sender, and the base of derived keys."""
    invocation = _printable(request_id, MAX_DERIVED_BASE)
    derived = None if invocation is None else f"invocation:{invocation}"
    if isinstance(event, dict) and "detail" in event and "detail-type" in event:  # an EventBridge envelope
        source = _printable(event.get("source"), MAX_SOURCE)
        sender = LAMBDA_SENDER if source is None else EVENTS_SENDER + source
        event_id = _printable(event.get("id"), MAX_DERIVED_BASE)
        return event["detail"], sender, derived if event_id is None else f"event:{event_id}"
    return event, LAMBDA_SENDER, derived


def _one(body: Any, prefix: str, derived_key: str | None) -> SendCommand:
    if not isinstance(body, dict):
        raise ValidationError(prefix.rstrip(".") or "event", "must be a JSON object")
    fields = dict(body)
    key = fields.pop("idempotencyKey", None)
    return send_command(fields, derived_key if key is None else key, prefix=prefix, key_field=prefix + "idempotencyKey")


def parse_event(event: Any, request_id: str | None = None, *, tenants_on: bool = False) -> SendEvent:
    """Every send of ``event``, validated and scoped to its tenant; raises ValidationError naming the first bad field."""
    event, sender, derived = _unwrap(event, request_id)
    check_encodable(event, "event")
    tenant = None
    if isinstance(event, dict):
        event = dict(event)  # the caller's event stays as it was
        tenant = tenancy.event_tenant(event, tenants_on)
    parsed = _parse(event, sender, derived)
    return SendEvent([tenancy.send_command(tenant, s) for s in parsed.sends], parsed.is_batch, parsed.sender, tenant)


def _parse(event: Any, sender: str, derived: str | None) -> SendEvent:
    if not (isinstance(event, dict) and "messages" in event):
        return SendEvent([_one(event, "", derived)], is_batch=False, sender=sender)
    if set(event) != {"messages"}:
        raise ValidationError(sorted(set(event) - {"messages"})[0], "is not a known field")
    batch = event["messages"]
    if not isinstance(batch, list) or not 1 <= len(batch) <= MAX_BATCH:
        raise ValidationError("messages", f"must be a list of 1 to {MAX_BATCH} messages")
    sends = [_one(item, f"messages[{index}].", derived and f"{derived}#{index}") for index, item in enumerate(batch)]
    seen: set[str] = set()
    for send in sends:
        if send.key is None:
            continue
        if send.key in seen:
            raise ValidationError(send.prefix + "idempotencyKey", "is used twice in this batch")
        seen.add(send.key)
    return SendEvent(sends, is_batch=True, sender=sender)


def handle_send_event(
    sender: Sender, event: Any, request_id: str | None = None, *, tenants_on: bool = False
) -> dict[str, Any] | list[dict[str, Any]]:
    """The ``send`` Lambda: one answer, or a list of answers for a batch."""
    parsed = parse_event(event, request_id, tenants_on=tenants_on)
    scope = tenants.scoped(parsed.tenant, LAMBDA_SCOPE)  # each tenant's keys are its own
    if parsed.is_batch:
        return sender.send_all(parsed.sends, scope=scope, sender=parsed.sender)
    return sender.send(parsed.sends[0], scope=scope, sender=parsed.sender)
