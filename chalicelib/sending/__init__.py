"""Sending: a checked `SendRequest` becomes every receiver's inbox item, all or nothing.

`sender` runs a send (receivers now, an audience through the work queue),
`group_write` writes its items in batches (conditional on a retry),
`idempotency` keeps the first answer to an Idempotency-Key, `send_log`
records every send, `preview` fills a send without storing it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core import lazy

if TYPE_CHECKING:
    from chalicelib.sending.commands import Action as Action
    from chalicelib.sending.commands import SendCommand as SendCommand
    from chalicelib.sending.commands import SendRequest as SendRequest
    from chalicelib.sending.group_write import build_message as build_message
    from chalicelib.sending.group_write import entries_of as entries_of
    from chalicelib.sending.preview import preview_send as preview_send
    from chalicelib.sending.progress import advance as advance
    from chalicelib.sending.progress import cancel as cancel
    from chalicelib.sending.progress import claim_blind_write as claim_blind_write
    from chalicelib.sending.progress import mark_failed as mark_failed
    from chalicelib.sending.progress import mark_sending as mark_sending
    from chalicelib.sending.progress import request_of as request_of
    from chalicelib.sending.send_log import CANCELLED as CANCELLED
    from chalicelib.sending.send_log import DONE as DONE
    from chalicelib.sending.send_log import FAILED as FAILED
    from chalicelib.sending.send_log import LAMBDA_SENDER as LAMBDA_SENDER
    from chalicelib.sending.send_log import QUEUED as QUEUED
    from chalicelib.sending.send_log import SENDING as SENDING
    from chalicelib.sending.send_log import SendLogQuery as SendLogQuery
    from chalicelib.sending.send_log import get_send as get_send
    from chalicelib.sending.send_log import list_sends as list_sends
    from chalicelib.sending.sender import Sender as Sender
    from chalicelib.sending.sender import stale as stale

if not TYPE_CHECKING:
    __getattr__, __dir__, __all__ = lazy.exports(
        __name__,
        {
            "commands": ("Action", "SendCommand", "SendRequest"),
            "group_write": ("build_message", "entries_of"),
            "preview": ("preview_send",),
            "progress": ("advance", "cancel", "claim_blind_write", "mark_failed", "mark_sending", "request_of"),
            "send_log": (
                "CANCELLED",
                "DONE",
                "FAILED",
                "LAMBDA_SENDER",
                "QUEUED",
                "SENDING",
                "SendLogQuery",
                "get_send",
                "list_sends",
            ),
            "sender": ("Sender", "stale"),
        },
    )
