"""Opaque pagination cursors, signed and bound to the user and the query.

A cursor is ``base64url(json).base64url(hmac)``. The HMAC covers the user
id and the query's shape, so a cursor copied to another user, edited, or
reused with other filters is refused (400) and never reaches other data.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from chalicelib.core.errors import ValidationError


@dataclass(frozen=True)
class Page:
    """``?limit&cursor``: the cursor is still opaque; the domain checks it against the caller."""

    limit: int
    cursor: str | None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorCodec:
    """Signs and checks cursors with one secret."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"inapp-cursor\x00" + secret.encode("utf-8")).digest()

    def _mac(self, user_id: str, scope: str, payload: bytes) -> bytes:
        message = json.dumps([user_id, scope]).encode("utf-8") + b"\x00" + payload
        return hmac.new(self._key, message, hashlib.sha256).digest()[:16]

    def encode(self, user_id: str, scope: str, position: dict[str, Any]) -> str:
        payload = json.dumps(position, separators=(",", ":"), sort_keys=True).encode("utf-8")
        return f"{_b64(payload)}.{_b64(self._mac(user_id, scope, payload))}"

    def decode(self, cursor: str, user_id: str, scope: str) -> dict[str, Any]:
        """The position inside ``cursor``, or ValidationError if it is not ours."""
        try:
            payload_text, mac_text = cursor.split(".")
            payload, mac = _unb64(payload_text), _unb64(mac_text)
        except ValueError:
            raise ValidationError("cursor", "is not valid") from None
        if not hmac.compare_digest(mac, self._mac(user_id, scope, payload)):
            raise ValidationError("cursor", "is not valid for this query")
        position = json.loads(payload)
        if not isinstance(position, dict):
            raise ValidationError("cursor", "is not valid")
        return position
