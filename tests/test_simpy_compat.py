"""Pins the SimPy behaviour that sim.simpy_compat relies on (its only use of SimPy internals)."""

from __future__ import annotations

import pytest
import simpy

from sim.simpy_compat import n_events_scheduled, retarget


def _sleeper(env: simpy.Environment, log: list[tuple[float, object]], delay: float):  # type: ignore[no-untyped-def]
    value = yield env.timeout(delay, value="first")
    log.append((env.now, value))


def test_retarget_moves_the_wake_up_and_the_old_event_does_nothing() -> None:
    env = simpy.Environment()
    log: list[tuple[float, object]] = []
    proc = env.process(_sleeper(env, log, 10.0))
    env.run(until=1.0)
    retarget(proc, env.timeout(3.0, value="second"))  # fires at day 4
    env.run()
    assert log == [(4.0, "second")]
    assert not proc.is_alive


def test_retarget_later_than_the_original_wake_up() -> None:
    env = simpy.Environment()
    log: list[tuple[float, object]] = []
    proc = env.process(_sleeper(env, log, 2.0))
    env.run(until=1.0)
    retarget(proc, env.timeout(9.0, value="later"))
    env.run()
    assert log == [(10.0, "later")]


def test_retarget_refuses_a_process_that_is_not_waiting() -> None:
    env = simpy.Environment()
    log: list[tuple[float, object]] = []
    proc = env.process(_sleeper(env, log, 1.0))
    env.run()
    with pytest.raises(ValueError, match="not waiting"):
        retarget(proc, env.timeout(1.0))


def test_n_events_scheduled_counts_every_event() -> None:
    env = simpy.Environment()
    log: list[tuple[float, object]] = []
    env.process(_sleeper(env, log, 1.0))  # Initialize, the timeout, the process's end
    env.run()
    assert n_events_scheduled(env) == 3
