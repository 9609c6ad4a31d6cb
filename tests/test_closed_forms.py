"""Closed forms the engine must reproduce when everything but one mechanism is off.

Each test switches the model down to a single hazard (see ``conftest.bare``), for
which the distribution of event times is known exactly, and compares the
simulated sample with it: means within three standard errors, Kolmogorov-Smirnov
tests on probability-integral transforms, and CDFs at a few points. Little's law
for a provider's caseload is an identity of the bookkeeping and is checked to
rounding error.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from conftest import bare, with_policy
from scipy import stats

import sim
from sim.contract import DAYS_PER_MONTH
from sim.model import simulate

N = 20_000
SEED = 11
KS_P_MIN = 1e-3


def _entry_times(ledger: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Return (time from referral to first job, NaN if none; time from referral to horizon)."""
    t = (ledger["first_job_at"] - ledger["referred_at"]).fill_null(np.nan).to_numpy()
    c = (ledger["horizon_at"] - ledger["referred_at"]).to_numpy()
    return t, c


# --------------------------------------------------------------------------- 1. constant hazard


@pytest.fixture(scope="module")
def constant_hazard_runs(wp):
    """Entry times under constant hazards h = 0.004 (some censoring) and 0.01 (almost none)."""
    out = {}
    for h in (0.004, 0.01):
        res = sim.run(bare(wp, employment__entry_rate_per_day=h), n_claimants=N, seed=SEED)
        out[h] = _entry_times(res.ledger)
    return out


def test_constant_hazard_censored_mean(constant_hazard_runs):
    """E[min(T, c)] = (1 - exp(-h c)) / h for T ~ Exp(h) censored at the horizon c."""
    h = 0.004
    t, c = constant_hazard_runs[h]
    # every claimant is followed for attach delay + programme + follow-up (up to rounding)
    c0 = 14.0 + 7.0 * (104 + 52)
    np.testing.assert_allclose(c, c0, rtol=1e-12)
    censored = np.isnan(t)
    assert np.all(t[~censored] >= 0.0) and np.all(t[~censored] < c[~censored])
    observed = np.where(censored, c0, t)
    expected = -math.expm1(-h * c0) / h
    se = (1.0 / h) / math.sqrt(N)
    assert abs(observed.mean() - expected) < 3.0 * se, (observed.mean(), expected, se)
    # the censored share is exp(-h c)
    p = math.exp(-h * c0)
    assert abs(censored.mean() - p) < 3.0 * math.sqrt(p * (1.0 - p) / N)


def test_constant_hazard_ks_truncated_exponential(constant_hazard_runs):
    """Given T < c, F(T) / F(c) is uniform (F the Exp(h) CDF): KS test."""
    h = 0.004
    t, c = constant_hazard_runs[h]
    ok = ~np.isnan(t)
    u = -np.expm1(-h * t[ok]) / -np.expm1(-h * c[ok])
    assert stats.kstest(u, "uniform").pvalue > KS_P_MIN


def test_constant_hazard_uncensored_mean_and_ks(constant_hazard_runs):
    """With h large enough that censoring is negligible: mean 1/h and Exp(h) by KS."""
    h = 0.01
    t, _ = constant_hazard_runs[h]
    censored = np.isnan(t)
    assert censored.mean() < 1e-3
    t = t[~censored]
    se = (1.0 / h) / math.sqrt(len(t))
    assert abs(t.mean() - 1.0 / h) < 3.0 * se, (t.mean(), 1.0 / h, se)
    assert stats.kstest(t, stats.expon(scale=1.0 / h).cdf).pvalue > KS_P_MIN


def test_constant_hazard_scale_rejects_a_wrong_rate(constant_hazard_runs):
    """The KS test has power: the same sample is rejected against a 10% different rate."""
    h = 0.01
    t, _ = constant_hazard_runs[h]
    t = t[~np.isnan(t)]
    assert stats.kstest(t, stats.expon(scale=1.0 / (1.1 * h)).cdf).pvalue < KS_P_MIN


