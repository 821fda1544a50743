"""The emulator's speed-ups change no answer: the same update expressions, with and without them."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import backends, mock_aws

from infra.local.moto import expressions as moto_expressions
from infra.local.moto import speedups as moto_speedups
from infra.local.moto import updates as moto_updates

T = TypeVar("T")

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


def _stock_then_fast(run: Callable[[], T]) -> tuple[T, T]:
    """What ``run`` gives on stock moto, then with the speed-ups (which every other test runs on)."""
    moto_speedups.remove()
    try:
        stock = run()
    finally:
        moto_speedups.apply()  # back to what every test runs on
    return stock, run()


def _shard_iterator(client: Any, table: str) -> tuple[Any, str]:
    """A streams client and an iterator at the start of the table's (only) shard."""
    streams = boto3.client("dynamodbstreams", region_name="us-east-1")
    arn = client.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    return streams, iterator["ShardIterator"]


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
def stock_and_fast() -> tuple[list[Any], list[Any]]:
    return _stock_then_fast(_run_all)


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
    moto_speedups.remove()
    try:
        stock = list(backends.list_of_moto_modules())
    finally:
        moto_speedups.apply()  # back to what every test runs on
    assert list(backends.list_of_moto_modules()) == stock
    assert backends.list_of_moto_modules() is backends.list_of_moto_modules()


def _stream_answers() -> list[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        _table(client, "s", stream=True)
        item = {"pk": {"S": "k"}, "n": {"N": "1.5"}, "b": {"B": b"\x00\xff"}, "ss": {"SS": ["a", "b"]},
                "m": {"M": {"l": {"L": [{"BOOL": True}, {"NULL": True}, {"NS": ["1", "2"]}]}}}}  # fmt: skip
        client.put_item(TableName="s", Item=item)
        client.update_item(TableName="s", Key={"pk": {"S": "k"}}, UpdateExpression="REMOVE ss")
        client.delete_item(TableName="s", Key={"pk": {"S": "k"}})
        streams, iterator = _shard_iterator(client, "s")
        answers = []
        for limit in (2, 1000):
            answer = streams.get_records(ShardIterator=iterator, Limit=limit)
            answer.pop("ResponseMetadata")
            answers.append(answer)
        return answers


def test_get_records_answers_exactly_as_stock_moto() -> None:
    stock, fast = _stock_then_fast(_stream_answers)
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


PLAIN_ITEM = {name: value for name, value in ITEM.items() if name not in ("b", "bs")}  # requests moto's parser leaves as they are


def _data_plane_answers(item: dict[str, Any] = ITEM) -> list[Any]:
    """Every data-plane operation the app uses, and their errors, as a client sees them."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        _table(client, "d", sort_key=True)
        key = {"pk": {"S": "k1"}, "sk": {"S": "a"}}
        other = {"pk": {"S": "k1"}, "sk": {"S": "s1"}}
        puts = [{"PutRequest": {"Item": {**item, "sk": {"S": f"s{i}"}}}} for i in range(5)]
        new = {"TableName": "d", "Item": {**item, "sk": {"S": "t"}}, "ConditionExpression": "attribute_not_exists(pk)"}
        k1 = {":p": {"S": "k1"}}
        calls: list[tuple[str, dict[str, Any]]] = [
            ("put_item", {"TableName": "d", "Item": item}),
            ("put_item", {"TableName": "d", "Item": {**item, "n": {"N": "2"}}, "ReturnValues": "ALL_OLD"}),
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


@pytest.mark.parametrize("item", [ITEM, PLAIN_ITEM], ids=["binary values", "no binary values"])
def test_data_plane_answers_exactly_as_stock_moto(item: dict[str, Any]) -> None:
    moto_speedups.remove()
    try:
        stock = _data_plane_answers(item)
    finally:
        moto_speedups.apply()  # back to what every test runs on
    parses = moto_expressions.reused["conditions"]
    moto_speedups._input_members.cache_clear()
    fast = _data_plane_answers(item)
    assert moto_speedups._output_members.cache_info().currsize >= 8  # answered by the fast path
    assert moto_expressions.reused["conditions"] > parses  # the second parse of a request was not redone
    taken_as_is = moto_speedups._input_members.cache_info().currsize  # requests read without moto's parser
    assert fast == stock
    assert taken_as_is >= (8 if item is PLAIN_ITEM else 3)  # with binary values, only those without any
    answers = dict((a[0], a[1]) for a in stock if len(a) == 3)
    assert answers["scan"]["LastEvaluatedKey"]
    if item is ITEM:
        assert answers["get_item"]["Item"]["b"] == {"B": b"\x00\xff"}
    errors = [a[1]["Code"] for a in stock if len(a) == 2]
    no_b = ["ConditionalCheckFailedException"] if item is PLAIN_ITEM else []  # the condition `b = :b` on an item without b
    assert errors == [*no_b, "ConditionalCheckFailedException", "ValidationException", "TransactionCanceledException",
                      "ConditionalCheckFailedException"]  # fmt: skip


def _numbers_as_strings() -> list[Any]:
    """A client without parameter validation can send ``Limit``/``Segment`` as strings; moto's parse makes numbers."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1", config=Config(parameter_validation=False))
        _table(client, "d", sort_key=True)
        for i in range(5):
            client.put_item(TableName="d", Item={"pk": {"S": "k"}, "sk": {"S": f"s{i}"}})
        query = {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "k"}}}
        return [
            len(client.query(TableName="d", Limit="2", **query)["Items"]),
            len(client.scan(TableName="d", Limit="3")["Items"]),
            len(client.scan(TableName="d", Segment="0", TotalSegments="1")["Items"]),
        ]


