"""Storage: the tables and every piece of DynamoDB plumbing.

`tables`, `inbox_tables` and `audience_tables` are the PynamoDB models;
`dynamo` owns transactions, conditions, pages and retries, `batches` the
batch reads and writes with their unprocessed items (nothing else reaches
into a model's connection); `shapes` are the JSON the API
shows of each item; `stream_records` parses a stream record once; `queue`
is the work queue's step.
"""

from chalicelib.storage.audience_tables import SendLog, Subscription, log_key, newest_sends
from chalicelib.storage.batches import BATCH_GET_KEYS, read_batch, read_items, try_batches, write_batch, write_batches
from chalicelib.storage.dynamo import (
    CONFLICT_RETRIES,
    MAX_TRANSACTION_ACTIONS,
    condition_failed,
    first_page,
    is_busy,
    next_cursor,
    not_refused,
    one_page,
    pause_before_retry,
    put_item,
    read_item,
    refused_as,
    retrying_conflicts,
    transaction,
    transaction_units,
    update_item,
    update_or_read,
)
from chalicelib.storage.inbox_tables import (
    ARCHIVED,
    CRITICAL,
    DELETED,
    LIVE_END,
    PREFERENCES,
    READ,
    UNREAD,
    InboxMessage,
    InboxOneAttempt,
    Preferences,
    Tombstone,
    UserCounts,
)
from chalicelib.storage.queue import CHUNK, MAX_RECEIVES, UNSUBSCRIBE, Step, WorkQueue
from chalicelib.storage.shapes import (
    PAGE_BYTES,
    answer_bytes,
    channel_json,
    fitting,
    message_json,
    my_channel_json,
    page_json,
    preferences_json,
    send_log_json,
    subscriber_json,
)
from chalicelib.storage.stream_records import Image, StreamRecord, image_string
from chalicelib.storage.tables import Channel, Connection, IdempotencyRecord, bind_models

__all__ = [
    "ARCHIVED",
    "BATCH_GET_KEYS",
    "CHUNK",
    "CONFLICT_RETRIES",
    "CRITICAL",
    "DELETED",
    "LIVE_END",
    "MAX_RECEIVES",
    "MAX_TRANSACTION_ACTIONS",
    "PAGE_BYTES",
    "PREFERENCES",
    "READ",
    "UNREAD",
    "UNSUBSCRIBE",
    "Channel",
    "Connection",
    "IdempotencyRecord",
    "Image",
    "InboxMessage",
    "InboxOneAttempt",
    "Preferences",
    "SendLog",
    "Step",
    "StreamRecord",
    "Subscription",
    "Tombstone",
    "UserCounts",
    "WorkQueue",
    "answer_bytes",
    "bind_models",
    "channel_json",
    "condition_failed",
    "first_page",
    "fitting",
    "image_string",
    "is_busy",
    "log_key",
    "message_json",
    "my_channel_json",
    "newest_sends",
    "next_cursor",
    "not_refused",
    "one_page",
    "page_json",
    "pause_before_retry",
    "preferences_json",
    "put_item",
    "read_batch",
    "read_item",
    "read_items",
    "refused_as",
    "retrying_conflicts",
    "send_log_json",
    "subscriber_json",
    "transaction",
    "transaction_units",
    "try_batches",
    "update_item",
    "update_or_read",
    "write_batch",
    "write_batches",
]
