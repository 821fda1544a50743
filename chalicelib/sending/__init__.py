"""Sending: a checked `SendRequest` becomes every receiver's inbox item, all or nothing.

`sender` runs a send (receivers now, an audience through the work queue),
`group_write` writes its items in batches (conditional on a retry),
`idempotency` keeps the first answer to an Idempotency-Key, `send_log`
records every send, `preview` fills a send without storing it.
"""

from chalicelib.sending.commands import Action, SendCommand, SendRequest
from chalicelib.sending.preview import preview_send
from chalicelib.sending.progress import advance, cancel, claim_blind_write, mark_failed, mark_sending, request_of
from chalicelib.sending.send_log import (
    CANCELLED,
    DONE,
    FAILED,
    LAMBDA_SENDER,
    QUEUED,
    SENDING,
    SendLogQuery,
    get_send,
    list_sends,
)
from chalicelib.sending.sender import Sender

__all__ = [
    "CANCELLED",
    "DONE",
    "FAILED",
    "LAMBDA_SENDER",
    "QUEUED",
    "SENDING",
    "Action",
    "SendCommand",
    "SendLogQuery",
    "SendRequest",
    "Sender",
    "advance",
    "cancel",
    "claim_blind_write",
    "get_send",
    "list_sends",
    "mark_failed",
    "mark_sending",
    "preview_send",
    "request_of",
]
