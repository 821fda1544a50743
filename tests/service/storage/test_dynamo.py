"""DynamoDB throttling that outlives botocore's retries is a 429 to retry, never a 500."""

from __future__ import annotations

import pytest

from tests.conftest import Api, TokenFactory, assert_error
from tests.faults import throttled


@pytest.mark.parametrize(
    ("operation", "method", "path"),
    [("Query", "GET", "/me/messages"), ("BatchGetItem", "GET", "/me/unread-count"), ("GetItem", "GET", "/channels/news")],
)
def test_throttled_reads_answer_429(api: Api, admin_token: str, channel: str, operation: str, method: str, path: str) -> None:
    with throttled(operation) as hook:
        response = api.call(method, path, token=admin_token)
    assert_error(response, 429, "storage: busy; retry shortly")
    assert hook.calls >= 1


def test_a_throttled_send_answers_429_and_its_retry_completes(
    api: Api, admin_token: str, channel: str, token: TokenFactory
) -> None:
    body = {"channel": "news", "receivers": ["u1"], "title": "t"}
    headers = {"Idempotency-Key": "throttled-1"}
    with throttled("BatchWriteItem"):
        first = api.call("POST", "/messages", token=admin_token, json_body=body, headers=headers)
    assert first.status_code == 429 and first.json_body["Code"] == "TooManyRequestsError"
    retry = api.call("POST", "/messages", token=admin_token, json_body=body, headers=headers)
    assert retry.status_code == 202
    assert api.call("GET", "/me/unread-count", token=token("u1")).json_body == {"total": 1, "unseen": 1, "channels": {"news": 1}}


def test_a_send_whose_channel_read_is_throttled_frees_its_key_at_once(api: Api, admin_token: str, channel: str) -> None:
    """Found by the chaos run: the claim stayed "running" for its 60 s lease and every retry got a 409."""
    body = {"channel": "news", "receivers": ["u1"], "title": "t"}
    headers = {"Idempotency-Key": "throttled-2"}
    with throttled("GetItem"):
        first = api.call("POST", "/messages", token=admin_token, json_body=body, headers=headers)
    assert_error(first, 429, "storage: busy; retry shortly")
    assert api.call("POST", "/messages", token=admin_token, json_body=body, headers=headers).status_code == 202


def test_a_throttled_completion_is_retried_so_the_key_replays_at_once(api: Api, admin_token: str, channel: str) -> None:
    """Found by the chaos run too: a lost "done" left the key "still running" (409) for its whole lease."""
    body = {"channel": "news", "receivers": ["u1"], "title": "t"}
    headers = {"Idempotency-Key": "throttled-3"}
    with throttled("UpdateItem", times=2) as hook:
        first = api.call("POST", "/messages", token=admin_token, json_body=body, headers=headers)
    assert (first.status_code, hook.calls) == (202, 2)
    again = api.call("POST", "/messages", token=admin_token, json_body=body, headers=headers)
    assert (again.status_code, again.json_body) == (202, first.json_body)


def test_a_throttled_batch_read_is_the_busy_path_not_an_escaping_error(tables: None) -> None:
    """Found by review: a raw client's ClientError escaped the stream handler's replay path (Lambda then re-ran it all)."""
    from chalicelib.core.errors import BusyError
    from chalicelib.counts import stream as counts

    with throttled("BatchGetItem"), pytest.raises(BusyError):
        counts.read_many(["alice", "bob"])


def test_update_or_read_answers_the_item_after_or_the_item_that_refused_in_one_call(tables: None) -> None:
    """``ReturnValuesOnConditionCheckFailure: ALL_OLD``, which PynamoDB's own client drops from the error."""
    from pynamodb.exceptions import UpdateError
    from pynamodb.expressions.operand import Path

    from chalicelib.storage import update_or_read
    from chalicelib.storage.tables import Connection

    n = Path("n")
    assert update_or_read(Connection, "rate#x", [n.add(1)], n.does_not_exist() | (n < 1)) == (
        True,
        {"pk": {"S": "rate#x"}, "n": {"N": "1"}},
    )
    assert update_or_read(Connection, "rate#x", [n.add(1)], n < 1) == (False, {"pk": {"S": "rate#x"}, "n": {"N": "1"}})
    assert update_or_read(Connection, "rate#none", [n.add(1)], n.exists()) == (False, {})
    with throttled("UpdateItem"), pytest.raises(UpdateError) as raised:
        update_or_read(Connection, "rate#x", [n.add(1)], n < 5)
    assert raised.value.cause_response_code == "ProvisionedThroughputExceededException"
