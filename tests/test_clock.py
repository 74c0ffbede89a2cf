"""migrate/clock.py: the virtual clock moves only when told (so waits cost nothing), the system clock is real time."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migrate.clock import Clock, SystemClock, VirtualClock, parse_rfc3339, rfc3339


def test_a_virtual_wait_of_an_hour_moves_the_clock_not_the_test() -> None:
    clock: Clock = VirtualClock(start=1_000.0)
    started = time.monotonic()
    clock.sleep(3600)
    assert clock.now() == 4_600.0 and time.monotonic() - started < 1.0


def test_the_virtual_clock_never_runs_backwards() -> None:
    clock = VirtualClock(start=1_000.0)
    clock.set(500.0)
    assert clock.now() == 1_000.0
    clock.set(2_000.0)
    assert clock.now() == 2_000.0
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)


def test_a_sleep_on_the_virtual_clock_lets_its_sleepers_act_before_the_time_moves() -> None:
    clock = VirtualClock(start=1_000.0)
    seen: list[tuple[float, float]] = []
    detach = clock.on_sleep(lambda until: seen.append((clock.now(), until)))
    clock.sleep(30)
    clock.advance(5)  # moving the clock by hand is not a client waiting: nothing runs
    detach()
    clock.sleep(10)
    assert seen == [(1_000.0, 1_030.0)] and clock.now() == 1_045.0
    with pytest.raises(ValueError, match="backwards"):
        clock.sleep(-1)


def test_the_system_clock_is_wall_time_and_a_negative_wait_is_none() -> None:
    clock: Clock = SystemClock()
    assert abs(clock.now() - time.time()) < 5
    started = time.monotonic()
    clock.sleep(-10)
    assert time.monotonic() - started < 1.0


@given(st.integers(0, 4_102_444_800))  # through 2100
def test_rfc3339_round_trips_whole_seconds(when: int) -> None:
    text = rfc3339(when)
    assert text.endswith("Z") and parse_rfc3339(text) == when
