"""The emulator's speed-ups change no answer: the same update expressions, with and without them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import backends, mock_aws

from infra.local import moto_speedups

UPDATES: list[dict[str, Any]] = [
    {"UpdateExpression": "SET title = :t, #s = :s", "ExpressionAttributeNames": {"#s": "status"},
     "ExpressionAttributeValues": {":t": {"S": "hi"}, ":s": {"S": "unread"}}},
    {"UpdateExpression": "ADD unread :one, #t :one", "ExpressionAttributeNames": {"#t": "total"},
     "ExpressionAttributeValues": {":one": {"N": "1"}}},
    {"UpdateExpression": "ADD unread :one, #t :one", "ExpressionAttributeNames": {"#t": "total"},
     "ExpressionAttributeValues": {":one": {"N": "2"}}},
    {"UpdateExpression": "ADD unread :one, total :one", "ExpressionAttributeValues": {":one": {"N": "1"}}},
    {"UpdateExpression": "SET tags = list_append(if_not_exists(tags, :empty), :more)",
     "ExpressionAttributeValues": {":empty": {"L": []}, ":more": {"L": [{"S": "a"}]}}},
    {"UpdateExpression": "SET tags = list_append(if_not_exists(tags, :empty), :more)",
     "ExpressionAttributeValues": {":empty": {"L": []}, ":more": {"L": [{"S": "b"}]}}},
    {"UpdateExpression": "SET m = :m", "ExpressionAttributeValues": {":m": {"M": {"x": {"N": "1"}}}}},
    {"UpdateExpression": "SET m.x = m.x + :one REMOVE title", "ExpressionAttributeValues": {":one": {"N": "1"}}},
    {"UpdateExpression": "SET latest = :id", "ConditionExpression": "attribute_not_exists(latest) OR latest < :id",
     "ExpressionAttributeValues": {":id": {"S": "02"}}},
    {"UpdateExpression": "SET latest = :id", "ConditionExpression": "attribute_not_exists(latest) OR latest < :id",
     "ExpressionAttributeValues": {":id": {"S": "01"}}},
    {"UpdateExpression": "ADD title :one", "ExpressionAttributeValues": {":one": {"N": "1"}}},
    {"UpdateExpression": "SET pk = :p", "ExpressionAttributeValues": {":p": {"S": "other"}}},
    {"UpdateExpression": "SET a = :a SET b = :a", "ExpressionAttributeValues": {":a": {"S": "x"}}},
    {"UpdateExpression": "SET a = :missing"},
]  # fmt: skip


def _run_all() -> list[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        outcomes: list[Any] = []
        for update in UPDATES:
            try:
                client.update_item(TableName="t", Key={"pk": {"S": "k"}}, **update)
                outcomes.append(client.get_item(TableName="t", Key={"pk": {"S": "k"}})["Item"])
            except ClientError as error:
                outcomes.append((error.response["Error"]["Code"], error.response["Error"]["Message"]))
        return outcomes


@pytest.fixture
def stock_and_fast() -> Iterator[tuple[list[Any], list[Any]]]:
    moto_speedups.remove()
    stock = _run_all()
    moto_speedups.apply()
    try:
        yield stock, _run_all()
    finally:
        moto_speedups.remove()


def test_update_expressions_answer_exactly_as_stock_moto(stock_and_fast: tuple[list[Any], list[Any]]) -> None:
    stock, fast = stock_and_fast
    assert fast == stock
    assert stock[2]["unread"] == {"N": "3"} and stock[5]["tags"] == {"L": [{"S": "a"}, {"S": "b"}]}
    errors = [o for o in stock if isinstance(o, tuple)]
    assert [code for code, _ in errors] == ["ValidationException", "ConditionalCheckFailedException"] + [
        "ValidationException"
    ] * 3
    assert "reserved keyword: total" in errors[0][1] and "attribute value: :missing" in errors[-1][1]


def test_the_module_list_is_read_once_and_equals_motos_own() -> None:
    stock = list(backends.list_of_moto_modules())
    moto_speedups.apply()
    try:
        assert list(backends.list_of_moto_modules()) == stock
        assert backends.list_of_moto_modules() is backends.list_of_moto_modules()
    finally:
        moto_speedups.remove()


def _stream_answers() -> list[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="s",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        item = {"pk": {"S": "k"}, "n": {"N": "1.5"}, "b": {"B": b"\x00\xff"}, "ss": {"SS": ["a", "b"]},
                "m": {"M": {"l": {"L": [{"BOOL": True}, {"NULL": True}, {"NS": ["1", "2"]}]}}}}  # fmt: skip
        client.put_item(TableName="s", Item=item)
        client.update_item(TableName="s", Key={"pk": {"S": "k"}}, UpdateExpression="REMOVE ss")
        client.delete_item(TableName="s", Key={"pk": {"S": "k"}})
        streams = boto3.client("dynamodbstreams", region_name="us-east-1")
        arn = client.describe_table(TableName="s")["Table"]["LatestStreamArn"]
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
        answers = []
        for limit in (2, 1000):
            answer = streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=limit)
            answer.pop("ResponseMetadata")
            answers.append(answer)
        return answers


def test_get_records_answers_exactly_as_stock_moto() -> None:
    moto_speedups.remove()
    stock = _stream_answers()
    moto_speedups.apply()
    try:
        fast = _stream_answers()
    finally:
        moto_speedups.remove()
    for answer in (*stock, *fast):  # ids, times and moto's size estimate (it counts the time's text) vary per run
        answer.pop("NextShardIterator")
        for record in answer["Records"]:
            assert isinstance(record.pop("eventID"), str)
            assert record["dynamodb"].pop("ApproximateCreationDateTime").tzinfo is not None
            assert record["dynamodb"].pop("SizeBytes") > 0
    assert fast == stock
    assert [r["eventName"] for r in stock[1]["Records"]] == ["INSERT", "MODIFY", "REMOVE"]
    assert stock[1]["Records"][0]["dynamodb"]["NewImage"]["b"] == {"B": b"\x00\xff"}
