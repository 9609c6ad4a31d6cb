"""Wire a scenario into SimPy: population, providers, journeys, one Environment per area.

Claimants interact only through their provider's capacity and providers only
within a contract package area, so each area is simulated in its own
Environment, one after another. Per-claimant constants are computed once,
vectorised, into plain lists that the journeys read in the event loop.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import simpy

from sim.config import AGE_BANDS, ContractGroup, Ladder, Scenario
from sim.contract import DAYS_PER_MONTH
from sim.hazards import EntryHazard, StepHazard
from sim.journey import Journey
from sim.population import Population, build_population
from sim.provider import Provider
from sim.records import EVENT_CODES, EventLog, JourneyRecords
from sim.rng import Streams

__all__ = ["RunContext", "RunOutput", "simulate"]


@dataclass
class RunContext:
    """Everything a journey reads: per-run constants and per-claimant columns (lists)."""

    referred_at: list[float]
    attach_at: list[float]
    attaches: list[bool]
    programme_end_at: list[float]
    horizon_at: list[float]
    claim_start_at: list[float]
    logit_attend: list[float]
    rate_per_day: list[float]
    k_entry: list[float]
    k_loss: list[float]
    p_ill: list[float]
    esa: list[bool]
    groups: list[ContractGroup]
    contract: Any
    start_month: str
    entry: EntryHazard
    loss: StepHazard
    k_off: float
    effect_per_hour: float
    entry_mult_off_benefit: float
    entry_mult_sanctioned: float
    off_mult_sanctioned: float
    jcp_interval: float
    jcp_minutes: float
    logit_per_prior_fta: float
    sanctions_enabled: bool
    p_refer: float
    p_adverse: float
    p_good_reason_rejected: float
    decision_days: float
    p_overturn_wrong: float
    p_overturn_right: float
    overturn_days: float
    escalation_window_days: float
    no_escalation_days: float
    ladder_jsa: Ladder
    ladder_esa: Ladder
    base_entry: int
    base_off: int
    base_loss: int
    base_attend: int
    base_refer: int
    base_reason: int
    base_decision: int
    base_overturn: int
    records: JourneyRecords
    events: EventLog | None
    monthly: list[list[int]]
    """Event counts by code and calendar month (see sim.records.monthly_frame)."""


@dataclass
class RunOutput:
    """Raw outputs of one run (one scenario, one replicate, some or all areas)."""

    areas: tuple[int, ...]
    population: Population
    records: JourneyRecords
    providers: list[Provider]
    events: EventLog | None
    monthly: list[list[int]]
    n_sim_events: int
    wall_seconds: float
    meta: dict[str, Any] = field(default_factory=dict)


def _logit(p: float) -> float:
    p = min(max(p, 1e-12), 1.0 - 1e-12)
    return math.log(p / (1.0 - p))


def _context(
    sc: Scenario, pop: Population, streams: Streams, events: EventLog | None
) -> RunContext:
    emp, att, sanc = sc.employment, sc.attendance, sc.sanctions
    popc = sc.population
    names = pop.group_names
    cond = pop.condition
    cond_att = np.array(
        [popc.conditions[c].attendance_logit_shift for c in pop.condition_names] + [0.0]
    )
    age_att = np.array(
        [
            popc.age_bands[b].attendance_logit_shift if b in popc.age_bands else 0.0
            for b in AGE_BANDS
        ]
    )
    p_ill_cond = np.array(
        [popc.conditions[c].p_ill_health_fta for c in pop.condition_names] + [0.0]
    )
    logit_attend = _logit(att.p_attend) + cond_att[cond] + age_att[pop.age_band]
    programme_days = 7.0 * sc.run.programme_weeks
    programme_end = pop.attach_at + programme_days
    horizon = programme_end + 7.0 * sc.run.follow_up_weeks
    contract_groups = [sc.contract.groups[g] for g in names]
    n_months = int(float(horizon.max()) / DAYS_PER_MONTH) + 2
    lm = sc.labour_market.index_by_month
    return RunContext(
        referred_at=pop.referred_at.tolist(),
        attach_at=pop.attach_at.tolist(),
        attaches=pop.attaches.tolist(),
        programme_end_at=programme_end.tolist(),
        horizon_at=horizon.tolist(),
        claim_start_at=pop.claim_start_at.tolist(),
        logit_attend=logit_attend.tolist(),
        rate_per_day=(pop.weekly_rate_gbp / 7.0).tolist(),
        k_entry=(emp.entry_rate_per_day * np.exp(-pop.distance)).tolist(),
        k_loss=(
            emp.job_loss_rate_per_day * np.exp(emp.job_loss_distance_coef * pop.distance)
        ).tolist(),
        p_ill=np.where(cond >= 0, p_ill_cond[cond], att.p_ill_health_fta_no_condition).tolist(),
        esa=pop.benefit_esa.tolist(),
        groups=[contract_groups[g] for g in pop.group.tolist()],
        contract=sc.contract,
        start_month=sc.run.start_month,
        entry=EntryHazard(
            lm,
            [b.from_days for b in emp.entry_duration_bands],
            [b.multiplier for b in emp.entry_duration_bands],
        ),
        loss=StepHazard(
            [b.from_days for b in emp.job_loss_tenure_bands],
            [b.multiplier for b in emp.job_loss_tenure_bands],
        ),
        k_off=sc.offflow.rate_per_day,
        effect_per_hour=emp.effect_per_adviser_hour_per_week,
        entry_mult_off_benefit=emp.entry_multiplier_off_benefit,
        entry_mult_sanctioned=emp.entry_multiplier_sanctioned,
        off_mult_sanctioned=sc.offflow.multiplier_sanctioned,
        jcp_interval=sc.jcp.interview_interval_days,
        jcp_minutes=sc.jcp.interview_minutes,
        logit_per_prior_fta=att.logit_per_prior_fta,
        sanctions_enabled=sanc.enabled,
        p_refer=sanc.p_refer,
        p_adverse=sanc.p_adverse,
        p_good_reason_rejected=sanc.p_good_reason_rejected,
        decision_days=sanc.decision_days,
        p_overturn_wrong=sanc.p_overturn_wrong,
        p_overturn_right=sanc.p_overturn_right,
        overturn_days=sanc.overturn_days,
        escalation_window_days=7.0 * sanc.escalation_window_weeks,
        no_escalation_days=7.0 * sanc.no_escalation_within_weeks,
        ladder_jsa=sanc.ladders[sanc.ladder_jsa],
        ladder_esa=sanc.ladders[sanc.ladder_esa],
        base_entry=streams.base("employment.entry"),
        base_off=streams.base("offflow"),
        base_loss=streams.base("employment.loss"),
        base_attend=streams.base("attendance"),
        base_refer=streams.base("sanctions.refer"),
        base_reason=streams.base("sanctions.reason"),
        base_decision=streams.base("sanctions.decision"),
        base_overturn=streams.base("sanctions.overturn"),
        records=JourneyRecords(pop.n),
        events=events,
        monthly=[[0] * n_months for _ in EVENT_CODES],
    )


def _outcome_value_gbp(sc: Scenario, pop: Population) -> npt.NDArray[np.float64]:
    share = sc.providers.provider.expected_share_of_max_sustainment
    per_group = np.array(
        [
            g.outcome_fee_gbp + share * g.max_sustainment_payments * g.sustainment_fee_gbp
            for g in (sc.contract.groups[n] for n in pop.group_names)
        ]
    )
    return per_group[pop.group]


def _providers(sc: Scenario, pop: Population, ctx: RunContext) -> list[Provider]:
    value = _outcome_value_gbp(sc, pop)
    qual = np.array([sc.contract.groups[n].qualifying_days for n in pop.group_names])[pop.group]
    prog_end = np.asarray(ctx.programme_end_at)
    n_months = int(max(ctx.horizon_at) / DAYS_PER_MONTH) + 2
    areas = np.repeat(np.arange(len(pop.n_providers_by_area)), pop.n_providers_by_area)
    out = []
    for p, area in enumerate(areas.tolist()):
        members = np.flatnonzero(pop.provider == p)
        if len(members) == 0:
            continue
        prov = Provider(
            p,
            area,
            sc.providers.provider,
            sc.contract,
            members,
            pop.signal[members],
            value[members],
            qual[members],
            prog_end[members],
            n_months,
            sc.employment.entry_rate_per_day,
            sc.employment.effect_per_adviser_hour_per_week,
            ctx.entry.lm,
        )
        prov.plan_advisers(pop.referred_at[members], 7.0 * sc.run.programme_weeks)
        out.append(prov)
    return out


def _run_area(ctx: RunContext, members: npt.NDArray[np.int64], providers: list[Provider]) -> int:
    env = simpy.Environment()
    if providers:
        for prov in providers:
            for local, i in enumerate(prov.members.tolist()):
                prov.procs[local] = env.process(Journey(ctx, i, prov, local).run(env))
            until = float(np.max(prov.programme_end_at))
            env.process(prov.run_reviews(env, until))
    else:
        for i in members.tolist():
            env.process(Journey(ctx, i, None, 0).run(env))
    env.run()
    return int(next(env._eid))  # events scheduled in this Environment


def simulate(
    scenario: Scenario,
    n_claimants: int,
    seed: int,
    replicate: int = 0,
    *,
    event_log: bool | None = None,
    progress: Callable[[int, int], None] | None = None,
    areas: Sequence[int] | None = None,
) -> RunOutput:
    """Simulate ``n_claimants`` referrals under ``scenario`` for one replicate.

    Parameters
    ----------
    scenario : Scenario
    n_claimants : int
        Number of referrals, >= 1.
    seed : int
        Root seed.
    replicate : int
        Replicate number; replicate r of every scenario shares its random keys.
    event_log : bool, optional
        Keep an event log; default from ``scenario.records.event_log``.
    progress : callable, optional
        Called as ``progress(n_done, n_total)`` in claimants after each area.
    areas : sequence of int, optional
        Simulate only these contract package areas (a shard of the run). Areas are
        independent, so a shard's claimants have exactly the records they have in the
        whole run; records of claimants outside the shard stay NaN.

    Returns
    -------
    RunOutput

    Raises
    ------
    ValueError
        If ``n_claimants < 1`` or the seed or replicate is out of range.
    """
    t0 = time.perf_counter()
    streams = Streams(seed, replicate)
    pop = build_population(scenario, n_claimants, streams)
    keep_log = scenario.records.event_log if event_log is None else event_log
    events = EventLog() if keep_log else None
    ctx = _context(scenario, pop, streams, events)
    all_areas = range(len(pop.n_providers_by_area))
    chosen = sorted(set(all_areas if areas is None else areas))
    bad = [a for a in chosen if a not in all_areas]
    if bad:
        raise ValueError(f"areas(={bad}) must be in [0, {len(all_areas)}).")
    providers = (
        [p for p in _providers(scenario, pop, ctx) if p.area in chosen]
        if scenario.regime == "programme"
        else []
    )
    n_events = 0
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        n_total = int(np.isin(pop.area, chosen).sum())
        n_done = 0
        for area in chosen:
            in_area = [p for p in providers if p.area == area]
            members = np.flatnonzero(pop.area == area)
            if len(members):
                n_events += _run_area(ctx, members, in_area)
            n_done += len(members)
            if progress is not None:
                progress(n_done, n_total)
    finally:
        if was_enabled:
            gc.enable()
    return RunOutput(
        areas=tuple(chosen),
        population=pop,
        records=ctx.records,
        providers=providers,
        events=events,
        monthly=ctx.monthly,
        n_sim_events=n_events,
        wall_seconds=time.perf_counter() - t0,
    )


def population_frame(pop: Population, scenario: Scenario) -> pl.DataFrame:
    """Return the population's columns as a frame (names, not indices)."""
    names = pop.group_names
    codes = np.array([scenario.population.groups[g].code for g in names])
    cond_names = np.asarray([*pop.condition_names, "none"])
    return pl.DataFrame(
        {
            "claimant_id": np.arange(pop.n, dtype=np.int64),
            "group": np.asarray(names)[pop.group],
            "group_code": codes[pop.group].astype(np.int64),
            "benefit": np.where(pop.benefit_esa, "ESA", "JSA"),
            "age_band": np.asarray(AGE_BANDS)[pop.age_band],
            "condition": cond_names[pop.condition],
            "weekly_rate_gbp": pop.weekly_rate_gbp,
            "distance": pop.distance,
            "signal": pop.signal,
            "area": pop.area,
            "provider": pop.provider,
            "referred_at": pop.referred_at,
        }
    )
