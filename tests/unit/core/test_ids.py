"""Message ids: time-sortable, monotonic, unique."""

from __future__ import annotations

import threading

from chalicelib.core.ids import IdGenerator, id_time_ms, is_valid_id


def test_ids_in_one_millisecond_are_strictly_increasing() -> None:
    generator = IdGenerator(clock=lambda: 1_790_000_000_000)
    minted = [generator.new_id() for _ in range(1000)]
    assert minted == sorted(minted) and len(set(minted)) == 1000
    assert all(is_valid_id(i) and id_time_ms(i) == 1_790_000_000_000 for i in minted)


def test_ids_follow_the_clock_and_survive_a_clock_step_back() -> None:
    now = [1000]
    generator = IdGenerator(clock=lambda: now[0])
    first = generator.new_id()
    now[0] = 999  # the clock went backwards: ids still increase
    second = generator.new_id()
    now[0] = 2000
    third = generator.new_id()
    assert first < second < third
    assert id_time_ms(third) == 2000


def test_ids_are_unique_across_threads() -> None:
    generator = IdGenerator()
    minted: list[str] = []

    def mint() -> None:
        minted.extend(generator.new_id() for _ in range(500))

    threads = [threading.Thread(target=mint) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(minted)) == 2000