# --------------------------------------------------------------------------- 2. job loss


def _first_job_spells(events: pl.DataFrame) -> pl.DataFrame:
    """Per claimant: start of the first job, its end (null if it ran past the horizon) and
    the horizon, from the event log.

    Jobs are sequential, so the first ``job_end`` of a claimant ends the first job. This is
    exact, whereas ``days_in_work`` mixes later jobs in (and restricting it to claimants with
    one job would select on short re-entry or long first jobs).
    """
    first = (
        events.filter(pl.col("event").is_in(["job_start", "job_end", "end"]))
        .group_by("claimant_id", "event")
        .agg(pl.col("t").min())
        .pivot(on="event", index="claimant_id", values="t")
    )
    for col in ("job_start", "job_end"):
        if col not in first.columns:
            first = first.with_columns(pl.lit(None, dtype=pl.Float64).alias(col))
    return first.filter(pl.col("job_start").is_not_null()).sort("claimant_id")


@pytest.fixture(scope="module")
def job_loss_run(wp):
    mu = 0.003
    sc = bare(wp, employment__entry_rate_per_day=0.05, employment__job_loss_rate_per_day=mu)
    return mu, sim.run(sc, n_claimants=N, seed=SEED, event_log=True)


def test_job_loss_survival_at_182_days(job_loss_run):
    """P(first job lasts >= 182 days) = exp(-182 mu)."""
    mu, res = job_loss_run
    spells = _first_job_spells(res.events)
    start = spells["job_start"].to_numpy()
    end = spells["job_end"].fill_null(np.nan).to_numpy()
    horizon = spells["end"].to_numpy()
    # a job still running at the horizon lasted at least horizon - start; keep only jobs whose
    # fate at 182 days is observed (the horizon is independent of the job's length)
    observed = ~np.isnan(end) | (horizon - start >= 182.0)
    assert observed.mean() > 0.999
    lasted = np.where(np.isnan(end), True, end - start >= 182.0)[observed]
    p = math.exp(-182.0 * mu)
    se = math.sqrt(p * (1.0 - p) / lasted.size)
    assert abs(lasted.mean() - p) < 3.0 * se, (lasted.mean(), p, se)


def test_job_loss_lengths_exponential(job_loss_run):
    """First-job lengths are Exp(mu): KS on those ending within 900 days, given the horizon
    was at least 900 days after the start (so the truncation is the same for all)."""
    mu, res = job_loss_run
    spells = _first_job_spells(res.events)
    start = spells["job_start"].to_numpy()
    end = spells["job_end"].fill_null(np.inf).to_numpy()
    horizon = spells["end"].to_numpy()
    cut = 900.0
    length = (end - start)[horizon - start >= cut]
    short = length[length < cut]
    u = -np.expm1(-mu * short) / -math.expm1(-mu * cut)
    assert stats.kstest(u, "uniform").pvalue > KS_P_MIN
    p_short = -math.expm1(-mu * cut)
    n = length.size
    assert abs(short.size / n - p_short) < 3.0 * math.sqrt(p_short * (1 - p_short) / n)


def test_days_in_work_equals_job_spells_in_log(job_loss_run):
    """Bookkeeping: days_in_work is the total length of the logged job spells (to the horizon)."""
    _, res = job_loss_run
    ev = res.events.filter(pl.col("event").is_in(["job_start", "job_end", "end"]))
    sign = (
        pl.when(pl.col("event") == "job_start")
        .then(-1.0)
        .when(pl.col("event") == "job_end")
        .then(1.0)
        .otherwise(0.0)
    )
    # per claimant: sum(end) - sum(start), plus the horizon if the last job is still running
    per = ev.group_by("claimant_id").agg(
        (sign * pl.col("t")).sum().alias("net"),
        ((pl.col("event") == "job_start").sum() - (pl.col("event") == "job_end").sum()).alias(
            "open"
        ),
        pl.col("t").filter(pl.col("event") == "end").first().alias("horizon"),
    )
    per = per.with_columns(work=pl.col("net") + pl.col("open") * pl.col("horizon"))
    joined = per.join(res.ledger.select("claimant_id", "days_in_work", "n_jobs"), on="claimant_id")
    assert joined["open"].is_in([0, 1]).all()
    np.testing.assert_allclose(joined["work"], joined["days_in_work"], rtol=1e-9, atol=1e-6)
    n_starts = ev.filter(pl.col("event") == "job_start").group_by("claimant_id").len()
    check = n_starts.join(res.ledger.select("claimant_id", "n_jobs"), on="claimant_id")
    assert (check["len"] == check["n_jobs"]).all()


