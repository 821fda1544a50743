"""The local stack's terminal lines: one line per event, whatever the request put in its fields."""

from __future__ import annotations

import logging

from chalicelib.core import logs
from infra.local.console_logs import TextFormatter


def _record(message: str, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("inapp.local.gateway", logging.INFO, __file__, 1, message, None, None)
    record.__dict__.update(extra)
    return record


def test_control_characters_are_escaped_so_a_value_cannot_start_a_line_of_its_own() -> None:
    """A verified token's ``sub`` is still the identity provider's text: 1 to 128 characters, any of them."""
    logs.bind(user_id="x\nFAKE LOG LINE\r\x1b[31m\u2028")
    try:
        line = TextFormatter().format(_record("websocket connected\nFAKE", reason="a\tb\x00"))
    finally:
        logs.clear()
    assert line.endswith(
        r"INFO  inapp.local.gateway: websocket connected\nFAKE user=x\nFAKE LOG LINE\r\x1b[31m\u2028 reason=a\tb\x00"
    )
    assert line.isprintable()


def test_printable_text_is_left_as_it_is() -> None:
    logs.bind(user_id="zoë")
    try:
        line = TextFormatter().format(_record("websocket connected", connection_id="ab=\\n"))
    finally:
        logs.clear()
    assert line.endswith("INFO  inapp.local.gateway: websocket connected user=zoë connection_id=ab=\\n")
