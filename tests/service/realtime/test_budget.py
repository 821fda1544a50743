"""chalicelib.realtime.budget: every container's posts together stay within the account's budget a second."""

from __future__ import annotations

from collections import Counter

import pytest

from chalicelib.realtime.budget import AccountBudget
from chalicelib.realtime.pacing import Pacer
from tests.faults import dynamodb_faults


class FakeTime:
    """One clock for every simulated container; sleeping moves it on."""

    def __init__(self) -> None:
        self.now = 1_796_000_000.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_many_containers_together_post_no_more_than_the_budget_in_any_second(tables: None) -> None:
    """Found by review: pacing was per container; eight busy shards at 1,500/s each posted 12,000/s, over the 10,000 quota."""
    time = FakeTime()
    pacers = [
        Pacer(1500, clock=time.clock, sleep=time.sleep, budget=AccountBudget(5000, clock=time.clock, sleep=time.sleep))
        for _ in range(8)
    ]
    per_second: Counter[int] = Counter()
    for _ in range(1500):  # each container posts 1,500 frames, taking turns
        for pacer in pacers:
            pacer.acquire()
            per_second[int(time.now)] += 1
    assert sum(per_second.values()) == 8 * 1500  # every post went, none was refused
    assert max(per_second.values()) <= 5000
    assert len(per_second) >= 12_000 // 5000  # so it took the seconds the budget asks for


def test_a_second_s_budget_is_leased_in_blocks_and_its_last_posts_in_smaller_ones(tables: None) -> None:
    time = FakeTime()
    time.now = float(int(time.now))
    first, second = (AccountBudget(1000, clock=time.clock, sleep=time.sleep) for _ in range(2))
    assert first.block == 10
    taken = 0
    while int(time.now) == 1_796_000_000:
        for budget in (first, second):
            budget.take()
            taken += int(time.now) == 1_796_000_000  # granted within the second, not after waiting for the next
    assert 1000 - 2 * first.block <= taken <= 1000  # at most what the two hold unused is left over


def test_a_busy_table_does_not_stop_the_posts(tables: None) -> None:
    """The budget is a courtesy to the account: when storage is throttled, the container's own pace carries on."""
    time = FakeTime()
    budget = AccountBudget(100, clock=time.clock, sleep=time.sleep)
    with dynamodb_faults({"dynamodb": 1.0}) as injected:
        waits = [budget.take() for _ in range(50)]
    assert waits == [0.0] * 50 and injected["dynamodb"] > 0


def test_the_budget_setting_can_be_turned_off_and_is_otherwise_shared_by_the_poster(
    tables: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib import service
    from chalicelib.core.config import load_settings

    monkeypatch.setenv("INAPP_WS_ENDPOINT", "http://127.0.0.1:9/api")
    monkeypatch.setenv("INAPP_POST_BUDGET", "7000")
    service.reset()
    assert service.get_socket_poster().pacer._budget.per_second == 7000  # type: ignore[union-attr]
    monkeypatch.setenv("INAPP_POST_BUDGET", "0")
    service.reset()
    assert service.get_socket_poster().pacer._budget is None  # type: ignore[union-attr]
    monkeypatch.setenv("INAPP_POST_BUDGET", "-1")
    with pytest.raises(Exception, match="INAPP_POST_BUDGET must be positive or 0"):
        load_settings()
