"""Wire a scenario into SimPy: population, providers, journeys, one Environment per area.

Claimants interact only through their provider's capacity and providers only
within a contract package area, so each area is simulated in its own
Environment, one after another. Per-claimant constants are computed once,
vectorised, into plain lists that the journeys read in the event loop.
"""

from __future__ import annotations

import functools
import gc
import importlib
import math
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import simpy

from sim.area import Area
from sim.attendance import attendance_params
from sim.behaviour_config import RateBand
from sim.benefit_states import BenefitState
from sim.conditionality import ROUTES
from sim.config import AGE_BANDS, Ladder, Scenario, month_index
from sim.context import RunContext
from sim.contract import DAYS_PER_MONTH
from sim.fmath import exp_array
from sim.hazards import EntryHazard, StepHazard
from sim.journey import Journey
from sim.labour_market import index_by_month as labour_market_index
from sim.market_setup import MarketSetup
from sim.native_build import NATIVE_MODULES, PREFIX, source_digest
from sim.population import Population, build_population
from sim.primes import PrimeTraits
from sim.provider import AreaBook, Provider
from sim.provider_mind import Mind
from sim.records import EVENT_CODES, EventLog, JourneyRecords
from sim.rng import Streams, signed64, uniform_from_base
from sim.simpy_compat import n_events_scheduled

__all__ = ["PURE", "Engine", "RunContext", "RunOutput", "engine", "simulate"]


@dataclass(frozen=True)
class Engine:
    """The classes a run is built from: compiled with mypyc, or pure Python."""

    name: str
    """``"compiled"`` or ``"pure"``."""
    journey: type[Journey]
    context: type[RunContext]
    entry_hazard: type[EntryHazard]
    step_hazard: type[StepHazard]


PURE = Engine("pure", Journey, RunContext, EntryHazard, StepHazard)


@functools.cache
def engine() -> Engine:
    """Return the compiled engine if it was built from the sources beside it, else pure Python.

    ``setup.py`` compiles copies of the modules in
    :data:`sim.native_build.NATIVE_MODULES` (the journey and what it calls per event)
    with mypyc, stamped with the SHA-256 of their sources. The compiled classes are
    used only if the stamp matches the sources here and ``PBRSIM_PURE_PYTHON`` is
    unset. Both engines give bit-identical results (``tests/test_native.py``).
    """
    if os.environ.get("PBRSIM_PURE_PYTHON"):
        return PURE
    try:
        modules = {name: importlib.import_module(f"sim.{PREFIX}{name}") for name in NATIVE_MODULES}
    except ImportError:
        return PURE
    except Exception as err:  # a stale or broken build must not stop a run
        warnings.warn(f"the compiled engine did not load ({err}); using pure Python", stacklevel=2)
        return PURE
    if not all(str(m.__file__).endswith((".so", ".pyd")) for m in modules.values()):
        return PURE
    digest = source_digest(Path(__file__).resolve().parent)
    if any(getattr(m, "SOURCE_SHA256", None) != digest for m in modules.values()):
        warnings.warn(
            "the simulation's hot-path sources have changed since they were compiled; "
            "using pure Python (reinstall with `pip install -e .` to rebuild)",
            stacklevel=2,
        )
        return PURE
    native: Any = modules
    return Engine(
        "compiled",
        native["journey"].Journey,
        native["context"].RunContext,
        native["hazards"].EntryHazard,
        native["hazards"].StepHazard,
    )


