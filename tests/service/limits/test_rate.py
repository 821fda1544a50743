"""The token bucket per key in the connections table: exact across containers, one write per request, on an injected clock."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.limits import RateLimit, RateLimiter
from chalicelib.storage import dynamo as storage
from chalicelib.storage.tables import Connection
from tests.faults import throttled
from tests.service.limits.clock import START, Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def calls(tables: None) -> Iterator[Counter[str]]:
    """DynamoDB calls by operation, on every model's client."""
    counted: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        counted[model.name] += 1

    clients = storage.botocore_clients()
    for client in clients:
        client.meta.events.register("before-call.dynamodb", count)
    yield counted
    for client in clients:
        client.meta.events.unregister("before-call.dynamodb", count)


def limiter(clock: Clock, rate: int = 20, burst: int = 100) -> RateLimiter:
    return RateLimiter(RateLimit(rate, burst), clock=clock)


def test_a_burst_passes_at_once_then_one_request_per_interval(calls: Counter[str], clock: Clock) -> None:
    limits = limiter(clock)
    assert [limits.admit("user#a") for _ in range(100)] == [0] * 100
    assert limits.admit("user#a") == 1  # Retry-After: the 50 ms to the next token, in whole seconds
    clock.now += 0.05
    assert (limits.admit("user#a"), limits.admit("user#a")) == (0, 1)
    clock.now += 5.0  # 100 intervals: the bucket is full again
    assert [limits.admit("user#a") for _ in range(101)] == [0] * 100 + [1]


def test_a_steady_client_at_the_rate_is_never_refused_and_one_above_it_gets_the_rate(calls: Counter[str], clock: Clock) -> None:
    limits = limiter(clock)
    for _ in range(100):
        limits.admit("user#a")  # the burst spent
    steady = []
    for step in range(1, 201):  # 10 s at 20 a second
        clock.now = START + step * 0.05
        steady.append(limits.admit("user#a"))
    assert steady == [0] * 200
    admitted = 0
    for step in range(1, 401):  # the next 10 s at 40 a second: 20 a second get through
        clock.now = START + 10 + step * 0.025
        admitted += limits.admit("user#a") == 0
    assert admitted == 200


def test_other_keys_are_unaffected(calls: Counter[str], clock: Clock) -> None:
    limits = limiter(clock)
    for _ in range(100):
        limits.admit("user#a")
    assert limits.admit("user#a") == 1
    assert [limits.admit("user#b") for _ in range(100)] == [0] * 100
    assert limits.admit("conn#a") == 0


def test_containers_share_one_bucket_exactly(calls: Counter[str], clock: Clock) -> None:
    """Three containers, requests dealt round-robin: together they admit the burst, not three bursts."""
    containers = [limiter(clock) for _ in range(3)]
    answers = [containers[i % 3].admit("user#a") for i in range(300)]
    assert answers.count(0) == 100
    clock.now += 1.0
    answers = [containers[i % 3].admit("user#a") for i in range(60)]
    assert answers.count(0) == 20


def test_an_admitted_request_costs_one_write_and_a_refusal_the_container_knows_costs_none(
    calls: Counter[str], clock: Clock
) -> None:
    limits = limiter(clock)
    limits.admit("user#a")  # a new key: the "full bucket" write
    calls.clear()
    for _ in range(99):
        limits.admit("user#a")
    assert calls == {"UpdateItem": 99}
    calls.clear()
    assert [limits.admit("user#a") for _ in range(50)] == [1] * 50
    assert calls == {}


def test_a_container_that_guessed_wrong_pays_one_more_call_and_learns(calls: Counter[str], clock: Clock) -> None:
    """A container new to a key takes its bucket for full; the refused call's answer (ALL_OLD) says otherwise."""
    first, second, third = limiter(clock), limiter(clock), limiter(clock)
    for _ in range(50):
        first.admit("user#a")
    calls.clear()
    assert second.admit("user#a") == 0  # refused as "full", then admitted by the other call
    assert calls == {"UpdateItem": 2}
    for _ in range(49):
        first.admit("user#a")
    calls.clear()
    assert third.admit("user#a") == 1  # the refused call's answer already says "past the limit"
    assert calls == {"UpdateItem": 1}
    calls.clear()
    assert third.admit("user#a") == 1  # and the container remembers it
    assert calls == {}


def test_an_idle_key_starts_full_again_and_its_item_expires(calls: Counter[str], clock: Clock) -> None:
    limits = limiter(clock)
    for _ in range(100):
        limits.admit("user#a")
    clock.now += 3600
    assert [limits.admit("user#a") for _ in range(101)] == [0] * 100 + [1]
    item = storage.read_item(Connection, "rate#user#a", consistent=True)
    assert item is not None
    assert int(item["expiresAt"]["N"]) <= clock.now + 5 + 60 + 1  # a full bucket's 5 s, then a minute


def test_a_slow_rate_asks_for_the_longer_wait(calls: Counter[str], clock: Clock) -> None:
    limits = limiter(clock, rate=1, burst=2)
    assert [limits.admit("user#a") for _ in range(3)] == [0, 0, 1]
    slower = limiter(clock, rate=1, burst=1)
    assert [slower.admit("user#b") for _ in range(2)] == [0, 1]
    assert RateLimit(1, 1).wait(int((START + 2) * 1_000_000), int(START * 1_000_000)) == 2


def test_a_busy_table_admits_rather_than_locking_users_out(calls: Counter[str], clock: Clock) -> None:
    limits = limiter(clock, burst=1)
    with throttled("UpdateItem"):
        assert [limits.admit("user#a") for _ in range(3)] == [0, 0, 0]
    assert (limits.admit("user#a"), limits.admit("user#a")) == (0, 1)


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (1, 0), (-1, 5)])
def test_a_limit_needs_a_positive_rate_and_burst(rate: int, burst: int) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        RateLimit(rate, burst)
