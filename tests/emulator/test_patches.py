"""The emulator patch keeps TransactWriteItems all-or-nothing, streams included."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from infra.local.moto import patches as moto_patches


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    moto_patches.apply()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        yield client


def _stream_records(client: Any) -> list[dict[str, Any]]:
    streams = boto3.client("dynamodbstreams", region_name="us-east-1")
    arn = client.describe_table(TableName="t")["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    return list(streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"])


def _put(pk: str, sk: str, n: int, condition: str | None = None) -> dict[str, Any]:
    put: dict[str, Any] = {"TableName": "t", "Item": {"pk": {"S": pk}, "sk": {"S": sk}, "n": {"N": str(n)}}}
    if condition:
        put["ConditionExpression"] = condition
    return {"Put": put}


def test_cancelled_transaction_restores_items_and_stream(dynamodb: Any) -> None:
    dynamodb.put_item(TableName="t", Item={"pk": {"S": "a"}, "sk": {"S": "1"}, "n": {"N": "1"}})
    update = {
        "Update": {
            "TableName": "t",
            "Key": {"pk": {"S": "a"}, "sk": {"S": "1"}},
            "UpdateExpression": "ADD n :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
    }
    with pytest.raises(ClientError, match="TransactionCanceledException") as caught:
        dynamodb.transact_write_items(TransactItems=[update, _put("b", "1", 5), _put("a", "2", 7, "attribute_exists(pk)")])
    assert caught.value.response["Error"]["Code"] == "TransactionCanceledException"
    items = dynamodb.scan(TableName="t")["Items"]
    assert items == [{"pk": {"S": "a"}, "sk": {"S": "1"}, "n": {"N": "1"}}]
    assert [r["eventName"] for r in _stream_records(dynamodb)] == ["INSERT"]


def test_committed_transaction_applies_everything(dynamodb: Any) -> None:
    dynamodb.transact_write_items(TransactItems=[_put("a", "1", 1), _put("b", "1", 2)])
    assert len(dynamodb.scan(TableName="t")["Items"]) == 2
    assert [r["eventName"] for r in _stream_records(dynamodb)] == ["INSERT", "INSERT"]


def test_a_token_reused_with_other_parameters_is_refused_for_ten_minutes(dynamodb: Any) -> None:
    """DynamoDB's rule, which moto itself ignores: same token + same call = success, no change."""
    dynamodb.transact_write_items(TransactItems=[_put("a", "1", 1)], ClientRequestToken="tok-1")
    dynamodb.transact_write_items(TransactItems=[_put("a", "1", 1)], ClientRequestToken="tok-1")  # replay: no-op
    with pytest.raises(ClientError, match="IdempotentParameterMismatchException"):
        dynamodb.transact_write_items(TransactItems=[_put("a", "1", 2)], ClientRequestToken="tok-1")
    assert dynamodb.scan(TableName="t")["Items"] == [{"pk": {"S": "a"}, "sk": {"S": "1"}, "n": {"N": "1"}}]
    assert len(_stream_records(dynamodb)) == 1  # the replay wrote nothing


def test_a_failed_call_does_not_hold_its_token(dynamodb: Any) -> None:
    with pytest.raises(ClientError, match="TransactionCanceledException"):
        dynamodb.transact_write_items(TransactItems=[_put("b", "1", 1, "attribute_exists(pk)")], ClientRequestToken="tok-2")
    dynamodb.transact_write_items(TransactItems=[_put("b", "1", 1)], ClientRequestToken="tok-2")
    assert len(dynamodb.scan(TableName="t")["Items"]) == 1


def test_tokens_are_forgotten_after_ten_minutes() -> None:
    now = [0.0]
    ledger = moto_patches.TokenLedger(clock=lambda: now[0])
    ledger.remember("t", "one")
    with pytest.raises(moto_patches.IdempotentParameterMismatch, match="different parameters"):
        ledger.replayed("t", "two")
    now[0] = moto_patches.TOKEN_LIFETIME_SECONDS
    assert ledger.replayed("t", "two") is False


def test_the_emulator_serves_dynamodb_requests_one_at_a_time_but_not_sqs_long_polls() -> None:
    """moto's backends take no locks: a transaction rolled back meanwhile could undo, or expose, another call's writes."""
    import threading
    import time

    from infra.local.moto.server import one_at_a_time

    inside: list[int] = []
    peak = {"now": 0, "max": 0}
    lock = threading.Lock()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        with lock:
            peak["now"] += 1
            peak["max"] = max(peak["max"], peak["now"])
        time.sleep(0.02)
        with lock:
            peak["now"] -= 1
        inside.append(1)
        return [b"{}"]

    def run(target: str) -> int:
        peak.update(now=0, max=0)
        wrapped = one_at_a_time(app)
        threads = [threading.Thread(target=wrapped, args=({"HTTP_X_AMZ_TARGET": target}, None)) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return peak["max"]

    assert run("DynamoDB_20120810.TransactWriteItems") == 1
    assert run("DynamoDBStreams_20120810.GetRecords") == 1
    assert run("AmazonSQS.ReceiveMessage") > 1
    assert len(inside) == 18