@dataclass
class RunOutput:
    """Raw outputs of one run (one scenario, one replicate, some or all areas)."""

    areas: tuple[int, ...]
    population: Population
    records: JourneyRecords
    providers: list[Provider]
    areas_built: list[Area]
    events: EventLog | None
    monthly: list[list[int]]
    n_sim_events: int
    wall_seconds: float
    meta: dict[str, Any] = field(default_factory=dict)


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
    programme_days = 7.0 * sc.run.programme_weeks
    follow_up_days = 7.0 * sc.run.follow_up_weeks
    programme_end = pop.attach_at + programme_days
    horizon = programme_end + follow_up_days
    contract_groups = [sc.contract.groups[g] for g in names]
    # the whole run's calendar, a shard's too (max commutes with the rounded additions)
    last_horizon_at = pop.last_attach_at + programme_days + follow_up_days
    n_months = int(last_horizon_at / DAYS_PER_MONTH) + 2
    lm = labour_market_index(sc.labour_market, sc.run.start_month, n_months)

    def key(stream: str) -> int:  # a stream's base, in the form the event loop's draws take
        return signed64(streams.base(stream))

    kit = engine()
    return kit.context(
        claimant_id=pop.ids.tolist(),
        referred_at=pop.referred_at.tolist(),
        attach_at=pop.attach_at.tolist(),
        attaches=pop.attaches.tolist(),
        programme_end_at=programme_end.tolist(),
        horizon_at=horizon.tolist(),
        claim_start_at=pop.claim_start_at.tolist(),
        miss_logit_shift=(-(cond_att[cond] + age_att[pop.age_band])).tolist(),
        rate_per_day=(pop.weekly_rate_gbp / 7.0).tolist(),
        k_entry=(emp.entry_rate_per_day * exp_array(-pop.distance)).tolist(),
        k_loss=_loss_multipliers(sc, pop).tolist(),
        p_ill=np.where(cond >= 0, p_ill_cond[cond], att.p_ill_health_fta_no_condition).tolist(),
        esa=pop.benefit_esa.tolist(),
        groups=[contract_groups[g] for g in pop.group.tolist()],
        contract=sc.contract,
        start_month=sc.run.start_month,
        entry=kit.entry_hazard(
            lm,
            [b.from_days for b in emp.entry_duration_bands],
            [b.multiplier for b in emp.entry_duration_bands],
        ),
        loss=kit.step_hazard(
            [b.from_days for b in emp.job_loss_tenure_bands],
            [b.multiplier for b in emp.job_loss_tenure_bands],
        ),
        k_off=sc.offflow.rate_per_day,
        effect_per_hour=emp.effect_per_adviser_hour_per_week,
        entry_mult_off_benefit=emp.entry_multiplier_off_benefit,
        entry_mult_sanctioned=emp.entry_multiplier_sanctioned,
        off_mult_sanctioned=sc.offflow.multiplier_sanctioned,
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
        base_entry=key("employment.entry"),
        base_off=key("offflow"),
        base_loss=key("employment.loss"),
        base_attend_jcp=key("attendance.jcp"),
        base_attend_provider=key("attendance.provider"),
        base_refer=key("sanctions.refer"),
        base_reason=key("sanctions.reason"),
        base_decision=key("sanctions.decision"),
        base_overturn=key("sanctions.overturn"),
        records=JourneyRecords(pop.n),
        events=events,
        monthly=[[0] * n_months for _ in EVENT_CODES],
        arm=pop.arm.tolist(),
        jcp_by_arm=_jcp_by_arm(sc),
        interventions=list(sc.interventions),
        iv_take=_intervention_take_up(sc, pop, streams),
        loss_distance_coef=emp.job_loss_distance_coef,
        regimes=_regimes(sc),
        p_higher_level=sanc.p_higher_level,
        base_higher=key("sanctions.higher_level"),
        p_hardship=sanc.hardship.p_claim,
        hardship_after_days=sanc.hardship.after_days,
        hardship_fraction=sanc.hardship.fraction_of_sanction,
        base_hardship=key("sanctions.hardship"),
        **_behaviour(sc, pop, key),
    )


