"""The local stack's terminal lines: one line per event, whatever the request put in its fields."""

from __future__ import annotations

import logging

from chalicelib.core import logs
from infra.local.console_logs import TextFormatter


def _record(message: str, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("inapp.local.gateway", logging.INFO, __file__, 1, message, None, None)
    record.__dict__.update(extra)
    return record


def _line(user_id: str, message: str, **extra: object) -> str:
    """The terminal line of one record logged while ``user_id`` is bound, as a request binds it."""
    logs.bind(user_id=user_id)
    try:
        return TextFormatter().format(_record(message, **extra))
    finally:
        logs.clear()


def test_control_characters_are_escaped_so_a_value_cannot_start_a_line_of_its_own() -> None:
    """A verified token's ``sub`` is still the identity provider's text: 1 to 128 characters, any of them."""
    line = _line("x\nFAKE LOG LINE\r\x1b[31m\u2028", "websocket connected\nFAKE", reason="a\tb\x00")
    assert line.endswith(
        r"INFO  inapp.local.gateway: websocket connected\nFAKE user=x\nFAKE LOG LINE\r\x1b[31m\u2028 reason=a\tb\x00"
    )
    assert line.isprintable()


def test_printable_text_is_left_as_it_is() -> None:
    line = _line("zoë", "websocket connected", connection_id="ab=\\n")
    assert line.endswith("INFO  inapp.local.gateway: websocket connected user=zoë connection_id=ab=\\n")
