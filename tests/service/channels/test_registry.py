"""Channel management: create, list, read, update, delete, and their limits."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api, SendFactory, TokenFactory, assert_error

TIME = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"


def test_create_returns_201_and_the_channel(api: Api, admin_token: str) -> None:
    response = api.call("POST", "/channels", token=admin_token, json_body={"name": "billing", "title": "Billing"})
    assert response.status_code == 201
    body = response.json_body
    assert (body["name"], body["title"], body["description"]) == ("billing", "Billing", "")
    assert body["createdAt"] == body["updatedAt"]


def test_existing_name_is_409_and_keeps_the_first(api: Api, admin_token: str, channel: str) -> None:
    response = api.call("POST", "/channels", token=admin_token, json_body={"name": "news", "title": "Other"})
    assert response.status_code == 409
    assert response.json_body == {"Code": "ConflictError", "Message": "name: channel 'news' already exists"}
    assert api.call("GET", "/channels/news", token=admin_token).json_body["title"] == "News"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"title": "T"}, "name: is required"),
        ({"name": "ok"}, "title: is required"),
        ({"name": "Upper", "title": "T"}, "name: must match ^[a-z0-9][a-z0-9_-]{0,63}$"),
        ({"name": "-dash", "title": "T"}, "name: must match ^[a-z0-9][a-z0-9_-]{0,63}$"),
        ({"name": "a" * 65, "title": "T"}, "name: must match ^[a-z0-9][a-z0-9_-]{0,63}$"),
        ({"name": 7, "title": "T"}, "name: must be a string"),
        ({"name": "ok", "title": ""}, "title: must be 1 to 100 characters"),
        ({"name": "ok", "title": "t" * 101}, "title: must be 1 to 100 characters"),
        ({"name": "ok", "title": ["T"]}, "title: must be a string"),
        ({"name": "ok", "title": "T", "description": "d" * 1001}, "description: must be at most 1000 characters"),
        ({"name": "ok", "title": "T", "owner": "me"}, "owner: is not a known field"),
        ({"name": "ok", "title": "T", "description": 0}, "description: must be a string"),  # was stored as ""
        ({"name": "ok", "title": "T", "description": False}, "description: must be a string"),
        ({"name": "ok", "title": "\ud800"}, "title: must be valid Unicode (no lone surrogates)"),  # was a 500
    ],
)
def test_create_rejects_bad_input(api: Api, admin_token: str, body: dict[str, Any], message: str) -> None:
    response = api.call("POST", "/channels", token=admin_token, json_body=body)
    assert response.status_code == 400
    assert response.json_body == {"Code": "BadRequestError", "Message": message}
    assert api.call("GET", "/channels", token=admin_token).json_body["items"] == []


def test_limits_are_inclusive(api: Api, admin_token: str) -> None:
    body = {"name": "a" * 64, "title": "t" * 100, "description": "d" * 1000}
    assert api.call("POST", "/channels", token=admin_token, json_body=body).status_code == 201


@pytest.mark.parametrize("raw", ["{", "[1, 2]", '"text"', "null x"])
def test_malformed_or_non_object_json_is_400(api: Api, admin_token: str, raw: str) -> None:
    response = api.call("POST", "/channels", token=admin_token, raw=raw)
    assert response.status_code == 400
    assert response.json_body["Message"].startswith("body: ")


def test_get_unknown_channel_is_404(api: Api, admin_token: str) -> None:
    response = api.call("GET", "/channels/nope", token=admin_token)
    assert response.status_code == 404
    assert response.json_body == {"Code": "NotFoundError", "Message": "name: channel 'nope' not found"}


def test_patch_changes_title_and_description(api: Api, admin_token: str, channel: str) -> None:
    response = api.call("PATCH", "/channels/news", token=admin_token, json_body={"title": "Headlines", "description": "d"})
    assert response.status_code == 200
    assert (response.json_body["title"], response.json_body["description"]) == ("Headlines", "d")
    assert api.call("GET", "/channels/news", token=admin_token).json_body["title"] == "Headlines"


def test_patch_with_empty_body_changes_nothing(api: Api, admin_token: str, channel: str) -> None:
    before = api.call("GET", "/channels/news", token=admin_token).json_body
    response = api.call("PATCH", "/channels/news", token=admin_token)
    assert (response.status_code, response.json_body) == (200, before)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"title": ""}, "title: must be 1 to 100 characters"),
        ({"name": "renamed"}, "name: is not a known field"),
        ({"description": 3}, "description: must be a string"),
    ],
)
def test_patch_rejects_bad_input(api: Api, admin_token: str, channel: str, body: Any, message: str) -> None:
    response = api.call("PATCH", "/channels/news", token=admin_token, json_body=body)
    assert (response.status_code, response.json_body["Message"]) == (400, message)
    assert api.call("GET", "/channels/news", token=admin_token).json_body["title"] == "News"


def test_patch_unknown_channel_is_404(api: Api, admin_token: str) -> None:
    assert_error(
        api.call("PATCH", "/channels/nope", token=admin_token, json_body={"title": "T"}), 404, "name: channel 'nope' not found"
    )


def test_delete_keeps_messages_readable_refuses_sends_and_frees_the_name(
    api: Api, admin_token: str, channel: str, send: SendFactory, token: TokenFactory
) -> None:
    sent = send(["u1"], title="before delete")
    assert api.call("DELETE", "/channels/news", token=admin_token).status_code == 204
    assert_error(api.call("GET", "/channels/news", token=admin_token), 404, "name: channel 'news' not found")
    assert_error(api.call("DELETE", "/channels/news", token=admin_token), 404, "name: channel 'news' not found")

    message = api.call("GET", f"/me/messages/{sent['id']}", token=token("u1")).json_body
    assert (message["channel"], message["title"]) == ("news", "before delete")
    mine = api.call("GET", "/me/channels", token=token("u1")).json_body["items"]
    assert [(c["name"], c["title"]) for c in mine] == [("news", "News")]

    body = {"channel": "news", "receivers": ["u1"], "title": "after"}
    refused = api.call("POST", "/messages", token=admin_token, json_body=body)
    assert refused.status_code == 404
    assert refused.json_body["Message"] == "channel: channel 'news' not found"

    recreated = api.call("POST", "/channels", token=admin_token, json_body={"name": "news", "title": "News v2"})
    assert recreated.status_code == 201
    send(["u1"], title="after recreate")
    items = api.call("GET", "/me/messages?channel=news", token=token("u1")).json_body["items"]
    # Each message keeps the channel title it was sent with; the channel list shows the newest.
    assert [(m["title"], m["channelTitle"]) for m in items] == [("after recreate", "News v2"), ("before delete", "News")]
    assert [c["title"] for c in api.call("GET", "/me/channels", token=token("u1")).json_body["items"]] == ["News v2"]


def test_list_pages_through_every_channel_once(api: Api, admin_token: str) -> None:
    names = {f"c{i:02d}" for i in range(23)}
    for name in names:
        api.call("POST", "/channels", token=admin_token, json_body={"name": name, "title": name.upper()})
    seen: list[str] = []
    cursor = None
    while True:
        path = "/channels?limit=10" + (f"&cursor={cursor}" if cursor else "")
        page = api.call("GET", path, token=admin_token).json_body
        assert len(page["items"]) <= 10
        seen += [c["name"] for c in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(names)


@pytest.mark.parametrize("limit", ["0", "101", "ten", "-1", "1.5"])
def test_list_rejects_bad_limits(api: Api, admin_token: str, limit: str) -> None:
    response = api.call("GET", f"/channels?limit={limit}", token=admin_token)
    assert (response.status_code, response.json_body["Message"]) == (400, "limit: must be an integer from 1 to 100")


def test_list_ignores_unknown_query_parameters(api: Api, admin_token: str, channel: str) -> None:
    response = api.call("GET", "/channels?sort=name&limit=100", token=admin_token)
    assert response.status_code == 200
    assert [c["name"] for c in response.json_body["items"]] == ["news"]


def test_tampered_cursor_is_400(api: Api, admin_token: str, channel: str) -> None:
    api.call("POST", "/channels", token=admin_token, json_body={"name": "other", "title": "O"})
    cursor = api.call("GET", "/channels?limit=1", token=admin_token).json_body["nextCursor"]
    payload, mac = cursor.split(".")
    response = api.call("GET", f"/channels?cursor={payload[:-2]}AA.{mac}", token=admin_token)
    assert response.status_code == 400
    assert response.json_body["Message"].startswith("cursor: ")