def _loss_multipliers(sc: Scenario, pop: Population) -> npt.NDArray[np.float64]:
    """Each claimant's job-loss multiplier on the tenure bands: the base rate times
    :func:`sim.retention.claimant_loss_multiplier` (vectorised; tested equal)."""
    emp, ret = sc.employment, sc.retention
    benefit = np.where(pop.benefit_esa, ret.loss_multiplier_esa, ret.loss_multiplier_jsa)
    by_condition = np.array(
        [ret.condition_multipliers.get(c, 1.0) for c in pop.condition_names] + [1.0]
    )
    by_age = np.array([ret.age_multipliers.get(b, 1.0) for b in AGE_BANDS])
    heterogeneity = benefit * by_condition[pop.condition] * by_age[pop.age_band]
    distance = exp_array(emp.job_loss_distance_coef * pop.distance)
    return np.asarray(emp.job_loss_rate_per_day * (heterogeneity * distance), dtype=np.float64)


_PHASES = {
    "assessment": int(BenefitState.ESA_ASSESSMENT),
    "wrag": int(BenefitState.ESA_WRAG),
    "support": int(BenefitState.ESA_SUPPORT),
}


def _benefit_states(sc: Scenario, pop: Population) -> dict[str, Any]:
    """Each claimant's benefit state at referral and the day of their WCA outcome."""
    groups = [sc.population.groups[g] for g in pop.group_names]
    phase = np.array([_PHASES[g.esa_phase_at_referral] for g in groups])[pop.group]
    state = np.where(pop.benefit_esa, phase, int(BenefitState.JSA))
    days = sc.benefit_dynamics.esa_assessment_days
    assessing = state == int(BenefitState.ESA_ASSESSMENT)
    wca_at = np.where(assessing, np.maximum(pop.claim_start_at + days, pop.referred_at), np.inf)
    return {
        "benefit_state": state.tolist(),
        "wca_at": wca_at.tolist(),
        "benefit_dynamics": sc.benefit_dynamics,
    }


def rate_hazard(bands: Sequence[RateBand], kit: Engine) -> StepHazard:
    """Return the engine's step hazard of piecewise-constant rate bands."""
    return kit.step_hazard([b.from_days for b in bands], [b.rate_per_day for b in bands])


def _behaviour(sc: Scenario, pop: Population, key: Callable[[str], int]) -> dict[str, Any]:
    """The context's service, attendance, requirement and repeat-claim fields."""
    kit = engine()
    emp, att, sanc, jcp = sc.employment, sc.attendance, sc.sanctions, sc.jcp
    volunteer = np.array([sc.population.groups[g].volunteer for g in pop.group_names])
    routes = [getattr(sanc.requirements, name) for name in ROUTES]
    return {
        "jcp_effect_per_hour": (
            emp.effect_per_adviser_hour_per_week
            if jcp.effect_per_adviser_hour_per_week is None
            else jcp.effect_per_adviser_hour_per_week
        ),
        "effect_gain": exp_array((1.0 - emp.effect_distance_gradient) * pop.distance).tolist(),
        "attendance": attendance_params(att),
        "attendance_certain": att.p_attend >= 1.0,
        **_benefit_states(sc, pop),
        "volunteer": volunteer[pop.group].tolist(),
        "base_wca": key("benefit_dynamics.wca"),
        "signing_interval_days": jcp.signing_interval_days_on_programme,
        "signing_minutes": jcp.signing_minutes,
        "p_close_on_failure_to_sign": sc.benefit_dynamics.p_close_on_failure_to_sign,
        "base_close": key("jcp.failure_to_sign"),
        "job_search_doubt_per_day": sanc.requirements.job_search.doubt_rate_per_day,
        "base_job_search": key("sanctions.requirements.job_search"),
        "p_left_voluntarily": sanc.requirements.leaving_job.p_per_job_end,
        "base_left_job": key("sanctions.requirements.leaving_job"),
        "route_p_refer": [sanc.p_refer if r.p_refer is None else r.p_refer for r in routes],
        "route_p_adverse": [sanc.p_adverse if r.p_adverse is None else r.p_adverse for r in routes],
        "route_higher": [r.higher_level for r in routes],
        "reengage_rate_per_day": sanc.reengage_rate_per_day,
        "base_compliance": key("sanctions.compliance"),
        "reclaim_after_offflow": rate_hazard(sc.benefit_dynamics.reclaim_after_offflow, kit),
        "reclaim_after_job": rate_hazard(sc.benefit_dynamics.reclaim_after_job, kit),
        "base_reclaim": key("benefit_dynamics.reclaim"),
        "support_days": sc.retention.in_work_support.duration_days,
        "support_loss_multiplier": sc.retention.in_work_support.loss_multiplier,
        "support_cost_gbp_per_week": sc.retention.in_work_support.cost_gbp_per_week,
    }


