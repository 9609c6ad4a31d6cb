"""A claimant's hazard clocks: job entry and leaving benefit without a job.

Each out-of-work spell draws a unit-exponential clock per hazard from a keyed stream
(``employment.entry``, ``offflow``; occurrence = the spell number). An event fires when
the integrated hazard reaches its clock; when the hazard's multiplier changes (a new
interview interval, a sanction, leaving benefit), the part of the clock already used
is kept and the firing time is solved again (:mod:`sim.hazards`). Here is where the
job-entry multiplier is decided: distance from work, the contacts received from each
actor, a running intervention's lock-in, a sanction and being off benefit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from sim.events import IN_WORK, OFF_BENEFIT, ON_BENEFIT
from sim.hazards import INF
from sim.rng import exponential_from_base

if TYPE_CHECKING:
    from sim.journey import Journey

__all__ = [
    "entry_multiplier",
    "restart_off_clock",
    "service_effect",
    "start_spell",
    "update_entry",
    "update_hazards",
    "update_off",
]


def service_effect(j: Journey) -> float:
    """Return the proportional raise in the job-entry hazard from the contacts received.

    Each actor's contacts have their own effect per contact hour a week (Jobcentre and
    provider; the provider's scaled by its effectiveness, ``prov_gain``); the claimant's
    ``effect_gain`` says how the effect varies with distance from work
    (``exp((1 - gradient) * distance)``: a gradient of 1 makes the absolute effect
    proportional to the base hazard, 0 the same for everyone).
    """
    if j.status != ON_BENEFIT:
        return 0.0
    ctx = j.ctx
    x = ctx.effect_per_hour * j.prov_gain * j.prov.hours_per_week()
    x += ctx.jcp_effect_per_hour * j.jcp.hours_per_week()
    return x * ctx.effect_gain[j.i]


def entry_multiplier(j: Journey) -> float:
    """Return the job-entry hazard's multiplier on the labour market's base rate."""
    ctx = j.ctx
    if j.status == IN_WORK:
        return 0.0
    m = j.k_entry * j.m_during * (1.0 + service_effect(j))
    if j.status == OFF_BENEFIT:
        return m * ctx.entry_mult_off_benefit
    if j.sanctioned:
        m *= ctx.entry_mult_sanctioned
    return m


def update_hazards(j: Journey, now: float) -> None:
    """Carry both clocks over a change of state (benefit status or sanction) at ``now``."""
    update_entry(j, now)
    update_off(j, now)


def update_entry(j: Journey, now: float) -> None:
    """Carry the job-entry clock over a change of its multiplier at ``now``."""
    entry = j.ctx.entry
    lam = entry.cumulative(now, j.band_starts, j.band_offsets)
    if j.m_entry > 0.0:
        j.e_entry -= j.m_entry * (lam - j.lam_ref)
    j.lam_ref = lam
    m = j.m_entry = entry_multiplier(j)
    if m > 0.0:
        e = j.e_entry
        target = lam + (e if e > 0.0 else 0.0) / m
        t = entry.inverse(target, j.band_starts, j.band_offsets, j.band_levels)
        j.t_entry = t if t > now else now
    else:
        j.t_entry = INF


def update_off(j: Journey, now: float) -> None:
    """Carry the off-flow clock over a change of its rate at ``now``."""
    ctx = j.ctx
    j.e_off -= j.rate_off * (now - j.t_off_ref)
    j.t_off_ref = now
    if j.status == ON_BENEFIT:
        j.rate_off = ctx.k_off * (ctx.off_mult_sanctioned if j.sanctioned else 1.0)
    else:
        j.rate_off = 0.0
    e = j.e_off
    j.t_off = now + (e if e > 0.0 else 0.0) / j.rate_off if j.rate_off > 0 else INF


_RECLAIM_OCC: Final = 1 << 32
"""Occurrence offset of the off-flow clocks drawn at repeat claims (apart from spells')."""


def restart_off_clock(j: Journey, now: float) -> None:
    """A repeat claim starts at ``now``: a fresh off-flow clock (the last one has fired or
    was drawn for the spell that began when a job ended; either way it starts again)."""
    j.e_off = exponential_from_base(j.ctx.base_off, j.claimant_id, _RECLAIM_OCC + j.n_repeat_claims)
    j.t_off_ref = now
    j.rate_off = 0.0


def start_spell(j: Journey, now: float) -> None:
    """Start an out-of-work spell on benefit with fresh entry and off-flow clocks."""
    ctx, cid, k = j.ctx, j.claimant_id, j.n_spells
    j.e_entry = exponential_from_base(ctx.base_entry, cid, k)
    j.e_off = exponential_from_base(ctx.base_off, cid, k)
    j.t_off_ref = now
    j.m_entry = 0.0
    j.rate_off = 0.0
    j.n_spells += 1
