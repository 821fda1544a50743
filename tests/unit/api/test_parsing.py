"""chalicelib.api.parsing: query strings and bodies become the domain's typed requests, or a 400 naming the field."""

from __future__ import annotations

import pytest

from chalicelib.api import parsing
from chalicelib.core.cursors import Page
from chalicelib.core.errors import ValidationError


def test_a_message_query_reads_filters_and_page() -> None:
    query = parsing.message_query({"channel": "deploys", "status": "unread", "limit": "5", "cursor": "abc"})
    assert (query.channel, query.status, query.after, query.archived) == ("deploys", "unread", None, False)
    assert query.page == Page(limit=5, cursor="abc")


def test_the_archive_ignores_status_and_after_but_still_checks_them() -> None:
    query = parsing.message_query({"archived": "true", "status": "read"})
    assert (query.archived, query.status, query.after) == (True, "all", None)
    with pytest.raises(ValidationError, match=r"^status: must be one of all, unread, read$"):
        parsing.message_query({"archived": "true", "status": "new"})
    with pytest.raises(ValidationError, match=r"^archived: must be true or false$"):
        parsing.message_query({"archived": "yes"})
    with pytest.raises(ValidationError, match=r"^after: must be a message id$"):
        parsing.message_query({"after": "not-an-id"})


def test_a_message_change_refuses_unread_while_archiving() -> None:
    assert parsing.message_change({"archived": True}).status is None
    with pytest.raises(ValidationError, match=r"^status: cannot be unread when archiving"):
        parsing.message_change({"status": "unread", "archived": True})
    with pytest.raises(ValidationError, match=r"^status: is required unless archived, pinned or snoozedUntil is given$"):
        parsing.message_change({})


def test_archive_all_takes_only_read_as_a_status() -> None:
    assert parsing.archive_all({"status": "read", "channel": "c"}).only_read
    assert not parsing.archive_all({}).only_read
    with pytest.raises(ValidationError, match=r'^status: must be "read"'):
        parsing.archive_all({"status": "unread"})


def test_subscriber_changes_keep_an_id_in_both_lists_subscribed() -> None:
    changes = parsing.subscriber_changes({"add": ["a", "b", "a"], "remove": ["b", "c"]})
    assert (changes.add, changes.remove) == (["a", "b"], ["c"])


def test_a_channel_body_names_the_unknown_field() -> None:
    with pytest.raises(ValidationError, match=r"^colour: is not a known field$"):
        parsing.new_channel({"name": "c", "title": "T", "colour": "red"})
    assert parsing.channel_changes({"description": None}).description == ""