def test_numbers_sent_as_strings_get_motos_own_parse() -> None:
    stock, fast = _stock_then_fast(_numbers_as_strings)
    assert fast == stock == [2, 3, 5]


def test_a_repeated_update_expression_is_still_refused_every_time() -> None:
    """The shape checks are skipped only for expressions that passed them: a bad one fails again and again."""
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


# Plain SET/ADD updates (infra.local.moto.updates): random sequences, with and without the fast path.
NAMES = ("a", "b", "n", "c", "d", "pk", "g")  # pk: the table's key; g: an index's key
VALUES = ({"N": "1"}, {"N": "-2"}, {"N": "1.50"}, {"N": "7"}, {"S": "x"}, {"S": "y"}, {"SS": ["p"]}, {"NS": ["3"]},
          {"BOOL": True}, {"L": [{"S": "l"}]})  # fmt: skip
CONDITIONS = (None, "attribute_not_exists(#n0)", "attribute_exists(#n0)", "#n0 < :v0", "#n0 = :v0 OR attribute_not_exists(#n0)")
RETURNS = ("NONE", "ALL_NEW", "ALL_OLD", "UPDATED_NEW", "UPDATED_OLD")
clause_items = st.lists(st.tuples(st.sampled_from(NAMES), st.sampled_from(VALUES)), min_size=1, max_size=2)
one_update = st.fixed_dictionaries({
    "key": st.sampled_from(("k1", "k2")),
    "set": st.one_of(st.none(), clause_items),
    "add": st.one_of(st.none(), clause_items),
    "add_first": st.booleans(),
    "condition": st.sampled_from(CONDITIONS),
    "returns": st.sampled_from(RETURNS),
    "old_on_failure": st.booleans(),
}).filter(lambda u: u["set"] or u["add"])  # fmt: skip


def _request(update: dict[str, Any]) -> dict[str, Any]:
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    clauses = {}
    for verb in ("set", "add"):
        parts = []
        for name, value in update[verb] or []:
            n, v = f"#n{len(names)}", f":v{len(values)}"
            names[n], values[v] = name, value
            parts.append(f"{n} = {v}" if verb == "set" else f"{n} {v}")
        if parts:
            clauses[verb] = f"{verb.upper()} {', '.join(parts)}"
    order = ("add", "set") if update["add_first"] else ("set", "add")
    request: dict[str, Any] = {
        "UpdateExpression": " ".join(clauses[v] for v in order if v in clauses),
        "ExpressionAttributeNames": names, "ExpressionAttributeValues": values, "ReturnValues": update["returns"],
    }  # fmt: skip
    if update["condition"]:
        request["ConditionExpression"] = update["condition"]
    if update["old_on_failure"]:
        request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    return request