# --------------------------------------------------------------------------- 3. piecewise hazards


def _check_entry_distribution(t: np.ndarray, c: np.ndarray, cum, points) -> None:
    """Entry times ``t`` (NaN if censored at ``c``) against a cumulative hazard ``cum(days)``
    (per claimant, i.e. returning an array of len(t)): the CDF 1 - exp(-cum) at ``points``
    within 3 SE, and the probability-integral transform F(T) / F(c) given T < c uniform."""
    n = len(t)
    for point in points:
        empirical = np.mean(np.nan_to_num(t, nan=np.inf) <= point)
        expected = np.mean(-np.expm1(-cum(np.full(n, point))))
        se = math.sqrt(expected * (1.0 - expected) / n)
        assert abs(empirical - expected) < 3.0 * se, (point, empirical, expected)
    ok = ~np.isnan(t)
    u = -np.expm1(-cum(np.nan_to_num(t, nan=0.0)))[ok] / -np.expm1(-cum(c))[ok]
    assert stats.kstest(u, "uniform").pvalue > KS_P_MIN


def _piecewise(days: np.ndarray, knots: list[float], rates: list[float]) -> np.ndarray:
    """Integral over [0, days] of the step function equal to rates[k] from knots[k] on."""
    edges = [*knots[1:], np.inf]
    return sum(
        rate * np.clip(np.minimum(days, hi) - lo, 0.0, None)
        for lo, hi, rate in zip(knots, edges, rates, strict=True)
    )


def test_labour_market_step_piecewise_exponential(wp):
    """LM index 1 for k months then 2: the entry CDF is 1 - exp(-h * (B(r + t) - B(r))), where
    B(x) = x + max(x - k * month, 0), for a claimant referred on day r."""
    h, k = 0.004, 3
    sc = bare(
        wp,
        employment__entry_rate_per_day=h,
        labour_market__index_by_month=[1.0] * k + [2.0],
        run__cohort_months=1,
    )
    ledger = sim.run(sc, n_claimants=N, seed=SEED).ledger
    t, c = _entry_times(ledger)
    r = ledger["referred_at"].to_numpy()
    knot = k * DAYS_PER_MONTH
    assert r.max() < knot, "all referrals before the index doubles"

    def cum(days: np.ndarray) -> np.ndarray:
        return h * _piecewise(r + days, [0.0, knot], [1.0, 2.0]) - h * r

    _check_entry_distribution(t, c, cum, (30.0, 60.0, 120.0, 200.0, 400.0))
    # the check has power: the constant-hazard CDF is far off after the step
    at = 200.0
    empirical = np.mean(np.nan_to_num(t, nan=np.inf) <= at)
    assert abs(empirical - (-math.expm1(-h * at))) > 0.1


