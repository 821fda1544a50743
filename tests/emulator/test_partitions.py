"""A Query that reads its partition only (`infra.local.moto.partitions`) answers exactly as stock moto does."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.local.moto import partitions as moto_partitions
from infra.local.moto import speedups as moto_speedups

KEYS = [f"u{n}" for n in range(5)]


def _tables(client: Any) -> None:
    client.create_table(
        TableName="ranged",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk", "gpk", "gsk")],
        GlobalSecondaryIndexes=[
            {"IndexName": "by-g", "Projection": {"ProjectionType": "ALL"},
             "KeySchema": [{"AttributeName": "gpk", "KeyType": "HASH"}, {"AttributeName": "gsk", "KeyType": "RANGE"}]},
            {"IndexName": "by-g-only", "Projection": {"ProjectionType": "KEYS_ONLY"},
             "KeySchema": [{"AttributeName": "gpk", "KeyType": "HASH"}]},
        ],
        BillingMode="PAY_PER_REQUEST",
    )  # fmt: skip
    client.create_table(
        TableName="flat",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    shuffle = random.Random(5)
    for n in range(300):
        item = {"pk": {"S": shuffle.choice(KEYS)}, "sk": {"S": f"{shuffle.randrange(10_000):05d}"}, "n": {"N": str(n)}}
        if shuffle.random() < 0.8:  # the rest are not in the indexes
            item["gpk"] = {"S": shuffle.choice(KEYS[:3])}
            item["gsk"] = {"S": shuffle.choice("abcdef")}  # equal index keys: the table's keys order them
        client.put_item(TableName="ranged", Item=item)
    for key in KEYS:
        client.put_item(TableName="flat", Item={"pk": {"S": key}, "n": {"N": "1"}})


def _pages(client: Any, **query: Any) -> list[dict[str, Any]]:
    answers, start = [], None
    while True:
        answer = client.query(**query, **({"ExclusiveStartKey": start} if start else {}))
        answer.pop("ResponseMetadata")
        answers.append(answer)
        start = answer.get("LastEvaluatedKey")
        if not start:
            return answers


def _stock_pages(client: Any, **query: Any) -> list[dict[str, Any]]:
    """The pages stock moto answers the query with (the speed-ups off for it, then on again)."""
    moto_speedups.remove()
    try:
        return _pages(client, **query)
    finally:
        moto_speedups.apply()  # back to what every test runs on


@contextmanager
def _all_items_sizes() -> Iterator[list[int]]:
    """Within the block, how many items each ``Table.all_items`` call gave (one per Query or Scan)."""
    table = moto_partitions.table_models.Table
    sizes: list[int] = []
    original = table.all_items

    def counted(self: Any) -> list[Any]:
        found: list[Any] = original(self)
        sizes.append(len(found))
        return found

    table.all_items = counted
    try:
        yield sizes
    finally:
        table.all_items = original


QUERIES: list[dict[str, Any]] = [
    {"TableName": "ranged", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "u1"}}},
    {"TableName": "ranged", "KeyConditionExpression": "pk = :p AND sk < :s", "Limit": 7, "ScanIndexForward": False,
     "ExpressionAttributeValues": {":p": {"S": "u2"}, ":s": {"S": "05000"}}},
    {"TableName": "ranged", "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)", "Limit": 3,
     "ExpressionAttributeValues": {":p": {"S": "u3"}, ":s": {"S": "0"}}},
    {"TableName": "ranged", "KeyConditionExpression": "pk = :p", "FilterExpression": "n > :n", "Limit": 10,
     "ExpressionAttributeValues": {":p": {"S": "u0"}, ":n": {"N": "150"}}},
    {"TableName": "ranged", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "nobody"}}},
    {"TableName": "ranged", "IndexName": "by-g", "KeyConditionExpression": "gpk = :g", "Limit": 9,
     "ExpressionAttributeValues": {":g": {"S": "u1"}}},
    {"TableName": "ranged", "IndexName": "by-g", "KeyConditionExpression": "gpk = :g AND gsk > :s",
     "ScanIndexForward": False, "Limit": 11, "ExpressionAttributeValues": {":g": {"S": "u0"}, ":s": {"S": "b"}}},
    {"TableName": "ranged", "IndexName": "by-g", "KeyConditionExpression": "gpk = :g AND begins_with(gsk, :s)",
     "FilterExpression": "n < :n", "Limit": 5, "ExpressionAttributeValues": {":g": {"S": "u2"}, ":s": {"S": "c"},
                                                                             ":n": {"N": "200"}}},
    {"TableName": "ranged", "IndexName": "by-g", "KeyConditionExpression": "gpk = :g AND gsk BETWEEN :a AND :b",
     "ScanIndexForward": False, "ExpressionAttributeValues": {":g": {"S": "u1"}, ":a": {"S": "b"}, ":b": {"S": "d"}}},
    {"TableName": "ranged", "IndexName": "by-g-only", "KeyConditionExpression": "gpk = :g", "Limit": 13,
     "ExpressionAttributeValues": {":g": {"S": "u2"}}},
    {"TableName": "flat", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "u4"}}},
    {"TableName": "flat", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "none"}}},
]  # fmt: skip


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: q.get("IndexName", q["TableName"]))
def test_a_query_answers_as_stock_moto_page_by_page(query: dict[str, Any]) -> None:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        _tables(client)
        stock = _stock_pages(client, **query)
        assert moto_partitions.table_models.Table.query is moto_partitions._query  # installed again
        assert _pages(client, **query) == stock
        unknown = query["ExpressionAttributeValues"][":p" if ":p" in query["ExpressionAttributeValues"] else ":g"]
        assert (sum(answer["Count"] for answer in stock) == 0) == (unknown["S"] in ("nobody", "none"))


def test_a_query_reads_its_partition_and_a_scan_the_whole_table_sorted() -> None:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        _tables(client)
        with _all_items_sizes() as calls:
            client.query(TableName="ranged", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "u1"}})
            scanned = client.scan(TableName="ranged")["Items"]
        in_partition = len(client.query(
            TableName="ranged", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "u1"}}
        )["Items"])  # fmt: skip
        assert calls == [in_partition, 300]
        assert [(i["pk"]["S"], i["sk"]["S"]) for i in scanned] == sorted((i["pk"]["S"], i["sk"]["S"]) for i in scanned)


def test_random_index_queries_answer_as_stock_moto_page_by_page() -> None:
    """Sixty drawn index Queries (key, sort-key condition, filter, limit, direction), every page compared."""
    draw = random.Random(11)
    conditions = [
        ("", {}),
        (" AND gsk < :a", {":a": {"S": "c"}}),
        (" AND gsk >= :a", {":a": {"S": "d"}}),
        (" AND begins_with(gsk, :a)", {":a": {"S": "e"}}),
        (" AND gsk BETWEEN :a AND :b", {":a": {"S": "b"}, ":b": {"S": "e"}}),
    ]
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        _tables(client)
        for _ in range(60):
            text, values = draw.choice(conditions)
            query: dict[str, Any] = {
                "TableName": "ranged", "IndexName": "by-g", "KeyConditionExpression": "gpk = :g" + text,
                "ExpressionAttributeValues": {":g": {"S": draw.choice(KEYS)}, **values},
                "ScanIndexForward": draw.random() < 0.5,
            }  # fmt: skip
            if draw.random() < 0.8:
                query["Limit"] = draw.randint(1, 25)
            if draw.random() < 0.3:
                query["FilterExpression"] = "n > :n"
                query["ExpressionAttributeValues"][":n"] = {"N": str(draw.randrange(300))}
            assert _pages(client, **query) == _stock_pages(client, **query), query


def test_random_table_queries_answer_as_stock_moto_page_by_page() -> None:
    """Sixty drawn base-table Queries with a limit (given only what their page holds), every page compared."""
    draw = random.Random(13)
    conditions = [
        ("", {}),
        (" AND sk < :a", {":a": {"S": "04000"}}),
        (" AND sk >= :a", {":a": {"S": "06000"}}),
        (" AND begins_with(sk, :a)", {":a": {"S": "0"}}),
        (" AND sk BETWEEN :a AND :b", {":a": {"S": "02000"}, ":b": {"S": "07000"}}),
    ]
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        _tables(client)
        for _ in range(60):
            text, values = draw.choice(conditions)
            query: dict[str, Any] = {
                "TableName": "ranged", "KeyConditionExpression": "pk = :p" + text, "Limit": draw.randint(1, 25),
                "ExpressionAttributeValues": {":p": {"S": draw.choice([*KEYS, "nobody"])}, **values},
                "ScanIndexForward": draw.random() < 0.5,
            }  # fmt: skip
            if draw.random() < 0.3:
                query["FilterExpression"] = "n > :n"
                query["ExpressionAttributeValues"][":n"] = {"N": str(draw.randrange(300))}
            assert _pages(client, **query) == _stock_pages(client, **query), query


def test_a_table_query_with_a_limit_is_given_its_page_not_its_partition() -> None:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        _tables(client)
        with _all_items_sizes() as calls:
            page = client.query(
                TableName="ranged", KeyConditionExpression="pk = :p", Limit=4, ExpressionAttributeValues={":p": {"S": "u1"}}
            )
        assert (len(page["Items"]), "LastEvaluatedKey" in page) == (4, True)
        assert calls == [5]  # the page and the item that says there is more, of the partition's ~60


def test_table_queries_between_writes_answer_as_stock_moto() -> None:
    """Keys come and go (puts, overwrites, deletes, a refused transaction) between drawn Queries: the partition's
    kept order (`infra.local.moto.ordered`) follows every change, every page compared with stock moto's."""
    draw = random.Random(17)
    conditions = [
        ("", {}),
        (" AND sk = :a", {":a": {"S": "00042"}}),
        (" AND sk <= :a", {":a": {"S": "05000"}}),
        (" AND sk > :a", {":a": {"S": "05000"}}),
        (" AND begins_with(sk, :a)", {":a": {"S": "00"}}),
        (" AND begins_with(sk, :a)", {":a": {"S": "0"}}),
        (" AND sk BETWEEN :a AND :b", {":a": {"S": "01000"}, ":b": {"S": "03000"}}),
    ]
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        _tables(client)
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        from infra.local.moto.ordered import Partition

        table = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].tables["ranged"]
        assert all(isinstance(partition, Partition) for partition in table.items.values())  # the kept order is used
        for step in range(150):
            key = {"pk": {"S": draw.choice(KEYS[:2])}, "sk": {"S": f"{draw.randrange(100):05d}"}}
            roll = draw.random()
            if roll < 0.35:
                client.put_item(TableName="ranged", Item={**key, "n": {"N": str(step)}})
            elif roll < 0.55:
                client.delete_item(TableName="ranged", Key=key)
            elif roll < 0.6:  # refused as a whole: the emulator puts back what it had written
                with pytest.raises(client.exceptions.TransactionCanceledException):
                    client.transact_write_items(TransactItems=[
                        {"Put": {"TableName": "ranged", "Item": {**key, "n": {"N": "-1"}}}},
                        {"Put": {"TableName": "ranged", "Item": {"pk": {"S": "u0"}, "sk": {"S": "x"}},
                                 "ConditionExpression": "attribute_exists(nothing)"}},
                    ])  # fmt: skip
            else:
                text, values = draw.choice(conditions)
                query: dict[str, Any] = {
                    "TableName": "ranged", "KeyConditionExpression": "pk = :p" + text, "Limit": draw.randint(1, 12),
                    "ExpressionAttributeValues": {":p": key["pk"], **values}, "ScanIndexForward": draw.random() < 0.5,
                }  # fmt: skip
                assert _pages(client, **query) == _stock_pages(client, **query), (step, query)
