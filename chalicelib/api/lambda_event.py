"""The ``send`` Lambda's edge: what another AWS service invoked it with, as typed sends.

Accepted events: one send body (plus ``idempotencyKey``), ``{"messages":
[…]}`` with up to 100 of them, or either inside an EventBridge envelope's
``detail``. Everything is parsed before anything is stored, so invalid
input writes nothing; errors name the field (``messages[3].channel``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.api.send_body import send_command
from chalicelib.core.errors import ValidationError
from chalicelib.core.json_text import check_encodable
from chalicelib.sending import LAMBDA_SENDER, SendCommand

if TYPE_CHECKING:
    from chalicelib.sending import Sender

LAMBDA_SCOPE = "lambda:send"
MAX_SENDER = 256  # EventBridge's limit on `source`
MAX_BATCH = 100


@dataclass(frozen=True)
class SendEvent:
    sends: list[SendCommand]
    is_batch: bool
    sender: str = LAMBDA_SENDER


def _unwrap(event: Any) -> tuple[Any, str]:
    """The sends inside ``event``, and who the send log names as their sender."""
    if isinstance(event, dict) and "detail" in event and "detail-type" in event:  # an EventBridge envelope
        source = event.get("source")
        named = isinstance(source, str) and source.isascii() and source.isprintable() and 1 <= len(source) <= MAX_SENDER
        sender = str(source) if named else LAMBDA_SENDER
        return event["detail"], sender
    return event, LAMBDA_SENDER


def _one(body: Any, prefix: str) -> SendCommand:
    if not isinstance(body, dict):
        raise ValidationError(prefix.rstrip(".") or "event", "must be a JSON object")
    fields = dict(body)
    key = fields.pop("idempotencyKey", None)
    return send_command(fields, key, prefix=prefix, key_field=prefix + "idempotencyKey")


def parse_event(event: Any) -> SendEvent:
    """Every send of ``event``, validated; raises ValidationError naming the first bad field."""
    event, sender = _unwrap(event)
    check_encodable(event, "event")
    if not (isinstance(event, dict) and "messages" in event):
        return SendEvent([_one(event, "")], is_batch=False, sender=sender)
    if set(event) != {"messages"}:
        raise ValidationError(sorted(set(event) - {"messages"})[0], "is not a known field")
    batch = event["messages"]
    if not isinstance(batch, list) or not 1 <= len(batch) <= MAX_BATCH:
        raise ValidationError("messages", f"must be a list of 1 to {MAX_BATCH} messages")
    sends = [_one(item, f"messages[{index}].") for index, item in enumerate(batch)]
    seen: set[str] = set()
    for send in sends:
        if send.key is None:
            continue
        if send.key in seen:
            raise ValidationError(send.prefix + "idempotencyKey", "is used twice in this batch")
        seen.add(send.key)
    return SendEvent(sends, is_batch=True, sender=sender)


def handle_send_event(sender: Sender, event: Any) -> dict[str, Any] | list[dict[str, Any]]:
    """The ``send`` Lambda: one answer, or a list of answers for a batch."""
    parsed = parse_event(event)
    if parsed.is_batch:
        return sender.send_all(parsed.sends, scope=LAMBDA_SCOPE, sender=parsed.sender)
    return sender.send(parsed.sends[0], scope=LAMBDA_SCOPE, sender=parsed.sender)
