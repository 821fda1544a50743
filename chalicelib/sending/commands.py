"""What a send is, once the edge has checked it: `SendRequest` (placeholders filled) and `SendCommand`.

The HTTP edge and the ``send`` Lambda's edge build these (`chalicelib.api.send_body`);
the sender, the audience worker and the preview take them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.core.clock import utc_now
from chalicelib.core.errors import ValidationError


@dataclass(frozen=True)
class Action:
    """A button on the message: the first is the primary one."""

    label: str
    url: str


@dataclass(frozen=True)
class SendRequest:
    """A validated send, placeholders already filled: ``receivers``, or ``audience`` (then no receivers)."""

    channel: str
    receivers: list[str]
    title: str
    content: str
    url: str | None
    duration: int
    audience: str | None = None
    mobile_url: str | None = None
    severity: str = "normal"
    actions: tuple[Action, ...] = ()
    tags: tuple[str, ...] = ()
    expiry: str | None = None  # the send's own ``expiresAt`` (ISO, UTC), before the retention's

    def stored_fields(self) -> dict[str, Any]:
        """What the inbox items and the send-log item both store of the send, by model attribute name."""
        return {
            "channel": self.channel,
            "title": self.title,
            "content": self.content,
            "url": self.url,
            "mobile_url": self.mobile_url,
            "duration": self.duration,
            "severity": self.severity,
            "actions": self.actions_json(),
            "tags": set(self.tags) or None,
            "expiry": self.expiry,
        }

    def actions_json(self) -> str | None:
        """The actions as stored on the inbox and send-log items (None when there are none)."""
        if not self.actions:
            return None
        return json.dumps([{"label": a.label, "url": a.url} for a in self.actions], separators=(",", ":"))


def check_expiry(request: SendRequest, retention: timedelta, prefix: str = "") -> None:
    """A send's own ``expiresAt`` comes no later than the retention would delete it (the edge checked the rest)."""
    if request.expiry is not None and datetime.fromisoformat(request.expiry) > utc_now() + retention:
        raise ValidationError(prefix + "expiresAt", f"must be at most {retention.days} days ahead (the retention)")


@dataclass(frozen=True)
class SendCommand:
    """A send as either edge hands it over: the request, its Idempotency-Key, and the body's hash.

    ``prefix`` is where it sat in a ``send`` batch (``messages[3].``), for error messages.
    """

    request: SendRequest
    key: str | None
    body_hash: str
    prefix: str = ""
