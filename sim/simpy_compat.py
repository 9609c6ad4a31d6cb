"""The one place pbrsim relies on SimPy's internals (pinned by ``tests/test_simpy_compat.py``).

SimPy 4 has no public way to move a process that waits on one event to another, or to
ask an Environment how many events it has scheduled. pbrsim needs both: a provider's
change to a claimant's schedule moves the claimant's process to a new wake-up without
the cost of an interrupt (:func:`retarget`), and the engine benchmark reports events per
claimant (:func:`n_events_scheduled`). Both read private attributes of SimPy 4.1
(``Process._target``, ``Process._resume``, ``Environment._eid``); the tests pin the
behaviour they rely on, so an upgrade of SimPy that changes it fails there first.
"""

from __future__ import annotations

from typing import Any

import simpy

__all__ = ["n_events_scheduled", "retarget"]


def retarget(proc: Any, event: simpy.Event) -> None:
    """Make the waiting process ``proc`` resume on ``event`` instead of what it waits on.

    The event it waited on stays in the queue with no callback from ``proc``, so when
    it fires nothing happens; ``proc`` resumes when ``event`` fires, receiving its value.

    Raises
    ------
    ValueError
        If ``proc`` is not waiting on an event.
    """
    target = proc._target
    if target is None or proc._resume not in target.callbacks:
        raise ValueError(f"retarget: process {proc!r} is not waiting on an event")
    target.callbacks.remove(proc._resume)
    event.callbacks.append(proc._resume)
    proc._target = event


def n_events_scheduled(env: simpy.Environment) -> int:
    """Return how many events ``env`` has scheduled so far (and advance its counter by one).

    Call it once, after the run: SimPy numbers events with an internal counter.
    """
    return int(next(env._eid))
