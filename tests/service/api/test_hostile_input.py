"""Input that once produced a 5xx: each is a clear 400 naming the field, and changes nothing."""

from __future__ import annotations

import pytest

from chalicelib.storage.inbox_tables import InboxMessage
from chalicelib.storage.tables import Channel
from tests.conftest import Api, TokenFactory, assert_error

DEEP = "[" * 5000 + "]" * 5000  # Python's json raises RecursionError, not ValueError


@pytest.mark.parametrize(("method", "path"), [("POST", "/channels"), ("POST", "/messages"), ("PATCH", "/channels/news")])
def test_deeply_nested_json_is_400(api: Api, admin_token: str, channel: str, method: str, path: str) -> None:
    assert_error(api.call(method, path, token=admin_token, raw=DEEP), 400, "body: is not valid JSON")
    assert_error(api.call(method, path, token=admin_token, raw='{"a":' * 40 + "1" + "}" * 40), 400, _too_deep())


def _too_deep() -> str:
    return "a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a: is nested deeper than 32 levels"


@pytest.mark.parametrize("raw", ['{"title": NaN}', '{"duration": Infinity}'])
def test_nan_and_infinity_are_not_json(api: Api, admin_token: str, channel: str, raw: str) -> None:
    assert_error(api.call("POST", "/messages", token=admin_token, raw=raw), 400, "body: is not valid JSON")


@pytest.mark.parametrize("limit", ["²", "①", "٣"])  # str.isdigit() is true for each; int() refuses two of them
def test_unicode_digits_in_limit_are_400(api: Api, token: TokenFactory, limit: str) -> None:
    response = api.call("GET", f"/me/messages?limit={limit}", token=token("u1"))
    assert_error(response, 400, "limit: must be an integer from 1 to 100")


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("title", "\ud800", "title"),
        ("content", "ok \udfff", "content"),
        ("receivers", ["a", "\ud800"], "receivers[1]"),
        ("data", {"v": "\ud800"}, "data.v"),
    ],
)
def test_lone_surrogates_in_a_send_are_400_not_a_retry(
    api: Api, admin_token: str, channel: str, field: str, value: object, named: str
) -> None:
    body = {"channel": "news", "receivers": ["a"], "title": "t", field: value}
    response = api.call("POST", "/messages", token=admin_token, json_body=body)
    assert_error(response, 400, f"{named}: must be valid Unicode (no lone surrogates)")
    assert list(InboxMessage.scan()) == []


def test_lone_surrogates_in_a_channel_are_400(api: Api, admin_token: str, channel: str) -> None:
    response = api.call("PATCH", "/channels/news", token=admin_token, json_body={"description": "\udc00"})
    assert_error(response, 400, "description: must be valid Unicode (no lone surrogates)")
    assert Channel.get("news").description == ""


def test_the_send_lambda_refuses_lone_surrogates_too(api: Api, channel: str) -> None:
    from app import send
    from chalicelib.core.errors import ValidationError

    with pytest.raises(ValidationError, match=r"^title: must be valid Unicode"):
        send({"channel": "news", "receivers": ["a"], "title": "\ud800"}, None)
    assert list(InboxMessage.scan()) == []


def test_a_trailing_newline_is_not_part_of_a_name(api: Api, admin_token: str) -> None:
    """Python's ``$`` matches before a final newline (JavaScript's does not): names are matched whole."""
    response = api.call("POST", "/channels", token=admin_token, json_body={"name": "news\n", "title": "T"})
    assert_error(response, 400, "name: must match ^[a-z0-9][a-z0-9_-]{0,63}$")


def test_url_rule_and_openapi_pattern_are_one() -> None:
    from chalicelib.api.pages import openapi_document
    from chalicelib.api.validation import URL_PATTERN

    schema = openapi_document()["components"]["schemas"]["SendRequest"]["properties"]["url"]
    assert schema["pattern"] == URL_PATTERN.pattern
