"""The local stack's fault plan counts, per kind, the calls it could have hit and its hits, in one place."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from infra.local.dynamodb_faults import DynamoFaults
from infra.local.faults import FaultPlan, figures


def test_each_share_kind_counts_its_draws_and_its_hits() -> None:
    """A post meets ``gone`` first: ``throttle`` is drawn only for the posts ``gone`` spared."""
    plan = FaultPlan.parse("gone=0.5,throttle=0.5,error=0,seed=1")
    met = [plan.post_fault() for _ in range(1000)]
    assert plan.calls["gone"] == 1000
    assert plan.hits["gone"] == met.count("gone")
    assert plan.calls["throttle"] == 1000 - met.count("gone")
    assert plan.hits["throttle"] == met.count("throttle")
    assert "error" not in plan.calls  # a share of 0 is off: no call could meet it


def test_kinds_are_the_shares_set_then_the_rates_set() -> None:
    plan = FaultPlan.parse("replay=3,hotkey=20,error=0,duplicate=0.2,gone=0.06")
    assert plan.kinds == ["gone", "duplicate", "hotkey", "replay"]
    assert not FaultPlan.parse("gone=0").active


def test_the_summary_reads_back_as_calls_and_hits() -> None:
    plan = FaultPlan()
    for hit in (True, False, False):
        plan.tally("conflict", hit)
    plan.tally("replay", True)
    assert plan.summary() == "faults injected: conflict=1/3, replay=1/1"
    assert figures(f"fault injection on: …\n{plan.summary()}\nstopped\n") == {"conflict": (3, 1), "replay": (1, 1)}
    assert figures("no summary here") is None


def test_a_runtimes_counts_are_handed_over_once_and_added() -> None:
    """The Lambda runtime's own plan hands its counts over with each answer; the stack's adds them up."""
    stack, runtime = FaultPlan(), FaultPlan()
    stack.tally("dynamodb", False)
    runtime.tally("dynamodb", True)
    stack.add_counts(runtime.take_counts())
    assert runtime.take_counts() == {}
    assert (stack.calls["dynamodb"], stack.hits["dynamodb"]) == (2, 1)


@pytest.fixture
def hot_table() -> Iterator[tuple[Any, FaultPlan]]:
    """Table ``t`` on moto, its client hooked with a limit of 2 write units a second per key; no botocore retries."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1", config=Config(retries={"total_max_attempts": 1}))
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk")],
            BillingMode="PAY_PER_REQUEST",
        )
        plan = FaultPlan.parse("hotkey=2")
        DynamoFaults(plan.hit, plan.tally, plan.hot_key_units).install([client])
        yield client, plan


def _item(sort: str) -> dict[str, Any]:
    return {"pk": {"S": "hot"}, "sk": {"S": sort}}


def test_a_write_beyond_its_keys_limit_is_one_hot_key_hit(hot_table: tuple[Any, FaultPlan]) -> None:
    client, plan = hot_table
    client.put_item(TableName="t", Item=_item("a"))
    client.put_item(TableName="t", Item=_item("b"))
    with pytest.raises(ClientError, match="ProvisionedThroughputExceededException"):
        client.put_item(TableName="t", Item=_item("c"))
    assert (plan.calls["hotkey"], plan.hits["hotkey"]) == (3, 1)


def test_a_write_costing_more_than_the_limit_goes_through_on_a_quiet_key_and_leaves_it_in_debt(
    hot_table: tuple[Any, FaultPlan],
) -> None:
    """Below one write's units, the limit would refuse that write for ever: no partition does."""
    client, plan = hot_table
    large = {**_item("a"), "body": {"S": "x" * 2500}}  # 3 units
    client.put_item(TableName="t", Item=large)
    with pytest.raises(ClientError, match="ProvisionedThroughputExceededException"):
        client.put_item(TableName="t", Item=_item("b"))
    assert (plan.calls["hotkey"], plan.hits["hotkey"]) == (2, 1)


def test_a_transaction_of_several_items_of_one_key_goes_through_once_the_key_is_quiet(
    hot_table: tuple[Any, FaultPlan],
) -> None:
    """Found by ``make chaos`` marking all read 7 messages a call: each item of a refused attempt spent its
    units before the refusal, so every retry drained the key again and the transaction never went through."""
    client, _ = hot_table
    transaction = [{"Put": {"TableName": "t", "Item": _item(sort)}} for sort in "abc"]  # 6 units on a key of 2
    with pytest.raises(ClientError, match="ProvisionedThroughputExceededException"):
        client.put_item(TableName="t", Item=_item("z"))  # 1 unit: the key has 1 left
        client.transact_write_items(TransactItems=transaction)
    time.sleep(0.6)  # the key fills up again (2 units a second)
    client.transact_write_items(TransactItems=transaction)
    assert len(client.scan(TableName="t")["Items"]) == 4


def test_a_batch_partly_beyond_the_limit_is_one_call_and_one_hit(hot_table: tuple[Any, FaultPlan]) -> None:
    client, plan = hot_table
    requests = [{"PutRequest": {"Item": _item(sort)}} for sort in "abc"]
    answer = client.batch_write_item(RequestItems={"t": requests})
    assert answer["UnprocessedItems"] == {"t": requests[2:]}
    assert (plan.calls["hotkey"], plan.hits["hotkey"]) == (1, 1)


def test_botocore_retries_an_injected_throttle_as_it_retries_aws_throttling() -> None:
    """AWS throttles one attempt, and botocore tries again (standard mode: 4 attempts): an injected throttle too.

    Injected in place of the whole call, it skipped botocore's retries and every throttle reached the app:
    at ``dynamodb=0.06``, 6 % of all calls, where AWS would let 0.06⁴ of them through.
    """
    draws = iter([True, False])  # the first attempt throttled, the retry not
    drawn: list[bool] = []

    def hit(name: str) -> bool:
        drawn.extend([next(draws)] if name == "dynamodb" else [])
        return name == "dynamodb" and drawn[-1]

    with mock_aws():
        client = boto3.client(
            "dynamodb", region_name="us-east-1", config=Config(retries={"mode": "standard", "total_max_attempts": 4})
        )
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        DynamoFaults(hit, lambda name, hit: None, 0.0).install([client])
        answer = client.get_item(TableName="t", Key={"pk": {"S": "a"}})
    assert answer["ResponseMetadata"]["RetryAttempts"] == 1
    assert drawn == [True, False]
