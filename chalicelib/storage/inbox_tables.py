"""The inbox table's items (messages, archived copies, tombstones, preferences) and the counters table.

`chalicelib.storage.tables` describes every table's access patterns and binds them all.
"""

from __future__ import annotations

from pynamodb.attributes import (
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

UNREAD = "unread"


READ = "read"


NORMAL = "normal"


CRITICAL = "critical"


ARCHIVED = "archived#"  # range-key prefixes of the inbox's other items: all sort after every live id


DELETED = "deleted#"


PREFERENCES = "prefs"


SNOOZED = "snoozed#"  # a snoozed message, moved out of the live range until it wakes


# Entries beside a user's messages, each naming one of them by its key's tail (`Entry`):
EXPIRY_ENTRY = "exp#"  # exp#<expiresAt>#<id>: a message with an expiry of its own (the counts leave it out after)
PIN_ENTRY = "pin#"  # pin#<pinnedAt>#<id>: a pinned message, newest pinned first
TAG_ENTRY = "tag#"  # tag#<tag>#<id>: a tagged message, one entry per tag
ENTRIES = (EXPIRY_ENTRY, PIN_ENTRY, TAG_ENTRY)


LIVE_END = "a"  # live ids are upper-case ULIDs: every one sorts below this


COUNTED = "counted"  # a fresh mark set by a write that counted its own change (`chalicelib.counts.own`)


class ChannelIndex(GlobalSecondaryIndex["InboxMessage"]):
    class Meta:
        index_name = "channel-index"
        projection = AllProjection()

    user_channel = UnicodeAttribute(hash_key=True, attr_name="userChannel")
    id = UnicodeAttribute(range_key=True)


class StatusIndex(GlobalSecondaryIndex["InboxMessage"]):
    class Meta:
        index_name = "status-index"
        projection = AllProjection()

    user_status = UnicodeAttribute(hash_key=True, attr_name="userStatus")
    id = UnicodeAttribute(range_key=True)


class ChannelStatusIndex(GlobalSecondaryIndex["InboxMessage"]):
    class Meta:
        index_name = "channel-status-index"
        projection = AllProjection()

    user_channel_status = UnicodeAttribute(hash_key=True, attr_name="userChannelStatus")
    id = UnicodeAttribute(range_key=True)


class StoredIndex(GlobalSecondaryIndex["InboxMessage"]):
    """Messages stored late, by when they were stored: keys and channel only, so reads and updates never write it."""

    class Meta:
        index_name = "stored-index"
        projection = IncludeProjection(["channel"])

    user_id = UnicodeAttribute(hash_key=True, attr_name="userId")
    stored_id = UnicodeAttribute(range_key=True, attr_name="storedId")


class InboxMessage(Model):
    """One message in one user's inbox."""

    class Meta:
        table_name = "unbound-inbox"
        stream_view_type = "NEW_AND_OLD_IMAGES"

    user_id = UnicodeAttribute(hash_key=True, attr_name="userId")
    id = UnicodeAttribute(range_key=True)
    channel = UnicodeAttribute()
    channel_title = UnicodeAttribute(attr_name="channelTitle")
    title = UnicodeAttribute()
    content = UnicodeAttribute(default="")
    url = UnicodeAttribute(null=True)
    mobile_url = UnicodeAttribute(null=True, attr_name="mobileUrl")
    duration = NumberAttribute(default=0)
    severity = UnicodeAttribute(default=NORMAL)
    actions = UnicodeAttribute(null=True)  # JSON: [{"label", "url"}], at most two
    status = UnicodeAttribute(default=UNREAD)
    created_at = UnicodeAttribute(attr_name="createdAt")
    read_at = UnicodeAttribute(null=True, attr_name="readAt")
    seen_at = UnicodeAttribute(null=True, attr_name="seenAt")
    archived_at = UnicodeAttribute(null=True, attr_name="archivedAt")
    restored_at = UnicodeAttribute(null=True, attr_name="restoredAt")  # back from the archive: not a new message
    user_channel = UnicodeAttribute(attr_name="userChannel")
    user_status = UnicodeAttribute(null=True, attr_name="userStatus")
    user_channel_status = UnicodeAttribute(null=True, attr_name="userChannelStatus")
    expires_at = TTLAttribute(attr_name="expiresAt")
    stored_id = UnicodeAttribute(null=True, attr_name="storedId")  # minted at a late store (see stored-index)
    counted = UnicodeAttribute(null=True, attr_name=COUNTED)  # the user's change was counted by its write
    tags = UnicodeSetAttribute(null=True)
    expiry = UnicodeAttribute(null=True)  # the send's own expiresAt (ISO); ``expiresAt`` holds the earlier of it and retention
    pinned_at = UnicodeAttribute(null=True, attr_name="pinnedAt")
    snoozed_until = UnicodeAttribute(null=True, attr_name="snoozedUntil")
    wake_id = UnicodeAttribute(null=True, attr_name="wakeId")  # the snooze's own schedule (one per snooze written)
    unsnoozed_at = UnicodeAttribute(null=True, attr_name="unsnoozedAt")  # woken from a snooze: a new message again
    copied_at = UnicodeAttribute(null=True, attr_name="copiedAt")  # a user's copy of a broadcast (no new message)

    channel_index = ChannelIndex()
    status_index = StatusIndex()
    channel_status_index = ChannelStatusIndex()
    stored_index = StoredIndex()

    @property
    def message_id(self) -> str:
        """The send's id, whichever item (live or archived) this is."""
        return self.id.removeprefix(ARCHIVED).removeprefix(SNOOZED)

    @property
    def archived(self) -> bool:
        return self.id.startswith(ARCHIVED)

    @property
    def snoozed(self) -> bool:
        return self.id.startswith(SNOOZED)

    @property
    def live(self) -> bool:
        return self.id < LIVE_END

    def set_status(self, status: str, read_at: str | None) -> None:
        """Change status and keep the index keys that embed it in step (live messages only: sparse)."""
        self.status = status
        self.read_at = read_at
        if status == READ and self.seen_at is None:
            self.seen_at = read_at  # read implies seen: unseen is always a subset of unread
        live = self.live
        self.user_status = f"{self.user_id}#{status}" if live else None
        self.user_channel_status = f"{self.user_id}#{self.channel}#{status}" if live else None


class InboxOneAttempt(InboxMessage):
    """The inbox table through a client that makes one attempt: botocore retries nothing, so a write lands at once.

    A fresh send's unmarked items go this way (`batches.try_batches`): a retry's pause would land
    them behind newer messages, where a catch-up by id never looks.
    """

    class Meta(InboxMessage.Meta):
        max_retry_attempts = 0


class Entry(Model):
    """An entry naming one of the user's messages (`ENTRIES`): found by one Query on its prefix, read by its key's tail.

    Written with its message and given the message's TTL; one whose message
    went (deleted, archived, snoozed) is passed over by the reader, so only
    the deletion of a pin or an expiry entry is ever written.
    """

    class Meta:
        table_name = "unbound-inbox"

    user_id = UnicodeAttribute(hash_key=True, attr_name="userId")
    id = UnicodeAttribute(range_key=True)
    expires_at = TTLAttribute(attr_name="expiresAt")

    @property
    def message_id(self) -> str:
        return self.id.rpartition("#")[2]


def entry_key(prefix: str, value: str, message_id: str) -> str:
    return f"{prefix}{value}#{message_id}"


class Tombstone(Model):
    """``deleted#<id>``: announces a deletion on the stream (a REMOVE alone is ambiguous), then expires."""

    class Meta:
        table_name = "unbound-inbox"

    user_id = UnicodeAttribute(hash_key=True, attr_name="userId")
    id = UnicodeAttribute(range_key=True)
    expires_at = TTLAttribute(attr_name="expiresAt")


class Preferences(Model):
    """``prefs``: the channels a user muted. In the inbox table so that changes reach the stream."""

    class Meta:
        table_name = "unbound-inbox"

    user_id = UnicodeAttribute(hash_key=True, attr_name="userId")
    id = UnicodeAttribute(range_key=True, default=PREFERENCES)
    muted = UnicodeSetAttribute(null=True)
    counted = UnicodeAttribute(null=True, attr_name=COUNTED)  # the mute was copied to the counts by its write


class UserCounts(Model):
    """One user's counts (`counts` reads and writes its per-channel attributes by name)."""

    class Meta:
        table_name = "unbound-counters"

    user_id = UnicodeAttribute(hash_key=True, attr_name="userId")