def _jcp_by_arm(sc: Scenario) -> list[tuple[float, float, float, int | None, float, int | None]]:
    jcps = [a.jcp or sc.jcp for a in sc.arms.values()] or [sc.jcp]
    return [
        (
            j.interview_interval_days if j.first_interview_days is None else j.first_interview_days,
            j.interview_interval_days,
            j.interview_minutes,
            j.n_interviews,
            j.interval_after_days,
            j.n_mandatory_interviews,
        )
        for j in jcps
    ]


def _regimes(sc: Scenario) -> list[tuple[float, Ladder, Ladder, Ladder]]:
    sanc = sc.sanctions
    lad = sanc.ladders
    start = month_index(sc.run.start_month)

    Regime = tuple[float, Ladder, Ladder, Ladder]

    def one(t: float, jsa: str, esa: str, higher: str | None) -> Regime:
        return (t, lad[jsa], lad[esa], lad[higher] if higher is not None else lad[jsa])

    out = [one(-math.inf, sanc.ladder_jsa, sanc.ladder_esa, sanc.ladder_jsa_higher)]
    for c in sanc.regime_changes:
        t = (month_index(c.from_month) - start) * DAYS_PER_MONTH
        out.append(one(t, c.ladder_jsa, c.ladder_esa, c.ladder_jsa_higher))
    return out


def _intervention_take_up(sc: Scenario, pop: Population, streams: Streams) -> list[tuple[int, ...]]:
    """Eligibility and take-up of each intervention (one keyed draw per claimant each)."""
    if not sc.interventions:
        return [()] * pop.n
    ids = pop.ids
    takes = []
    for iv in sc.interventions:
        ok = np.ones(pop.n, dtype=bool)
        if iv.benefits is not None:
            ok &= np.where(pop.benefit_esa, "ESA" in iv.benefits, "JSA" in iv.benefits)
        if iv.needs_condition:
            ok &= pop.condition >= 0
        if iv.arms is not None:
            ok &= np.isin(pop.arm, [pop.arm_names.index(a) for a in iv.arms])
        ok &= streams.uniforms(f"interventions.{iv.name}", ids) < iv.p_take_up
        takes.append(ok)
    matrix = np.column_stack(takes)
    return [tuple(np.flatnonzero(row).tolist()) for row in matrix]


def _outcome_value_gbp(sc: Scenario, pop: Population) -> npt.NDArray[np.float64]:
    share = sc.providers.provider.expected_share_of_max_sustainment
    per_group = np.array(
        [
            g.outcome_fee_gbp + share * g.max_sustainment_payments * g.sustainment_fee_gbp
            for g in (sc.contract.groups[n] for n in pop.group_names)
        ]
    )
    return per_group[pop.group]


def _attachment_fees_gbp(sc: Scenario, pop: Population) -> npt.NDArray[np.float64]:
    per_group = np.array([sc.contract.groups[n].attachment_fee_gbp for n in pop.group_names])
    return np.asarray(per_group[pop.group], dtype=np.float64)


def _interview_fees(
    sc: Scenario, pop: Population
) -> tuple[npt.NDArray[np.float64] | None, npt.NDArray[np.float64] | None]:
    """Return each referral's interview fee and paid interviews, or (None, None) if the
    contract pays no interview fee."""
    groups = [sc.contract.groups[n] for n in pop.group_names]
    if not any(g.interview_fee_gbp > 0.0 and g.max_paid_interviews > 0 for g in groups):
        return None, None
    fee = np.array([g.interview_fee_gbp for g in groups])[pop.group]
    n_paid = np.array([float(g.max_paid_interviews) for g in groups])[pop.group]
    return np.asarray(fee, dtype=np.float64), np.asarray(n_paid, dtype=np.float64)


