"""One run at a time per key, in the connections table: refused with the wait while held, free at once when given back."""

from __future__ import annotations

import pytest

from chalicelib.limits import Leases, Refused
from chalicelib.storage import dynamo as storage
from chalicelib.storage.tables import Connection
from tests.faults import throttled
from tests.service.limits.clock import START, Clock


@pytest.fixture
def clock(tables: None) -> Clock:
    return Clock()


def _item(key: str) -> dict[str, object] | None:
    return storage.read_item(Connection, f"lease#{key}", consistent=True)


def test_a_second_run_is_refused_with_the_seconds_left_and_the_next_one_after_it_goes_on_at_once(clock: Clock) -> None:
    leases = Leases(30, clock=clock)
    with leases.hold("bulk#alice"):
        item = _item("bulk#alice")
        assert item is not None and item["until"] == {"N": str(int((START + 30) * 1000))}
        assert item["expiresAt"] == {"N": str(int(START) + 30 + 60)}  # TTL: a dead holder's item goes
        clock.now += 10.2
        with pytest.raises(Refused) as refused, leases.hold("bulk#alice"):
            pytest.fail("ran beside the holder")
        assert refused.value.retry_after == 20  # 19.8 s left, in whole seconds up
        with leases.hold("bulk#bob"):  # another user's runs are theirs
            pass
    assert _item("bulk#alice") is None  # given back: the next run waits for nothing
    with leases.hold("bulk#alice"):
        pass


def test_the_run_is_given_back_when_it_fails_too(clock: Clock) -> None:
    leases = Leases(30, clock=clock)
    with pytest.raises(RuntimeError), leases.hold("bulk#alice"):
        raise RuntimeError("the run failed")
    with leases.hold("bulk#alice"):
        pass


def test_a_dead_holders_lease_ends_at_its_time_and_its_late_give_back_frees_nobody_elses(clock: Clock) -> None:
    leases = Leases(30, clock=clock)
    dead = leases.hold("bulk#alice")
    dead.__enter__()  # a container that froze: never gives it back in time
    clock.now += 29.5
    with pytest.raises(Refused) as refused, leases.hold("bulk#alice"):
        pass
    assert refused.value.retry_after == 1
    clock.now += 0.6
    with leases.hold("bulk#alice"):  # its time is past: the next run takes it
        holder = _item("bulk#alice")
        dead.__exit__(None, None, None)  # the frozen one wakes and gives back what it no longer holds
        assert _item("bulk#alice") == holder
        with pytest.raises(Refused):
            leases.hold("bulk#alice").__enter__()


def test_a_busy_table_lets_the_run_go_on_unleased(clock: Clock) -> None:
    leases = Leases(30, clock=clock)
    with throttled("UpdateItem"), leases.hold("bulk#alice"):
        pass
    assert _item("bulk#alice") is None
    with leases.hold("bulk#alice"):
        assert _item("bulk#alice") is not None


def test_a_lease_lasts_a_positive_time() -> None:
    with pytest.raises(ValueError, match="positive"):
        Leases(0)


def test_a_bulk_lease_lasts_as_long_as_the_api_function_may_run_in_every_stage() -> None:
    """Shorter, and a run still going could meet a second one; longer, and a dead holder keeps the user waiting."""
    import json
    from pathlib import Path

    from chalicelib.service import API_TIMEOUT_SECONDS

    config = json.loads((Path(__file__).resolve().parents[3] / ".chalice" / "config.json").read_text())
    stages = config["stages"]
    assert {name: stage.get("lambda_timeout", config.get("lambda_timeout")) for name, stage in stages.items()} == {
        name: API_TIMEOUT_SECONDS for name in stages
    }


def test_a_take_whose_first_call_went_through_unanswered_is_the_runs_own(clock: Clock) -> None:
    """botocore retries a call whose answer was lost: the retry meets the lease the first call took, for this run."""
    leases = Leases(30, clock=clock)
    assert leases._take("bulk#alice", "me") is True
    assert leases._take("bulk#alice", "me") is True  # the retried call: its own lease, not a refusal
    with pytest.raises(Refused):
        leases._take("bulk#alice", "someone else")