def _replay(updates: list[dict[str, Any]]) -> tuple[list[Any], list[Any], list[Any]]:
    """Each update's answer or error, then the table's items and its stream's records (ids and times left out)."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="u", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "g", "AttributeType": "S"}],
            GlobalSecondaryIndexes=[{"IndexName": "g-index", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                     "Projection": {"ProjectionType": "ALL"}}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )  # fmt: skip
        client.put_item(TableName="u", Item={"pk": {"S": "k1"}, "n": {"N": "5"}, "b": {"S": "text"}})
        answers: list[Any] = []
        for update in updates:
            try:
                answer = client.update_item(TableName="u", Key={"pk": {"S": update["key"]}}, **_request(update))
                answer.pop("ResponseMetadata")
                answers.append(answer)
            except ClientError as error:
                answers.append((error.response["Error"], error.response.get("Item")))
            except TypeError as error:  # moto's own crash comparing a string with a number (`n < :v`)
                answers.append(("raised", str(error)))
        items = sorted(client.scan(TableName="u")["Items"], key=lambda i: i["pk"]["S"])
        streams, iterator = _shard_iterator(client, "u")
        records = streams.get_records(ShardIterator=iterator, Limit=1000)["Records"]
        kept = [(r["eventName"], r["dynamodb"].get("Keys"), r["dynamodb"].get("OldImage"), r["dynamodb"].get("NewImage"))
                for r in records]  # fmt: skip
        return answers, items, kept


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(one_update, min_size=1, max_size=6))
def test_plain_updates_answer_store_and_stream_exactly_as_stock_moto(updates: list[dict[str, Any]]) -> None:
    stock, fast = _stock_then_fast(lambda: _replay(updates))
    assert fast == stock


def test_plain_updates_take_the_fast_path_and_count_exactly() -> None:
    """The counts updates' shape is applied without moto's walks, and a condition still refuses."""
    plain = {"key": "k1", "set": None, "add_first": False, "condition": None, "returns": "ALL_NEW", "old_on_failure": False}
    updates = [
        {**plain, "add": [("b", {"N": "1"})]},  # ADD onto a string: moto's own error
        {**plain, "set": [("a", {"S": "x"})], "add": [("n", {"N": "2"})]},
        {**plain, "add": [("n", {"N": "1.50"})], "condition": "#n0 < :v0", "returns": "UPDATED_OLD", "old_on_failure": True},
        {**plain, "key": "k2", "add": [("n", {"N": "3"})], "condition": "attribute_not_exists(#n0)"},  # creates k2
    ]
    before = moto_updates.taken["fast"]
    answers, items, records = _replay(updates)
    assert moto_updates.taken["fast"] - before == 3  # the first update fails over to moto: ADD onto a string
    assert answers[0][0]["Code"] == "ValidationException"
    assert answers[1]["Attributes"] == {"pk": {"S": "k1"}, "n": {"N": "7"}, "b": {"S": "text"}, "a": {"S": "x"}}
    assert answers[2][0]["Code"] == "ConditionalCheckFailedException" and answers[2][1]["n"] == {"N": "7"}
    assert answers[3]["Attributes"] == {"pk": {"S": "k2"}, "n": {"N": "3"}}
    assert [r[0] for r in records] == ["INSERT", "MODIFY", "INSERT", "INSERT"]  # moto puts a created item's key first
    assert items[0]["n"] == {"N": "7"} and items[1] == {"pk": {"S": "k2"}, "n": {"N": "3"}}


def _size_answers() -> list[Any]:
    """Items and updates around the 400 KB limit: what is refused, what is stored, what the stream says."""
    big = "x" * 200_000
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        _table(client, "z", stream=True)
        answers: list[Any] = []
        calls: list[tuple[str, dict[str, Any]]] = [
            ("put_item", {"Item": {"pk": {"S": "a"}, "b1": {"S": big}, "b2": {"S": big}, "n": {"N": "1"}}}),
            ("put_item", {"Item": {"pk": {"S": "b"}, "b1": {"S": big}, "b2": {"S": big + "y" * 6_000}}}),
            ("update_item", {"Key": {"pk": {"S": "a"}}, "UpdateExpression": "ADD #n :one SET #c = :c",
                             "ExpressionAttributeNames": {"#n": "n", "#c": "c"},
                             "ExpressionAttributeValues": {":one": {"N": "1"}, ":c": {"S": "y" * 4_000}}}),
            ("update_item", {"Key": {"pk": {"S": "a"}}, "UpdateExpression": "SET #c = :c ADD #n :one",
                             "ExpressionAttributeNames": {"#n": "n", "#c": "c"},
                             "ExpressionAttributeValues": {":one": {"N": "1"}, ":c": {"S": "y" * 5_000}}}),
            ("update_item", {"Key": {"pk": {"S": "a"}}, "UpdateExpression": "SET #b = :b",
                             "ExpressionAttributeNames": {"#b": "b1"}, "ExpressionAttributeValues": {":b": {"S": "small"}}}),
        ]  # fmt: skip
        for name, arguments in calls:
            try:
                getattr(client, name)(TableName="z", **arguments)
                answers.append(
                    client.get_item(TableName="z", Key={"pk": arguments.get("Key", arguments.get("Item", {}))["pk"]})["Item"]
                )
            except ClientError as error:
                answers.append(error.response["Error"])
        streams, iterator = _shard_iterator(client, "z")
        records = streams.get_records(ShardIterator=iterator)["Records"]
        answers.append([(r["eventName"], sorted(r["dynamodb"].get("NewImage", {}))) for r in records])
        return answers


def test_the_size_limit_refuses_the_same_writes_as_stock_moto() -> None:
    stock, fast = _stock_then_fast(_size_answers)
    assert fast == stock
    refused = [a.get("Code") for a in stock[:-1] if "Code" in a]
    assert refused == ["ValidationException", "ValidationException"], stock  # the second put, the 5 KB update
    assert stock[2]["n"] == {"N": "2"} and stock[4]["b1"] == {"S": "small"}


def _odd_value_answers() -> list[Any]:
    """A value of the wrong JSON type (only a client without parameter validation sends one), then a plain update."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1", config=Config(parameter_validation=False))
        _table(client, "o")
        client.put_item(TableName="o", Item={"pk": {"S": "k"}, "n": {"N": "1"}})
        answers: list[Any] = []
        for value, condition in (({"S": 5}, "attribute_not_exists(#c)"), ({"S": "ok"}, "attribute_exists(#c)")):
            try:
                client.update_item(TableName="o", Key={"pk": {"S": "k"}}, UpdateExpression="SET #a = :a",
                                   ConditionExpression=condition, ExpressionAttributeNames={"#a": "a", "#c": "n"},
                                   ExpressionAttributeValues={":a": value})  # fmt: skip
                answers.append(client.get_item(TableName="o", Key={"pk": {"S": "k"}})["Item"])
            except ClientError as error:
                answers.append(error.response["Error"]["Code"])
        return answers


def test_a_value_of_the_wrong_type_gets_motos_own_answer() -> None:
    stock, fast = _stock_then_fast(_odd_value_answers)
    assert fast == stock
    assert stock == ["ConditionalCheckFailedException", {"pk": {"S": "k"}, "n": {"N": "1"}, "a": {"S": "ok"}}]


def test_kept_condition_parses_survive_many_threads_evicting_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """In process, delivery's pools call moto from many threads: two evicting the same oldest parse raised KeyError."""
    monkeypatch.setattr(moto_expressions, "CONDITIONS_KEPT", 1)  # every new parse evicts one
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switch as often as they can: the race shows at once
    parser = moto_expressions.comparisons.ConditionExpressionParser
    errors: list[BaseException] = []

    def parse_many(worker: int) -> None:
        try:
            for n in range(300):
                parser("#a < :v", {"#a": "seq"}, {":v": {"S": f"{worker}-{n}"}}).parse()
        except BaseException as error:  # the assertion below names it
            errors.append(error)

    threads = [threading.Thread(target=parse_many, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