def test_claim_duration_bands_piecewise_exponential(wp):
    """Entry multiplier 1, then 0.5 from 400 days of claim, then 0.25 from 700: JSA 25+ are
    referred 12 months (365.25 days) into their claim, so the steps fall 34.75 and 334.75
    days after referral."""
    h = 0.006
    bands = [
        {"from_days": 0.0, "multiplier": 1.0},
        {"from_days": 400.0, "multiplier": 0.5},
        {"from_days": 700.0, "multiplier": 0.25},
    ]
    sc = bare(wp, employment__entry_rate_per_day=h, employment__entry_duration_bands=bands)
    t, c = _entry_times(sim.run(sc, n_claimants=N, seed=SEED).ledger)
    claim_at_referral = 12 * DAYS_PER_MONTH
    knots = [0.0, 400.0 - claim_at_referral, 700.0 - claim_at_referral]

    def cum(days: np.ndarray) -> np.ndarray:
        return h * _piecewise(days, knots, [1.0, 0.5, 0.25])

    _check_entry_distribution(t, c, cum, (20.0, 100.0, 300.0, 600.0))


def test_adviser_time_raises_entry_piecewise(wp):
    """The entry hazard is h * (1 + effect * adviser hours per week of every schedule):
    10 minutes every 14 days at Jobcentre Plus (1/12 hour a week) before attachment (day 20)
    and after the programme (day 748); on it, 45 minutes every 14 days with the provider
    (0.375 hours a week) plus Jobcentre signing, 5 minutes every 14 days, which goes on."""
    h, effect, delay = 0.003, 2.0, 20.0
    sc = bare(
        wp,
        regime="programme",
        employment__entry_rate_per_day=h,
        employment__effect_per_adviser_hour_per_week=effect,
        population__groups__jsa_25_plus__attach_delay_days=delay,
        providers__provider__policy="uniform",
        providers__provider__n_advisers=1000,
        providers__provider__interview_minutes=45.0,
        providers__provider__induction_interval_days=14.0,
        providers__provider__min_interval_days=14.0,
        providers__provider__max_interval_days=14.0,
    )
    t, c = _entry_times(sim.run(sc, n_claimants=N, seed=SEED).ledger)
    jcp_rate = 1.0 + effect * (10.0 * 7.0 / 14.0 / 60.0)
    provider_rate = 1.0 + effect * (45.0 * 7.0 / 14.0 / 60.0 + 5.0 * 7.0 / 14.0 / 60.0)
    knots = [0.0, delay, delay + 728.0]

    def cum(days: np.ndarray) -> np.ndarray:
        return h * _piecewise(days, knots, [jcp_rate, provider_rate, jcp_rate])

    _check_entry_distribution(t, c, cum, (10.0, 20.0, 100.0, 300.0, 800.0))


# --------------------------------------------------------------------------- 4. Little's law


@pytest.mark.parametrize(
    "policy, overrides",
    [
        pytest.param("uniform", {"providers.provider.n_advisers": 10_000}, id="uniform-ample"),
        pytest.param("mixed", {}, id="as-shipped-binding"),
    ],
)
def test_littles_law_provider_caseload(wp, policy, overrides):
    """L = lambda W for every provider's active caseload, and the caseload empties at the end.

    Over the provider's active period T (first attachment to the last programme end),
    L = caseload_area / T, lambda = attachments / T and W = sum(caseload_days) / attachments,
    so L == lambda W is the identity caseload_area == sum(caseload_days): the provider's
    count of members on its caseload and the members' own clocks must agree.
    """
    sc = with_policy(wp, policy, **overrides)
    out = simulate(sc, 3000, seed=5)
    journey = out.records.frame()
    attached = journey["attached_at"].to_numpy()
    caseload_days = journey["caseload_days"].to_numpy()
    prog_end = journey["programme_end_at"].to_numpy()
    assert len(out.providers) > 20
    for prov in out.providers:
        m = prov.members
        on = ~np.isnan(attached[m])
        n_attach = int(on.sum())
        assert n_attach > 0
        big_t = prog_end[m][on].max() - np.nanmin(attached[m])
        big_l = prov.caseload_area / big_t
        lam = n_attach / big_t
        w = caseload_days[m].sum() / n_attach
        assert big_l == pytest.approx(lam * w, rel=1e-9), prov.index
        assert prov.n_active == 0, prov.index
        assert not prov.active.any(), prov.index
    # members off the programme never accrue caseload time
    assert np.all(caseload_days[np.isnan(attached)] == 0.0)


