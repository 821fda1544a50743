"""POST /messages: validation limits, templating, idempotency, atomicity."""

from __future__ import annotations

import time
from typing import Any

import pytest

from chalicelib.core.auth import issue_token
from chalicelib.core.ids import new_id
from chalicelib.sending import idempotency
from chalicelib.sending.idempotency import body_hash
from chalicelib.storage.tables import IdempotencyRecord, InboxMessage
from tests.conftest import SECRET, Api, TokenFactory, assert_counts_exact, assert_error
from tests.faults import failing_write


def _body(**fields: Any) -> dict[str, Any]:
    return {"channel": "news", "receivers": ["u1"], "title": "Hello", **fields}


def _post(api: Api, admin_token: str, body: Any, key: str | None = None) -> Any:
    headers = {"Idempotency-Key": key} if key else None
    return api.call("POST", "/messages", token=admin_token, json_body=body, headers=headers)


def _inbox(user: str) -> list[InboxMessage]:
    return list(InboxMessage.query(user))


def test_send_returns_202_with_id_channel_and_distinct_count(api: Api, admin_token: str, channel: str) -> None:
    response = _post(api, admin_token, _body(receivers=["a", "b", "a", "c"]))
    assert response.status_code == 202
    assert response.json_body["receivers"] == 3
    assert response.json_body["channel"] == "news"
    for user in ("a", "b", "c"):
        assert [m.id for m in _inbox(user)] == [response.json_body["id"]]


def test_message_has_every_field(api: Api, admin_token: str, channel: str, token: TokenFactory) -> None:
    sent = _post(api, admin_token, _body(content="Body", url="https://x.example/a?b=1", duration=5)).json_body
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
    sent = _post(api, admin_token, _body(**fields)).json_body
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
    assert _post(api, admin_token, _body(**fields)).status_code == 202


