"""Sending: a checked `SendRequest` becomes every receiver's inbox item, all or nothing.

`sender` runs a send (receivers now, an audience through the work queue),
`group_write` writes its items in batches (conditional on a retry),
`idempotency` keeps the first answer to an Idempotency-Key, `send_log`
records every send, `preview` fills a send without storing it.
"""

from chalicelib.sending.commands import Action, SendCommand, SendRequest
from chalicelib.sending.preview import preview_send
from chalicelib.sending.send_log import DONE, FAILED, LAMBDA_SENDER, QUEUED, SENDING, SendLogQuery, get_send, list_sends
from chalicelib.sending.sender import Sender

__all__ = [
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
    "get_send",
    "list_sends",
    "preview_send",
]
