"""Cursors: signed, bound to the user and the query."""

from __future__ import annotations

import pytest

from chalicelib.core.cursors import CursorCodec
from chalicelib.core.errors import ValidationError


def test_cursor_round_trip_and_binding() -> None:
    codec = CursorCodec("secret")
    cursor = codec.encode("alice", "scope", {"id": "X"})
    assert codec.decode(cursor, "alice", "scope") == {"id": "X"}
    for user, scope in (("bob", "scope"), ("alice", "other")):
        with pytest.raises(ValidationError, match="cursor: is not valid for this query"):
            codec.decode(cursor, user, scope)
    with pytest.raises(ValidationError, match="cursor: is not valid for this query"):
        CursorCodec("another secret").decode(cursor, "alice", "scope")
    for garbage in ("", "abc", "a.b.c", "ünïcode.x", "e30.AAAA"):
        with pytest.raises(ValidationError, match=r"^cursor: is not valid"):
            codec.decode(garbage, "alice", "scope")