LIMIT_BAD = [
    ({"receivers": [f"u{i}" for i in range(1001)]}, "receivers: must have 1 to 1000 distinct user ids"),
    ({"receivers": []}, "receivers: must have 1 to 1000 distinct user ids"),
    ({"receivers": "u1"}, "receivers: must be a list of user ids"),
    ({"receivers": ["ok", ""]}, "receivers[1]: must be a user id of 1 to 128 characters"),
    ({"receivers": ["u" * 129]}, "receivers[0]: must be a user id of 1 to 128 characters"),
    ({"receivers": [5]}, "receivers[0]: must be a user id of 1 to 128 characters"),
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
    response = _post(api, admin_token, _body(**fields))
    assert response.status_code == 400
    assert response.json_body == {"Code": "BadRequestError", "Message": message}
    assert list(InboxMessage.scan()) == []


def test_missing_receivers_is_400(api: Api, admin_token: str, channel: str) -> None:
    response = _post(api, admin_token, {"channel": "news", "title": "t"})
    assert response.json_body["Message"] == "receivers: is required"


def test_malformed_json_is_400(api: Api, admin_token: str, channel: str) -> None:
    response = api.call("POST", "/messages", token=admin_token, raw='{"channel": "news",')
    assert (response.status_code, response.json_body["Message"]) == (400, "body: is not valid JSON")


def test_unknown_channel_is_404(api: Api, admin_token: str) -> None:
    response = _post(api, admin_token, _body(channel="ghost"))
    assert (response.status_code, response.json_body["Message"]) == (404, "channel 'ghost' not found")


# --- templating -------------------------------------------------------------


def test_data_fills_placeholders_as_plain_text(api: Api, admin_token: str, channel: str, token: TokenFactory) -> None:
    body = _body(
        title="Hi {{ name }} <b>",
        content="Order {{order}} for {{name}} & co",
        url="/orders/{{order}}?q={{name}}",
        data={"name": "Ann & <Bob>", "order": 42},
    )
    sent = _post(api, admin_token, body).json_body
    message = api.call("GET", f"/me/messages/{sent['id']}", token=token("u1")).json_body
    assert message["title"] == "Hi Ann & <Bob> <b>"
    assert message["content"] == "Order 42 for Ann & <Bob> & co"
    assert message["url"] == "/orders/42?q=Ann%20%26%20%3CBob%3E"


def test_missing_data_key_is_400(api: Api, admin_token: str, channel: str) -> None:
    response = _post(api, admin_token, _body(title="Hi {{name}}", data={"other": "x"}))
    assert (response.status_code, response.json_body["Message"]) == (400, "data.name: is missing (used in title)")


def test_limits_apply_after_filling(api: Api, admin_token: str, channel: str) -> None:
    response = _post(api, admin_token, _body(title="{{x}}", data={"x": "t" * 201}))
    assert_error(response, 400, "title: must be at most 200 characters once placeholders are filled")


def test_placeholders_without_data_are_400_not_stored_literally(api: Api, admin_token: str, channel: str) -> None:
    assert_error(_post(api, admin_token, _body(title="Literal {{name}}")), 400, "data.name: is missing (used in title)")
    assert list(InboxMessage.scan()) == []


def test_javascript_url_cannot_be_smuggled_through_data(api: Api, admin_token: str, channel: str) -> None:
    response = _post(api, admin_token, _body(url="{{u}}", data={"u": "javascript:alert(1)"}))
    assert response.status_code == 400
    assert response.json_body["Message"] == "url: must be an http(s):// URL or a path starting with /"


# --- idempotency ------------------------------------------------------------


def test_same_key_and_body_returns_the_first_answer_once_stored(api: Api, admin_token: str, channel: str) -> None:
    first = _post(api, admin_token, _body(receivers=["u1", "u2"]), key="k-1")
    second = _post(api, admin_token, _body(receivers=["u1", "u2"]), key="k-1")
    assert first.status_code == second.status_code == 202
    assert first.json_body == second.json_body
    assert len(_inbox("u1")) == len(_inbox("u2")) == 1
    assert_counts_exact("u1", "u2")


def test_same_key_other_body_is_409(api: Api, admin_token: str, channel: str) -> None:
    _post(api, admin_token, _body(), key="k-2")
    response = _post(api, admin_token, _body(title="Different"), key="k-2")
    assert response.status_code == 409
    assert response.json_body["Message"] == "Idempotency-Key: was already used with a different body"
    assert [m.title for m in _inbox("u1")] == ["Hello"]


def test_scope_and_key_cannot_spell_another_pair(api: Api, token: TokenFactory, channel: str) -> None:
    """``ops`` + ``team#k1`` and ``ops#team`` + ``k1`` once made the same record key."""
    assert _post(api, token("ops", admin=True), _body(), key="team#k1").status_code == 202
    second = _post(api, token("ops#team", admin=True), _body(title="Other body"), key="k1")
    assert second.status_code == 202
    assert sorted(m.title for m in _inbox("u1")) == ["Hello", "Other body"]


def test_a_claim_whose_record_vanishes_is_retried_not_a_500(
    api: Api, admin_token: str, channel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The record is deleted between our refused put and our read: claim again instead of failing."""
    idempotency.claim("user:admin-1", "k-race", body_hash(_body()), [new_id()])
    real_get = IdempotencyRecord.get
    calls = []

    def get_after_delete(*args: Any, **kwargs: Any) -> IdempotencyRecord:
        if not calls:
            calls.append(1)
            IdempotencyRecord(idempotency.key_of("user:admin-1", "k-race")).delete()
        return real_get(*args, **kwargs)

    monkeypatch.setattr(IdempotencyRecord, "get", get_after_delete)
    response = _post(api, admin_token, _body(), key="k-race")
    assert response.status_code == 202
    assert [m.id for m in _inbox("u1")] == [response.json_body["id"]]


def test_keys_are_scoped_to_the_caller(api: Api, token: TokenFactory, channel: str) -> None:
    for admin in ("admin-a", "admin-b"):
        assert _post(api, token(admin, admin=True), _body(), key="shared").status_code == 202
    assert len(_inbox("u1")) == 2


def test_key_while_first_request_runs_is_409(api: Api, admin_token: str, channel: str) -> None:
    idempotency.claim("user:admin-1", "k-3", body_hash(_body()), [new_id()])
    response = _post(api, admin_token, _body(), key="k-3")
    assert response.status_code == 409
    assert response.json_body["Message"] == "Idempotency-Key: a request with this key is still running"
    assert _inbox("u1") == []


def test_abandoned_claim_is_taken_over_after_its_lease(
    api: Api, admin_token: str, channel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    claimed = idempotency.claim("user:admin-1", "k-4", body_hash(_body()), [new_id()])
    later = time.time() + idempotency.LEASE_SECONDS + 1
    monkeypatch.setattr(time, "time", lambda: later)
    response = _post(api, admin_token, _body(), key="k-4")
    assert response.status_code == 202
    assert response.json_body["id"] == claimed.send_ids[0]


def test_bad_idempotency_key_is_400(api: Api, admin_token: str, channel: str) -> None:
    response = _post(api, admin_token, _body(), key="k" * 256)
    assert response.json_body["Message"] == "Idempotency-Key: must be 1 to 255 printable ASCII characters"


def test_unknown_channel_frees_the_key(api: Api, admin_token: str, channel: str) -> None:
    assert _post(api, admin_token, _body(channel="later"), key="k-5").status_code == 404
    api.call("POST", "/channels", token=admin_token, json_body={"name": "later", "title": "Later"})
    assert _post(api, admin_token, _body(channel="later"), key="k-5").status_code == 202


# --- atomicity toward the caller --------------------------------------------


def test_failure_midway_answers_429_and_a_retry_completes_without_duplicates(api: Api, admin_token: str, channel: str) -> None:
    receivers = [f"r{i:03d}" for i in range(120)]  # five batches of 25, 25, 25, 25, 20
    with failing_write(2):
        first = _post(api, admin_token, _body(receivers=receivers), key="atomic")
    assert first.status_code == 429
    assert first.json_body["Code"] == "TooManyRequestsError"
    assert "retry with the same Idempotency-Key" in first.json_body["Message"]
    stored = sum(len(_inbox(r)) for r in receivers)
    assert 0 < stored < len(receivers)

    # Stored by the first attempt, then read, archived or deleted before the retry: the retry leaves each so.
    # (Which batch failed depends on the order the concurrent batch writes arrive in.)
    read, archived, deleted = [r for r in receivers if _inbox(r)][:3]
    message_id = _inbox(read)[0].id
    for user, change in ((read, {"status": "read"}), (archived, {"archived": True})):
        api.call("PATCH", f"/me/messages/{message_id}", token=issue_token(user, SECRET), json_body=change)
    assert api.call("DELETE", f"/me/messages/{message_id}", token=issue_token(deleted, SECRET)).status_code == 204
    retry = _post(api, admin_token, _body(receivers=receivers), key="atomic")
    assert retry.status_code == 202 and retry.json_body["id"] == message_id
    for receiver in set(receivers) - {read, archived, deleted}:
        assert [m.id for m in _inbox(receiver)] == [message_id]
    assert _inbox(read)[0].status == "read"
    assert [m.id for m in _inbox(archived)] == [f"archived#{message_id}"]
    assert [m.id for m in _inbox(deleted)] == [f"deleted#{message_id}"]
    assert_counts_exact(*receivers)


def test_a_retry_stores_late_and_the_catch_up_after_a_newer_message_returns_it(
    api: Api, admin_token: str, channel: str, token: TokenFactory
) -> None:
    """The retry stores the send's id after newer messages: a client that saw one must still get it."""
    receivers = [f"r{i:03d}" for i in range(60)]
    with failing_write(2):
        assert _post(api, admin_token, _body(receivers=receivers), key="late").status_code == 429
    missing = next(r for r in receivers if not _inbox(r))
    newer = _post(api, admin_token, _body(receivers=[missing], title="Newer")).json_body["id"]
    retry = _post(api, admin_token, _body(receivers=receivers), key="late").json_body["id"]
    assert retry < newer
    page = api.call("GET", f"/me/messages?after={newer}", token=token(missing)).json_body
    assert ([m["id"] for m in page["items"]], page["nextCursor"]) == ([retry], None)
    stored_once = next(r for r in receivers if r != missing and _inbox(r)[0].stored_id is None)
    assert [m.id for m in _inbox(stored_once)] == [retry]  # stored by the first attempt, at once: no late mark


def test_a_retry_after_the_channel_was_renamed_still_completes(api: Api, admin_token: str, channel: str) -> None:
    """The retry's items differ (the channel title is in them): only the receivers still missing it are written."""
    receivers = [f"r{i:03d}" for i in range(60)]
    with failing_write(2):
        assert _post(api, admin_token, _body(receivers=receivers), key="renamed").status_code == 429
    api.call("PATCH", "/channels/news", token=admin_token, json_body={"title": "Renamed"})
    retry = _post(api, admin_token, _body(receivers=receivers), key="renamed")
    assert retry.status_code == 202
    assert all(len(_inbox(r)) == 1 for r in receivers)
    assert_counts_exact(*receivers)