def _attachment_fee_ends_at(sc: Scenario) -> float:
    end = sc.contract.attachment_fee_end_month
    if end is None:
        return math.inf
    return (month_index(end) - month_index(sc.run.start_month)) * DAYS_PER_MONTH


def _areas(sc: Scenario, pop: Population, ctx: RunContext, streams: Streams) -> list[Area]:
    """Build every area's book, primes (with specialists) and market."""
    value = _outcome_value_gbp(sc, pop)
    qual = np.array([sc.contract.groups[n].qualifying_days for n in pop.group_names])[pop.group]
    fees = _attachment_fees_gbp(sc, pop)
    interview_fee, paid_interviews = _interview_fees(sc, pop)
    prog_end = np.asarray(ctx.programme_end_at)
    n_months = len(ctx.monthly[0])  # months of the run's books
    counts = pop.n_providers_by_area
    first_prime = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    n_primes_total = int(np.sum(counts))
    out = []
    for area, n_primes in enumerate(counts):
        prime_ids = range(int(first_prime[area]), int(first_prime[area]) + n_primes)
        members = np.concatenate([np.flatnonzero(pop.provider == p) for p in prime_ids])
        if len(members) == 0:
            continue
        book = AreaBook(
            members=members,
            signal=pop.signal[members],
            value_gbp=value[members],
            qualifying_days=qual[members],
            programme_end_at=prog_end[members],
            referred_at=pop.referred_at[members],
            u_prime=pop.u_prime[members],
            to_specialist=np.zeros(len(members), dtype=bool),
            initial_prime=pop.provider[members] - first_prime[area],
            condition=pop.condition[members] >= 0,
            attachment_fee_gbp=fees[members],
            attachment_fee_ends_at=_attachment_fee_ends_at(sc),
            interview_fee_gbp=None if interview_fee is None else interview_fee[members],
            paid_interviews_left=None if paid_interviews is None else paid_interviews[members],
            records_by=(np.asarray(pop.group[members], dtype=np.int64), list(pop.group_names)),
        )
        setup = MarketSetup.build(sc, pop, book, members, ctx, streams)
        primes = {}
        for k, p in enumerate(prime_ids):
            planned = book.initial_prime == k
            if planned.any():
                primes[k] = _prime(sc, setup, p, area, book, planned, n_primes_total, n_months)
        u_term = _termination_draws(streams)
        out.append(Area(area, book, primes, sc.contract, u_term))
    return out


def _termination_draws(streams: Streams) -> Any:
    base = streams.base("contract.termination")

    def u(prime: int, year: int) -> float:
        return uniform_from_base(base, prime, year)

    return u


def _prime(
    sc: Scenario,
    setup: MarketSetup,
    index: int,
    area: int,
    book: AreaBook,
    planned: npt.NDArray[np.bool_],
    n_primes_total: int,
    n_months: int,
) -> Provider:
    """Build one prime and, if the scenario has them, its specialist.

    The specialist's planned caseload (its starting headcount and months open) is the
    bid's share of the prime's planned members, or those it would pass on under its prior
    beliefs (:meth:`sim.market_setup.MarketSetup.planned_passes`).
    """
    sub = sc.providers.subcontracting
    cfg = sc.providers.provider
    mind = setup.mind(cfg, setup.traits[index])
    rule = setup.pass_rule()
    n_primes = sc.providers.primes_per_area[area]
    spec = setup.planned_passes(mind, planned, rule, n_primes) if rule is not None else None
    mine = planned & ~spec if spec is not None and (planned & ~spec).any() else planned
    programme_days = 7.0 * sc.run.programme_weeks
    prov = _provider(sc, index, area, cfg, book, mine, setup.ctx, n_months, mind, pass_rule=rule)
    prov.plan_advisers(programme_days)
    if sub is not None and spec is not None and spec.any():
        prov.specialist = _provider(
            sc,
            n_primes_total + index,
            area,
            sub.specialist,
            book,
            spec,
            setup.ctx,
            n_months,
            setup.mind(sub.specialist, PrimeTraits()),
            prime=prov,
            management_fee_share=sub.management_fee_share,
            condition_effect_multiplier=sub.condition_effect_multiplier,
        )
        prov.specialist.plan_advisers(programme_days)
    return prov


