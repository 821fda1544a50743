"""chalicelib.core.json_text: caller JSON parsed with a depth limit, and strings that cannot be encoded refused."""

from __future__ import annotations

import pytest

from chalicelib.core.errors import ValidationError
from chalicelib.core.json_text import MAX_JSON_DEPTH, check_encodable, loads, parse_json_object


def test_an_object_body_is_parsed() -> None:
    assert parse_json_object(b'{"a": [1, {"b": null}]}') == {"a": [1, {"b": None}]}
    assert parse_json_object(None) == parse_json_object(b"") == parse_json_object("") == {}


@pytest.mark.parametrize(
    ("raw", "message"),
    [(b"[1]", r"^body: must be a JSON object$"), (b"{", r"^body: "), (b"\n", r"^body: "), ("  ", r"^body: ")],
)
def test_anything_but_an_object_is_a_400_on_body(raw: bytes, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_json_object(raw)


def test_nesting_past_the_limit_is_refused_naming_where() -> None:
    levels = MAX_JSON_DEPTH + 1  # the top level, then MAX_JSON_DEPTH nested below it
    loads("[" * levels + "]" * levels)
    deep = "[" * (levels + 1) + "]" * (levels + 1)
    with pytest.raises(ValidationError, match=f"is nested deeper than {MAX_JSON_DEPTH} levels"):
        loads(deep)


def test_a_lone_surrogate_is_refused_naming_its_path() -> None:
    with pytest.raises(ValidationError, match=r"^messages\[0\]\.title: "):
        check_encodable({"messages": [{"title": "\ud800"}]}, "messages", "")
