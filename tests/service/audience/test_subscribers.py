"""Channel subscribers: add/remove counting real changes, paging, limits, and removal with the channel."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.storage.audience_tables import Subscription
from tests.conftest import Api, CallCounter, TokenFactory, Worker, assert_error


def _change(api: Api, token: str, body: Any, channel: str = "news") -> Any:
    return api.call("POST", f"/channels/{channel}/subscribers", token=token, json_body=body)


def _subscribed(channel: str = "news") -> list[str]:
    return [s.user_id for s in Subscription.query(channel)]


def test_adding_and_removing_counts_only_real_changes(api: Api, admin_token: str, channel: str) -> None:
    first = _change(api, admin_token, {"add": ["a", "b", "a"]})
    assert (first.status_code, first.json_body) == (200, {"added": 2, "removed": 0})
    again = _change(api, admin_token, {"add": ["a", "b", "c"], "remove": ["x"]})
    assert again.json_body == {"added": 1, "removed": 0}
    removal = _change(api, admin_token, {"remove": ["a", "a", "nobody"]})
    assert removal.json_body == {"added": 0, "removed": 1}
    assert _change(api, admin_token, {"remove": ["a"]}).json_body == {"added": 0, "removed": 0}
    assert _subscribed() == ["b", "c"]


def test_an_id_in_both_lists_ends_subscribed(api: Api, admin_token: str, channel: str) -> None:
    assert _change(api, admin_token, {"add": ["a"], "remove": ["a"]}).json_body == {"added": 1, "removed": 0}
    assert _change(api, admin_token, {"add": ["a"], "remove": ["a"]}).json_body == {"added": 0, "removed": 0}
    assert _subscribed() == ["a"]


def test_an_empty_body_changes_nothing(api: Api, admin_token: str, channel: str) -> None:
    response = api.call("POST", "/channels/news/subscribers", token=admin_token, raw="")
    assert response.json_body == {"added": 0, "removed": 0}


def test_a_thousand_ids_take_ten_batch_gets_and_eleven_transactions(
    api: Api, admin_token: str, channel: str, dynamodb_calls: CallCounter
) -> None:
    dynamodb_calls.reset()
    response = _change(api, admin_token, {"add": [f"user-{i:04d}" for i in range(1000)]})
    assert response.json_body == {"added": 1000, "removed": 0}
    # GetItem: the channel and its sequence; a transaction: the sequence item and 99 subscriptions
    assert dynamodb_calls.calls == {"GetItem": 2, "BatchGetItem": 10, "TransactWriteItems": 11}
    assert len(_subscribed()) == 1000


def test_the_list_pages_in_user_order_with_a_signed_cursor(api: Api, admin_token: str, channel: str) -> None:
    _change(api, admin_token, {"add": ["c", "a", "b"]})
    first = api.call("GET", "/channels/news/subscribers?limit=2", token=admin_token).json_body
    assert [s["userId"] for s in first["items"]] == ["a", "b"]
    assert first["items"][0]["subscribedAt"].endswith("Z")
    rest = api.call("GET", f"/channels/news/subscribers?limit=2&cursor={first['nextCursor']}", token=admin_token)
    assert ([s["userId"] for s in rest.json_body["items"]], rest.json_body["nextCursor"]) == (["c"], None)
    api.call("POST", "/channels", token=admin_token, json_body={"name": "other", "title": "Other"})
    elsewhere = api.call("GET", f"/channels/other/subscribers?cursor={first['nextCursor']}", token=admin_token)
    assert_error(elsewhere, 400, "cursor: is not valid for this query")


BAD = [
    ({"add": "a"}, "add: must be a list of user ids"),
    ({"add": [f"u{i}" for i in range(1001)]}, "add: must have at most 1000 user ids"),
    ({"remove": ["ok", ""]}, "remove[1]: must be a user id of 1 to 128 characters, not beginning with ~"),
    ({"remove": ["u" * 129]}, "remove[0]: must be a user id of 1 to 128 characters, not beginning with ~"),
    ({"add": [1]}, "add[0]: must be a user id of 1 to 128 characters, not beginning with ~"),
    ({"add": ["~m|bob"]}, "add[0]: must be a user id of 1 to 128 characters, not beginning with ~"),
    ({"users": ["a"]}, "users: is not a known field"),
]


@pytest.mark.parametrize(("body", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_changes_are_refused_naming_the_field(api: Api, admin_token: str, channel: str, body: Any, message: str) -> None:
    assert_error(_change(api, admin_token, body), 400, message)
    assert _subscribed() == []


def test_only_admins_and_only_existing_channels(api: Api, admin_token: str, channel: str, token: TokenFactory) -> None:
    assert_error(_change(api, token("alice"), {"add": ["a"]}), 403, "Authorization: this operation needs the admin role")
    assert_error(_change(api, admin_token, {"add": ["a"]}, channel="nope"), 404, "name: channel 'nope' not found")
    listing = api.call("GET", "/channels/nope/subscribers", token=admin_token)
    assert_error(listing, 404, "name: channel 'nope' not found")


def test_deleting_a_channel_removes_its_subscriptions_not_a_recreated_ones(
    api: Api, admin_token: str, channel: str, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("chalicelib.audience.worker.UNSUBSCRIBE_PAGE", 7)  # several pages: the chain continues itself
    _change(api, admin_token, {"add": [f"old-{i:02d}" for i in range(20)]})
    assert api.call("DELETE", "/channels/news", token=admin_token).status_code == 204
    api.call("POST", "/channels", token=admin_token, json_body={"name": "news", "title": "News again"})
    _change(api, admin_token, {"add": ["new-1", "old-03"]})
    assert worker.drain() == 3
    assert _subscribed() == ["new-1", "old-03"]
    assert worker.drain() == 0