# --------------------------------------------------------------------------- 5. accounts


@pytest.fixture(scope="module")
def shipped_run(wp):
    """The Work Programme as shipped: every mechanism on."""
    return sim.run(wp, n_claimants=3000, seed=17)


def test_time_is_partitioned(shipped_run):
    """Every day from referral to the horizon is on benefit, in work or off benefit; the
    caseload and sanctioned days are parts of the days on benefit."""
    led = shipped_run.ledger
    span = (led["horizon_at"] - led["referred_at"]).to_numpy()
    parts = (
        led["days_on_benefit"] + led["days_in_work"] + led["days_off_benefit_no_job"]
    ).to_numpy()
    np.testing.assert_allclose(parts, span, rtol=1e-12, atol=1e-9)
    tol = 1e-9
    assert (led["caseload_days"] <= led["days_on_benefit"] + tol).all()
    assert (led["caseload_days"] <= 7.0 * 104 + tol).all()
    assert (led["days_sanctioned"] <= led["days_on_benefit"] + tol).all()


def test_provider_books_equal_members_books(shipped_run):
    """Each provider's income and adviser minutes are the sums over its members."""
    members = shipped_run.ledger.group_by("provider").agg(
        pl.col("attachment_fee_gbp").sum(),
        pl.col("outcome_fee_gbp").sum(),
        pl.col("sustainment_fees_gbp").sum(),
        pl.col("adviser_minutes").sum(),
    )
    books = shipped_run.providers.group_by("provider").agg(
        pl.col("income_attachment_gbp").sum(),
        pl.col("income_outcome_gbp").sum(),
        pl.col("income_sustainment_gbp").sum(),
        pl.col("adviser_minutes").sum().alias("book_minutes"),
    )
    both = members.join(books, on="provider", how="full", coalesce=True)
    assert both.height == books.height == members.height
    pairs = [
        ("attachment_fee_gbp", "income_attachment_gbp"),
        ("outcome_fee_gbp", "income_outcome_gbp"),
        ("sustainment_fees_gbp", "income_sustainment_gbp"),
        ("adviser_minutes", "book_minutes"),
    ]
    for ours, theirs in pairs:
        np.testing.assert_allclose(both[ours], both[theirs], rtol=1e-9, atol=1e-6)
    assert both["income_outcome_gbp"].sum() > 0


@pytest.fixture(scope="module")
def benefit_accounts(wp, shipped_run):
    """Per claimant: benefit paid, full entitlement (rate x days on benefit) and the most a
    claimant can lose to sanctions (rate x fraction x days sanctioned)."""
    ladders = wp.sanctions.ladders
    frac_jsa = ladders[wp.sanctions.ladder_jsa].fraction_of_benefit
    frac_esa = ladders[wp.sanctions.ladder_esa].fraction_of_benefit
    daily = pl.col("weekly_rate_gbp") / 7.0
    frac = pl.when(pl.col("benefit") == "ESA").then(frac_esa).otherwise(frac_jsa)
    return shipped_run.ledger.select(
        "claimant_id",
        "n_sanctions",
        "n_overturned",
        paid=pl.col("benefit_paid_gbp"),
        full=daily * pl.col("days_on_benefit"),
        lost_max=daily * frac * pl.col("days_sanctioned"),
    )


def test_benefit_paid_at_least_entitlement_less_sanctions(benefit_accounts):
    acc = benefit_accounts
    assert (acc["n_sanctions"] > 0).sum() > 100
    slack = 1e-9 * acc["full"] + 1e-9
    assert (acc["paid"] >= acc["full"] - acc["lost_max"] - slack).all()


def test_benefit_paid_never_exceeds_entitlement(benefit_accounts):
    acc = benefit_accounts
    over = acc.filter(pl.col("paid") > pl.col("full") * (1.0 + 1e-9) + 1e-9)
    assert over.height == 0, over.head(10)
