"""The compose form's live preview: a send parsed, checked and filled, but not stored.

`POST /messages/preview` takes the very body `POST /messages` takes and runs
the same parsing (`send_body.send_request`, hence the same placeholder rules
and limits) and the same channel check, so the admin console shows exactly
what a send would store, or the very error it would answer, before anything
is sent. Nothing is written and no Idempotency-Key is claimed.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.channels import get_channel
from chalicelib.sending.commands import check_expiry

if TYPE_CHECKING:
    from chalicelib.sending.commands import SendRequest


def preview_send(request: SendRequest, retention: timedelta) -> dict[str, Any]:
    """The filled fields of ``request``; an unknown channel is the send's own 404, an expiry past the retention its 400."""
    check_expiry(request, retention)
    get_channel(request.channel, "channel")
    return {
        "title": request.title,
        "content": request.content,
        "url": request.url,
        "mobileUrl": request.mobile_url,
        "actions": json.loads(request.actions_json() or "[]"),  # the very text the items store
    }
