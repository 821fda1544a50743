"""One message of a user's, by id: to show it, or to change it (a broadcast they hold gets their copy first).

Another user's message id answers 404 exactly like a missing one.
"""

from __future__ import annotations

from chalicelib import broadcast, storage
from chalicelib.core.clock import utc_now
from chalicelib.core.errors import NotFoundError
from chalicelib.core.ids import is_valid_id
from chalicelib.inbox.expiry import expired
from chalicelib.storage import ARCHIVED, SNOOZED, InboxMessage


def find_message(user_id: str, message_id: str) -> InboxMessage:
    """The user's message, live or archived (both keys in one BatchGetItem), or a broadcast they hold."""
    message = _own(user_id, message_id)
    if message is None and _holds(user_id, message_id):  # a broadcast they have not changed
        message = next(iter(broadcast.messages(user_id, [message_id])), None)
    if message is None:
        raise NotFoundError(f"message_id: message '{message_id}' not found")
    return message


def find_to_change(user_id: str, message_id: str) -> InboxMessage:
    """The user's own item of the message: a broadcast they have not changed gets its copy first (`broadcast.copies`)."""
    message = _own(user_id, message_id)
    if message is None and _holds(user_id, message_id):
        broadcast.write_copy(user_id, message_id)
        message = _own(user_id, message_id)
    if message is None:
        raise NotFoundError(f"message_id: message '{message_id}' not found")
    return message


def _own(user_id: str, message_id: str) -> InboxMessage | None:
    if not is_valid_id(message_id):
        return None
    now = utc_now()
    keys = [(user_id, prefix + message_id) for prefix in ("", ARCHIVED, SNOOZED)]
    return next((found for found in storage.read_batch(InboxMessage, keys, consistent=True) if not expired(found, now)), None)


def _holds(user_id: str, message_id: str) -> bool:
    return is_valid_id(message_id) and any(entry.id == message_id for entry in broadcast.held_by(user_id))
