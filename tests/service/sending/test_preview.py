"""POST /messages/preview: the send's own parsing and filling, nothing stored (the admin console's live preview)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.storage.audience_tables import SendLog
from chalicelib.storage.inbox_tables import InboxMessage
from chalicelib.storage.tables import IdempotencyRecord
from tests.conftest import Api, TokenFactory, assert_error


def _body(**fields: Any) -> dict[str, Any]:
    return {"channel": "news", "receivers": ["u1"], "title": "Hello", **fields}


def _preview(api: Api, token: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    return api.call("POST", "/messages/preview", token=token, json_body=body, headers=headers)


def _stored_anything() -> bool:
    return any(any(True for _ in model.scan()) for model in (InboxMessage, SendLog, IdempotencyRecord))


def test_placeholders_are_filled_as_a_send_fills_them_and_nothing_is_stored(api: Api, admin_token: str, channel: str) -> None:
    body = _body(
        title="Deployed {{ version }}",
        content="<b>{{who}}</b> & co",
        url="/releases/{{version}}?by={{who}}",
        data={"version": "2.14.0", "who": "Zoë <admin>", "unused": 1},
    )
    response = _preview(api, admin_token, body, headers={"Idempotency-Key": "k-preview"})
    assert (response.status_code, response.json_body) == (
        200,
        {
            "title": "Deployed 2.14.0",
            "content": "<b>Zoë <admin></b> & co",
            "url": "/releases/2.14.0?by=Zo%C3%AB%20%3Cadmin%3E",
            "mobileUrl": None,
            "actions": [],
        },
    )
    assert not _stored_anything()


def test_the_preview_equals_what_the_send_stores(api: Api, admin_token: str, channel: str, token: TokenFactory) -> None:
    body = _body(
        title="Hi {{n}}",
        content="Count: {{n}}",
        url="https://x.example/{{n}}",
        mobileUrl="https://m.example/{{n}}",
        actions=[{"label": "Open {{n}}", "url": "/open/{{n}}"}, {"label": "Later", "url": "/later?n={{n}}"}],
        data={"n": 3.5},
    )
    shown = _preview(api, admin_token, body).json_body
    sent = api.call("POST", "/messages", token=admin_token, json_body=body).json_body
    stored = api.call("GET", f"/me/messages/{sent['id']}", token=token("u1")).json_body
    assert shown == {key: stored[key] for key in ("title", "content", "url", "mobileUrl", "actions")}
    assert shown["actions"] == [{"label": "Open 3.5", "url": "/open/3.5"}, {"label": "Later", "url": "/later?n=3.5"}]


def test_an_audience_body_previews_without_subscribers(api: Api, admin_token: str, channel: str) -> None:
    response = _preview(api, admin_token, {"channel": "news", "audience": "subscribers", "title": "All"})
    assert (response.status_code, response.json_body) == (
        200,
        {"title": "All", "content": "", "url": None, "mobileUrl": None, "actions": []},
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title": "Deployed {{version}}"}, "data.version: is missing (used in title)"),
        ({"url": "/r/{{id}}", "data": {"other": "x"}}, "data.id: is missing (used in url)"),
        ({"url": "javascript:alert(1)"}, "url: must be an http(s):// URL or a path starting with /"),
        ({"title": "{{t}}", "data": {"t": "x" * 201}}, "title: must be at most 200 characters once placeholders are filled"),
        ({"duration": 3601}, "duration: must be 0 to 3600 seconds"),
        ({"receivers": []}, "receivers: must have 1 to 1000 distinct user ids"),
        ({"colour": "red"}, "colour: is not a known field"),
        ({"severity": "urgent"}, "severity: must be one of normal, high, critical"),
        ({"actions": [{"label": "{{missing}}", "url": "/a"}]}, "data.missing: is missing (used in actions[0].label)"),
        ({"mobileUrl": "data:text/html,x"}, "mobileUrl: must be an http(s):// URL or a path starting with /"),
    ],
)
def test_refusals_are_the_sends_own(api: Api, admin_token: str, channel: str, fields: dict[str, Any], message: str) -> None:
    preview = _preview(api, admin_token, _body(**fields))
    send = api.call("POST", "/messages", token=admin_token, json_body=_body(**fields))
    assert_error(preview, 400, message)
    assert (send.status_code, send.json_body) == (preview.status_code, preview.json_body)


def test_an_unknown_channel_is_the_sends_404(api: Api, admin_token: str, channel: str) -> None:
    preview = _preview(api, admin_token, _body(channel="gone"))
    send = api.call("POST", "/messages", token=admin_token, json_body=_body(channel="gone"))
    assert preview.status_code == 404
    assert (send.status_code, send.json_body) == (preview.status_code, preview.json_body)


def test_only_admins_may_preview(api: Api, channel: str, token: TokenFactory) -> None:
    assert_error(_preview(api, token("u1"), _body()), 403, "Authorization: this operation needs the admin role")
    response = api.call("POST", "/messages/preview", json_body=_body())
    assert_error(response, 401, "Authorization: a bearer token is required")


def test_the_admin_page_is_served_with_the_inboxs_csp(api: Api) -> None:
    inbox, admin = api.call("GET", "/"), api.call("GET", "/admin")
    assert admin.status_code == 200 and admin.headers["Content-Type"].startswith("text/html")
    assert admin.headers["Content-Security-Policy"] == inbox.headers["Content-Security-Policy"]
    assert '<script type="module" src="static/admin.js">' in admin.body.decode()
    for name, kind in (
        ("admin.js", "text/javascript"),
        ("admin-compose.js", "text/javascript"),
        ("admin-log.js", "text/javascript"),
        ("page.js", "text/javascript"),
        ("admin.css", "text/css"),
    ):
        response = api.call("GET", f"/static/{name}")
        assert response.status_code == 200 and response.headers["Content-Type"].startswith(kind), name
