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


def _table(client: Any, name: str, *, sort_key: bool = False, stream: bool = False) -> None:
    keys = ["pk", "sk"] if sort_key else ["pk"]
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": key, "KeyType": kind} for key, kind in zip(keys, ("HASH", "RANGE"), strict=False)],
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"} for key in keys],
        BillingMode="PAY_PER_REQUEST",
        **({"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}} if stream else {}),
    )


def _run_all() -> list[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        _table(client, "t")
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
        _table(client, "s", stream=True)
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


ITEM = {"pk": {"S": "k1"}, "sk": {"S": "a"}, "n": {"N": "1.5"}, "b": {"B": b"\x00\xff"}, "bs": {"BS": [b"\x01", b"\x02"]},
        "ss": {"SS": ["x", "y"]}, "ns": {"NS": ["1", "2"]}, "ok": {"BOOL": False}, "none": {"NULL": True},
        "m": {"M": {"l": {"L": [{"S": "deep"}, {"N": "7"}]}}}}  # fmt: skip


def _data_plane_answers() -> list[Any]:
    """Every data-plane operation the app uses, and their errors, as a client sees them."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        _table(client, "d", sort_key=True)
        key = {"pk": {"S": "k1"}, "sk": {"S": "a"}}
        other = {"pk": {"S": "k1"}, "sk": {"S": "s1"}}
        puts = [{"PutRequest": {"Item": {**ITEM, "sk": {"S": f"s{i}"}}}} for i in range(5)]
        new = {"TableName": "d", "Item": {**ITEM, "sk": {"S": "t"}}, "ConditionExpression": "attribute_not_exists(pk)"}
        k1 = {":p": {"S": "k1"}}
        calls: list[tuple[str, dict[str, Any]]] = [
            ("put_item", {"TableName": "d", "Item": ITEM}),
            ("put_item", {"TableName": "d", "Item": {**ITEM, "n": {"N": "2"}}, "ReturnValues": "ALL_OLD"}),
            ("get_item", {"TableName": "d", "Key": key}),
            ("get_item", {"TableName": "d", "Key": {"pk": {"S": "none"}, "sk": {"S": "a"}}}),
            ("get_item", {"TableName": "d", "Key": key, "ProjectionExpression": "b, m.l[0]"}),
            ("update_item", {"TableName": "d", "Key": key, "UpdateExpression": "ADD n :one SET #s = :s",
                             "ExpressionAttributeNames": {"#s": "status"},
                             "ExpressionAttributeValues": {":one": {"N": "1"}, ":s": {"S": "read"}}, "ReturnValues": "ALL_NEW"}),
            ("update_item", {"TableName": "d", "Key": key, "UpdateExpression": "REMOVE ss", "ReturnValues": "UPDATED_OLD"}),
            ("update_item", {"TableName": "d", "Key": key, "UpdateExpression": "SET hit = :b", "ConditionExpression": "b = :b",
                             "ExpressionAttributeValues": {":b": {"B": b"\x00\xff"}}, "ReturnValues": "ALL_NEW"}),
            ("update_item", {"TableName": "d", "Key": key, "UpdateExpression": "SET n = :n", "ConditionExpression": "n < :n",
                             "ExpressionAttributeValues": {":n": {"N": "0"}}}),
            ("update_item", {"TableName": "d", "Key": key, "UpdateExpression": "SET n = :n", "ConditionExpression": "n < :n",
                             "ExpressionAttributeValues": {":n": {"N": "0"}, ":extra": {"N": "1"}}}),
            ("batch_write_item", {"RequestItems": {"d": puts}}),
            ("batch_get_item", {"RequestItems": {"d": {"Keys": [key, other], "ConsistentRead": True}}}),
            ("query", {"TableName": "d", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": k1, "Limit": 2}),
            ("query", {"TableName": "d", "KeyConditionExpression": "pk = :p AND sk > :s", "Select": "COUNT",
                       "ExpressionAttributeValues": {":p": {"S": "k1"}, ":s": {"S": "s2"}}}),
            ("scan", {"TableName": "d", "Limit": 3}),
            ("transact_write_items", {"TransactItems": [
                {"Put": new},
                {"ConditionCheck": {"TableName": "d", "Key": key, "ConditionExpression": "attribute_exists(pk)"}}]}),
            ("transact_write_items", {"TransactItems": [
                {"Put": new}]}),
            ("transact_get_items", {"TransactItems": [{"Get": {"TableName": "d", "Key": key}}]}),
            ("delete_item", {"TableName": "d", "Key": key, "ReturnValues": "ALL_OLD"}),
            ("delete_item", {"TableName": "d", "Key": key, "ConditionExpression": "attribute_exists(pk)"}),
        ]  # fmt: skip
        answers: list[Any] = []
        for name, parameters in calls:
            try:
                answer = getattr(client, name)(**parameters)
                headers = answer.pop("ResponseMetadata")["HTTPHeaders"]
                answers.append((name, answer, headers.get("content-type")))
            except ClientError as error:
                answers.append((name, error.response["Error"]))
        return answers


def test_data_plane_answers_exactly_as_stock_moto() -> None:
    moto_speedups.remove()
    stock = _data_plane_answers()
    moto_speedups.apply()
    try:
        parses = moto_speedups.reused["conditions"]
        fast = _data_plane_answers()
        assert moto_speedups._output_members.cache_info().currsize >= 8  # answered by the fast path
        assert moto_speedups.reused["conditions"] > parses  # the second parse of a request was not redone
    finally:
        moto_speedups.remove()
    assert fast == stock
    answers = dict((a[0], a[1]) for a in stock if len(a) == 3)
    assert answers["get_item"]["Item"]["b"] == {"B": b"\x00\xff"} and answers["scan"]["LastEvaluatedKey"]
    errors = [a[1]["Code"] for a in stock if len(a) == 2]
    assert errors == ["ConditionalCheckFailedException", "ValidationException", "TransactionCanceledException",
                      "ConditionalCheckFailedException"]  # fmt: skip


def test_a_repeated_update_expression_is_still_refused_every_time() -> None:
    """The shape checks are skipped only for expressions that passed them: a bad one fails again and again."""
    moto_speedups.apply()
    try:
        with mock_aws():
            client = boto3.client("dynamodb", region_name="us-east-1")
            _table(client, "t")
            good = {"UpdateExpression": "SET #a = :v", "ExpressionAttributeValues": {":v": {"S": "x"}}}
            for name, refused in (("a", False), ("pk", True), ("a", False), ("pk", True)):
                try:
                    client.update_item(TableName="t", Key={"pk": {"S": "k"}}, ExpressionAttributeNames={"#a": name}, **good)
                    assert not refused
                except ClientError as error:
                    assert refused and error.response["Error"]["Code"] == "ValidationException"
            for _ in range(2):
                with pytest.raises(ClientError, match="Two document paths overlap"):
                    client.update_item(TableName="t", Key={"pk": {"S": "k"}}, UpdateExpression="SET a = :v, a = :v",
                                       ExpressionAttributeValues={":v": {"S": "x"}})  # fmt: skip
    finally:
        moto_speedups.remove()
