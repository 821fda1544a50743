"""POST /messages: validation limits, templating, idempotency, atomicity."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.storage.inbox_tables import InboxMessage
from tests.conftest import Api, TokenFactory, assert_counts_exact, assert_error, inbox_items
from tests.events import send_body
from tests.faults import failing_write


def test_send_returns_202_with_id_channel_and_distinct_count(api: Api, admin_token: str, channel: str) -> None:
    response = api.send_message(admin_token, send_body(receivers=["a", "b", "a", "c"]))
    assert response.status_code == 202
    assert response.json_body["receivers"] == 3
    assert response.json_body["channel"] == "news"
    for user in ("a", "b", "c"):
        assert [m.id for m in inbox_items(user)] == [response.json_body["id"]]


def test_message_has_every_field(api: Api, admin_token: str, channel: str, token: TokenFactory) -> None:
    sent = api.send_message(admin_token, send_body(content="Body", url="https://x.example/a?b=1", duration=5)).json_body
    message = api.call("GET", f"/me/messages/{sent['id']}", token=token("u1")).json_body
    assert message == {
        "id": sent["id"],
        "channel": "news",
        "channelTitle": "News",
        "title": "Hello",
        "content": "Body",
        "url": "https://x.example/a?b=1",
        "mobileUrl": None,
        "duration": 5,
        "severity": "normal",
        "actions": [],
        "status": "unread",
        "seen": False,
        "seenAt": None,
        "archived": False,
        "archivedAt": None,
        "createdAt": message["createdAt"],
        "readAt": None,
    }


def test_severity_actions_and_mobile_url_are_stored_with_placeholders_filled(
    api: Api, admin_token: str, channel: str, token: TokenFactory
) -> None:
    fields = {
        "severity": "critical",
        "mobileUrl": "/m/orders/{{order}}",
        "actions": [{"label": "Pay {{amount}}", "url": "/pay/{{order}}"}, {"label": "Later", "url": "https://x.example/l"}],
        "data": {"order": "A 1", "amount": "€5"},
    }
    sent = api.send_message(admin_token, send_body(**fields)).json_body
    message = api.call("GET", f"/me/messages/{sent['id']}", token=token("u1")).json_body
    assert (message["severity"], message["mobileUrl"]) == ("critical", "/m/orders/A%201")
    assert message["actions"] == [{"label": "Pay €5", "url": "/pay/A%201"}, {"label": "Later", "url": "https://x.example/l"}]


LIMIT_OK = [
    {"receivers": [f"u{i}" for i in range(1000)]},
    {"receivers": ["u" * 128]},
    {"title": "t" * 200},
    {"content": "é" * 8192},
    {"url": "https://e.example/" + "p" * 2030},
    {"url": "/inbox/relative"},
    {"url": "http://plain.example"},
    {"duration": 0},
    {"duration": 3600},
]


@pytest.mark.parametrize("fields", LIMIT_OK, ids=lambda f: next(iter(f)))
def test_limits_at_the_edge_are_accepted(api: Api, admin_token: str, channel: str, fields: dict[str, Any]) -> None:
    assert api.send_message(admin_token, send_body(**fields)).status_code == 202


LIMIT_BAD = [
    ({"receivers": [f"u{i}" for i in range(1001)]}, "receivers: must have 1 to 1000 distinct user ids"),
    ({"receivers": []}, "receivers: must have 1 to 1000 distinct user ids"),
    ({"receivers": "u1"}, "receivers: must be a list of user ids"),
    ({"receivers": ["ok", ""]}, "receivers[1]: must be a user id of 1 to 128 characters, not beginning with ~"),
    ({"receivers": ["u" * 129]}, "receivers[0]: must be a user id of 1 to 128 characters, not beginning with ~"),
    ({"receivers": [5]}, "receivers[0]: must be a user id of 1 to 128 characters, not beginning with ~"),
    ({"receivers": ["ok", "~c|news"]}, "receivers[1]: must be a user id of 1 to 128 characters, not beginning with ~"),
    ({"title": ""}, "title: must be 1 to 200 characters"),
    ({"title": "t" * 201}, "title: must be 1 to 200 characters"),
    ({"title": 12}, "title: must be a string"),
    ({"content": "é" * 8192 + "x"}, "content: must be at most 16384 bytes of UTF-8"),
    ({"content": {"html": "x"}}, "content: must be a string"),
    ({"url": "javascript:alert(1)"}, "url: must be an http(s):// URL or a path starting with /"),
    ({"url": "data:text/html,hi"}, "url: must be an http(s):// URL or a path starting with /"),
    ({"url": "//evil.example/x"}, "url: must be an http(s):// URL or a path starting with /"),
    ({"url": "/\\evil.example"}, "url: must not contain spaces, backslashes or control characters"),  # "/\\" is "//" to a browser
    ({"url": "/ok\\..\\x"}, "url: must not contain spaces, backslashes or control characters"),
    ({"url": "https://"}, "url: must be an http(s):// URL or a path starting with /"),
    ({"url": "https://e.example/" + "p" * 2031}, "url: must be 1 to 2048 characters"),
    ({"url": "/a b"}, "url: must not contain spaces, backslashes or control characters"),
    ({"duration": -1}, "duration: must be 0 to 3600 seconds"),
    ({"duration": 3601}, "duration: must be 0 to 3600 seconds"),
    ({"duration": 1.5}, "duration: must be an integer number of seconds"),
    ({"duration": True}, "duration: must be an integer number of seconds"),
    ({"channel": "Bad Name"}, "channel: must match ^[a-z0-9][a-z0-9_-]{0,63}$"),
    ({"channel": None}, "channel: is required"),
    ({"title": None}, "title: is required"),
    ({"priority": "high"}, "priority: is not a known field"),
    ({"severity": "urgent"}, "severity: must be one of normal, high, critical"),
    ({"mobileUrl": "javascript:alert(1)"}, "mobileUrl: must be an http(s):// URL or a path starting with /"),
    ({"actions": {"label": "x"}}, "actions: must be a list of at most 2 actions"),
    ({"actions": [{"label": "a", "url": "/a"}] * 3}, "actions: must be a list of at most 2 actions"),
    ({"actions": ["x"]}, "actions[0]: must be an object with label and url"),
    ({"actions": [{"url": "/a"}]}, "actions[0].label: is required"),
    ({"actions": [{"label": "a"}]}, "actions[0].url: is required"),
    ({"actions": [{"label": "", "url": "/a"}]}, "actions[0].label: must be 1 to 40 characters"),
    ({"actions": [{"label": "x" * 41, "url": "/a"}]}, "actions[0].label: must be 1 to 40 characters"),
    ({"actions": [{"label": "a", "url": "/a", "style": "red"}]}, "actions[0].style: is not a known field"),
    (
        {"actions": [{"label": "a", "url": "data:text/html,x"}]},
        "actions[0].url: must be an http(s):// URL or a path starting with /",
    ),
    ({"actions": [{"label": "{{who}}", "url": "/a"}]}, "data.who: is missing (used in actions[0].label)"),
    ({"data": ["x"]}, "data: must be an object"),
    ({"data": {"x": {"y": 1}}}, "data.x: must be a string, number or boolean"),
]


@pytest.mark.parametrize(("fields", "message"), LIMIT_BAD, ids=[m for _, m in LIMIT_BAD])
def test_bad_input_is_400_naming_the_field_and_stores_nothing(
    api: Api, admin_token: str, channel: str, fields: dict[str, Any], message: str
) -> None:
    response = api.send_message(admin_token, send_body(**fields))
    assert response.status_code == 400
    assert response.json_body == {"Code": "BadRequestError", "Message": message}
    assert list(InboxMessage.scan()) == []


def test_missing_receivers_is_400(api: Api, admin_token: str, channel: str) -> None:
    response = api.send_message(admin_token, {"channel": "news", "title": "t"})
    assert response.json_body["Message"] == "receivers: is required"


def test_malformed_json_is_400(api: Api, admin_token: str, channel: str) -> None:
    response = api.call("POST", "/messages", token=admin_token, raw='{"channel": "news",')
    assert (response.status_code, response.json_body["Message"]) == (400, "body: is not valid JSON")


def test_unknown_channel_is_404(api: Api, admin_token: str) -> None:
    response = api.send_message(admin_token, send_body(channel="ghost"))
    assert (response.status_code, response.json_body["Message"]) == (404, "channel: channel 'ghost' not found")


# --- templating -------------------------------------------------------------


def test_data_fills_placeholders_as_plain_text(api: Api, admin_token: str, channel: str, token: TokenFactory) -> None:
    body = send_body(
        title="Hi {{ name }} <b>",
        content="Order {{order}} for {{name}} & co",
        url="/orders/{{order}}?q={{name}}",
        data={"name": "Ann & <Bob>", "order": 42},
    )
    sent = api.send_message(admin_token, body).json_body
    message = api.call("GET", f"/me/messages/{sent['id']}", token=token("u1")).json_body
    assert message["title"] == "Hi Ann & <Bob> <b>"
    assert message["content"] == "Order 42 for Ann & <Bob> & co"
    assert message["url"] == "/orders/42?q=Ann%20%26%20%3CBob%3E"


def test_missing_data_key_is_400(api: Api, admin_token: str, channel: str) -> None:
    response = api.send_message(admin_token, send_body(title="Hi {{name}}", data={"other": "x"}))
    assert (response.status_code, response.json_body["Message"]) == (400, "data.name: is missing (used in title)")


def test_limits_apply_after_filling(api: Api, admin_token: str, channel: str) -> None:
    response = api.send_message(admin_token, send_body(title="{{x}}", data={"x": "t" * 201}))
    assert_error(response, 400, "title: must be at most 200 characters once placeholders are filled")


def test_placeholders_without_data_are_400_not_stored_literally(api: Api, admin_token: str, channel: str) -> None:
    assert_error(api.send_message(admin_token, send_body(title="Literal {{name}}")), 400, "data.name: is missing (used in title)")
    assert list(InboxMessage.scan()) == []


def test_javascript_url_cannot_be_smuggled_through_data(api: Api, admin_token: str, channel: str) -> None:
    response = api.send_message(admin_token, send_body(url="{{u}}", data={"u": "javascript:alert(1)"}))
    assert response.status_code == 400
    assert response.json_body["Message"] == "url: must be an http(s):// URL or a path starting with /"


# --- idempotency ------------------------------------------------------------


# --- atomicity toward the caller --------------------------------------------


def test_a_retry_after_the_channel_was_renamed_still_completes(api: Api, admin_token: str, channel: str) -> None:
    """The retry's items differ (the channel title is in them): only the receivers still missing it are written."""
    receivers = [f"r{i:03d}" for i in range(60)]
    with failing_write(2):
        assert api.send_message(admin_token, send_body(receivers=receivers), key="renamed").status_code == 429
    api.call("PATCH", "/channels/news", token=admin_token, json_body={"title": "Renamed"})
    retry = api.send_message(admin_token, send_body(receivers=receivers), key="renamed")
    assert retry.status_code == 202
    assert all(len(inbox_items(r)) == 1 for r in receivers)
    assert_counts_exact(*receivers)