def _provider(
    sc: Scenario,
    index: int,
    area: int,
    config: Any,
    book: AreaBook,
    planned: npt.NDArray[np.bool_],
    ctx: RunContext,
    n_months: int,
    mind: Mind,
    **kwargs: Any,
) -> Provider:
    return Provider(
        index,
        area,
        config,
        sc.contract,
        book,
        planned,
        n_months,
        sc.employment.entry_rate_per_day,
        sc.employment.effect_per_adviser_hour_per_week,
        ctx.entry.lm,
        mind,
        **kwargs,
    )


def _run_area(
    ctx: RunContext, sc: Scenario, members: npt.NDArray[np.int64], area: Area | None
) -> int:
    follow_up_days = 7.0 * sc.run.follow_up_weeks
    env = simpy.Environment()
    journey_cls = engine().journey
    if area is not None:
        book = area.book
        until = float(np.max(book.programme_end_at))
        for k, prime in area.by_position.items():
            # each prime's planned members, then its reviews (the order fixes ties)
            for local in np.flatnonzero(book.initial_prime == k).tolist():
                journey = journey_cls(ctx, int(book.members[local]), area, local)
                book.journeys[local] = journey
                journey.proc = env.process(journey.run(env))
            for prov in (prime, prime.specialist):
                if prov is not None:
                    env.process(prov.run_reviews(env, until))
        horizon = float(np.max(book.programme_end_at)) + follow_up_days
        if sc.contract.market_share_shift > 0 or sc.contract.minimum_performance_levels:
            env.process(area.run_years(env, horizon))
        cfgs = [sc.providers.provider]
        if sc.providers.subcontracting is not None:
            cfgs.append(sc.providers.subcontracting.specialist)
        if any(c.strain_cash_weeks is not None or c.exit_cash_weeks is not None for c in cfgs):
            env.process(area.run_months(env, horizon))
    else:
        for i in members.tolist():
            env.process(journey_cls(ctx, i, None, 0).run(env))
    env.run()
    if area is not None:  # finished journeys are recorded; let them go
        area.book.journeys = [None] * len(area.book.members)
    return n_events_scheduled(env)


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
    all_areas = range(len(scenario.providers.primes_per_area))
    chosen = sorted(set(all_areas if areas is None else areas))
    bad = [a for a in chosen if a not in all_areas]
    if bad:
        raise ValueError(f"areas(={bad}) must be in [0, {len(all_areas)}).")
    shard = None if len(chosen) == len(all_areas) else chosen
    pop = build_population(scenario, n_claimants, streams, areas=shard)
    keep_log = scenario.records.event_log if event_log is None else event_log
    events = EventLog() if keep_log else None
    ctx = _context(scenario, pop, streams, events)
    areas_built = (
        {a.index: a for a in _areas(scenario, pop, ctx, streams) if a.index in chosen}
        if scenario.regime == "programme"
        else {}
    )
    providers = [p for a in areas_built.values() for p in a.providers]
    n_events = 0
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        n_total = int(np.isin(pop.area, chosen).sum())
        n_done = 0
        for area in chosen:
            members = np.flatnonzero(pop.area == area)
            if len(members):
                n_events += _run_area(ctx, scenario, members, areas_built.get(area))
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
        areas_built=list(areas_built.values()),
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
            "claimant_id": pop.ids,
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
            "arm": np.asarray([*pop.arm_names, "none"])[
                pop.arm if pop.arm_names else np.full(pop.n, -1)
            ],
            "referred_at": pop.referred_at,
        }
    )
