"""Storage: the tables and every piece of DynamoDB plumbing.

`tables`, `inbox_tables` and `audience_tables` are the PynamoDB models;
`dynamo` owns transactions, conditions, pages and retries, `batches` the
batch reads and writes with their unprocessed items (nothing else reaches
into a model's connection); `shapes` are the JSON the API
shows of each item; `stream_records` parses a stream record once; `queue`
is the work queue's step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core import lazy

if TYPE_CHECKING:
    from chalicelib.storage.audience_tables import PAST as PAST
    from chalicelib.storage.audience_tables import PastSubscriptions as PastSubscriptions
    from chalicelib.storage.audience_tables import SendLog as SendLog
    from chalicelib.storage.audience_tables import Subscription as Subscription
    from chalicelib.storage.audience_tables import log_key as log_key
    from chalicelib.storage.audience_tables import newest_sends as newest_sends
    from chalicelib.storage.batches import BATCH_GET_KEYS as BATCH_GET_KEYS
    from chalicelib.storage.batches import read_batch as read_batch
    from chalicelib.storage.batches import read_items as read_items
    from chalicelib.storage.batches import read_raw as read_raw
    from chalicelib.storage.batches import try_batches as try_batches
    from chalicelib.storage.batches import write_batch as write_batch
    from chalicelib.storage.batches import write_batches as write_batches
    from chalicelib.storage.dynamo import CONDITION_FAILED as CONDITION_FAILED
    from chalicelib.storage.dynamo import CONFLICT_RETRIES as CONFLICT_RETRIES
    from chalicelib.storage.dynamo import MAX_TRANSACTION_ACTIONS as MAX_TRANSACTION_ACTIONS
    from chalicelib.storage.dynamo import cancellation_codes as cancellation_codes
    from chalicelib.storage.dynamo import condition_failed as condition_failed
    from chalicelib.storage.dynamo import delete_if as delete_if
    from chalicelib.storage.dynamo import first_page as first_page
    from chalicelib.storage.dynamo import is_busy as is_busy
    from chalicelib.storage.dynamo import next_cursor as next_cursor
    from chalicelib.storage.dynamo import not_refused as not_refused
    from chalicelib.storage.dynamo import one_page as one_page
    from chalicelib.storage.dynamo import pause_before_retry as pause_before_retry
    from chalicelib.storage.dynamo import put_item as put_item
    from chalicelib.storage.dynamo import read_item as read_item
    from chalicelib.storage.dynamo import refused_as as refused_as
    from chalicelib.storage.dynamo import retrying_conflicts as retrying_conflicts
    from chalicelib.storage.dynamo import transaction as transaction
    from chalicelib.storage.dynamo import transaction_units as transaction_units
    from chalicelib.storage.dynamo import update_item as update_item
    from chalicelib.storage.dynamo import update_or_read as update_or_read
    from chalicelib.storage.inbox_tables import ARCHIVED as ARCHIVED
    from chalicelib.storage.inbox_tables import COUNTED as COUNTED
    from chalicelib.storage.inbox_tables import CRITICAL as CRITICAL
    from chalicelib.storage.inbox_tables import DELETED as DELETED
    from chalicelib.storage.inbox_tables import ENTRIES as ENTRIES
    from chalicelib.storage.inbox_tables import EXPIRY_ENTRY as EXPIRY_ENTRY
    from chalicelib.storage.inbox_tables import LIVE_END as LIVE_END
    from chalicelib.storage.inbox_tables import PIN_ENTRY as PIN_ENTRY
    from chalicelib.storage.inbox_tables import PREFERENCES as PREFERENCES
    from chalicelib.storage.inbox_tables import READ as READ
    from chalicelib.storage.inbox_tables import SNOOZED as SNOOZED
    from chalicelib.storage.inbox_tables import TAG_ENTRY as TAG_ENTRY
    from chalicelib.storage.inbox_tables import UNREAD as UNREAD
    from chalicelib.storage.inbox_tables import Entry as Entry
    from chalicelib.storage.inbox_tables import InboxMessage as InboxMessage
    from chalicelib.storage.inbox_tables import InboxOneAttempt as InboxOneAttempt
    from chalicelib.storage.inbox_tables import Preferences as Preferences
    from chalicelib.storage.inbox_tables import Tombstone as Tombstone
    from chalicelib.storage.inbox_tables import UserCounts as UserCounts
    from chalicelib.storage.inbox_tables import entry_key as entry_key
    from chalicelib.storage.queue import CHUNK as CHUNK
    from chalicelib.storage.queue import COUNT as COUNT
    from chalicelib.storage.queue import FRAMES as FRAMES
    from chalicelib.storage.queue import MAX_RECEIVES as MAX_RECEIVES
    from chalicelib.storage.queue import UNSUBSCRIBE as UNSUBSCRIBE
    from chalicelib.storage.queue import Step as Step
    from chalicelib.storage.queue import WorkQueue as WorkQueue
    from chalicelib.storage.shapes import PAGE_BYTES as PAGE_BYTES
    from chalicelib.storage.shapes import answer_bytes as answer_bytes
    from chalicelib.storage.shapes import channel_json as channel_json
    from chalicelib.storage.shapes import fitting as fitting
    from chalicelib.storage.shapes import message_json as message_json
    from chalicelib.storage.shapes import my_channel_json as my_channel_json
    from chalicelib.storage.shapes import page_json as page_json
    from chalicelib.storage.shapes import preferences_json as preferences_json
    from chalicelib.storage.shapes import send_log_json as send_log_json
    from chalicelib.storage.shapes import subscriber_json as subscriber_json
    from chalicelib.storage.stream_records import Image as Image
    from chalicelib.storage.stream_records import StreamRecord as StreamRecord
    from chalicelib.storage.stream_records import image_string as image_string
    from chalicelib.storage.tables import Channel as Channel
    from chalicelib.storage.tables import Connection as Connection
    from chalicelib.storage.tables import IdempotencyRecord as IdempotencyRecord
    from chalicelib.storage.tables import bind_models as bind_models

if not TYPE_CHECKING:
    __getattr__, __dir__, __all__ = lazy.exports(
        __name__,
        {
            "audience_tables": ("PAST", "PastSubscriptions", "SendLog", "Subscription", "log_key", "newest_sends"),
            "batches": ("BATCH_GET_KEYS", "read_batch", "read_items", "read_raw", "try_batches", "write_batch", "write_batches"),
            "dynamo": (
                "CONDITION_FAILED",
                "CONFLICT_RETRIES",
                "MAX_TRANSACTION_ACTIONS",
                "cancellation_codes",
                "condition_failed",
                "delete_if",
                "first_page",
                "is_busy",
                "next_cursor",
                "not_refused",
                "one_page",
                "pause_before_retry",
                "put_item",
                "read_item",
                "refused_as",
                "retrying_conflicts",
                "transaction",
                "transaction_units",
                "update_item",
                "update_or_read",
            ),
            "inbox_tables": (
                "ARCHIVED",
                "COUNTED",
                "CRITICAL",
                "DELETED",
                "ENTRIES",
                "EXPIRY_ENTRY",
                "LIVE_END",
                "PIN_ENTRY",
                "PREFERENCES",
                "READ",
                "SNOOZED",
                "TAG_ENTRY",
                "UNREAD",
                "Entry",
                "InboxMessage",
                "InboxOneAttempt",
                "Preferences",
                "Tombstone",
                "UserCounts",
                "entry_key",
            ),
            "queue": ("CHUNK", "COUNT", "FRAMES", "MAX_RECEIVES", "UNSUBSCRIBE", "Step", "WorkQueue"),
            "shapes": (
                "PAGE_BYTES",
                "answer_bytes",
                "channel_json",
                "fitting",
                "message_json",
                "my_channel_json",
                "page_json",
                "preferences_json",
                "send_log_json",
                "subscriber_json",
            ),
            "stream_records": ("Image", "StreamRecord", "image_string"),
            "tables": ("Channel", "Connection", "IdempotencyRecord", "bind_models"),
        },
    )
