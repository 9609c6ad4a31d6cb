"""Tests for sim.contract: payment-by-results rules as tables of claimant histories.

Prices are the Work Programme's (scenarios/work_programme.toml): payment group 1
(JSA 18-24) and group 7 (ESA ex-IB). Every row of :data:`HISTORIES` is a claimant's
job history with the outcome day, the sustainment days and the total paid to the
provider written out by hand.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.config import Contract, ContractGroup
from sim.contract import (
    DAYS_PER_MONTH,
    OutcomeProgress,
    attachment_fee_gbp,
    contract_year,
    price_index,
    settle_job,
)

WP_TOML = Path(__file__).resolve().parents[1] / "scenarios" / "work_programme.toml"
START_MONTH = "2011-06"

G1 = ContractGroup(
    attachment_fee_gbp=400,
    outcome_fee_gbp=1200,
    qualifying_days=182,
    sustainment_fee_gbp=130,
    max_sustainment_payments=17,
    sustainment_interval_days=28,
)
G7 = ContractGroup(
    attachment_fee_gbp=600,
    outcome_fee_gbp=3500,
    qualifying_days=91,
    sustainment_fee_gbp=370,
    max_sustainment_payments=26,
    sustainment_interval_days=28,
)

FLAT = [1.0]
FALLING = [1.0, 0.9, 0.8]

# 2011-06 to 2014-04 is 34 calendar months.
FEE_END_DAY = 34 * DAYS_PER_MONTH


def wp_contract(index: list[float] = FLAT) -> Contract:
    return Contract(
        groups={"jsa_18_24": G1, "esa_ex_ib": G7},
        attachment_fee_end_month="2014-04",
        price_index_by_year=index,
    )


def day_of(d: date) -> int:
    """Simulation day of a calendar date (day 0 = 2011-06-01)."""
    return (d - date(2011, 6, 1)).days


Job = tuple[float, float] | tuple[float, float, bool]


def settle_history(
    group: ContractGroup, jobs: list[Job]
) -> tuple[OutcomeProgress, float | None, list[float]]:
    """Settle a claimant's jobs in order; return progress, outcome day, sustainment days."""
    progress = OutcomeProgress()
    outcome: float | None = None
    sustainment: list[float] = []
    for job in jobs:
        start, end = job[0], job[1]
        qualifies = job[2] if len(job) == 3 else True
        result = settle_job(progress, group, start, end, qualifies=qualifies)
        if result.outcome_at is not None:
            assert outcome is None, "the outcome was triggered twice"
            outcome = result.outcome_at
        sustainment.extend(result.sustainment_at)
    return progress, outcome, sustainment


def total_paid(
    contract: Contract,
    group: ContractGroup,
    attached_at: float,
    outcome: float | None,
    sustainment: list[float],
) -> float:
    total = attachment_fee_gbp(contract, group, attached_at, START_MONTH)
    if outcome is not None:
        total += group.outcome_fee_gbp * price_index(contract, outcome)
    total += sum(group.sustainment_fee_gbp * price_index(contract, t) for t in sustainment)
    return total


# ---------------------------------------------------------------- the prices themselves
def test_tables_use_the_work_programme_prices() -> None:
    """The literal prices above are the ones in scenarios/work_programme.toml."""
    data = tomllib.loads(WP_TOML.read_text(encoding="utf-8"))
    contract = Contract.model_validate(data["contract"])
    assert contract.groups["jsa_18_24"] == G1
    assert contract.groups["esa_ex_ib"] == G7
    assert contract.attachment_fee_end_month == "2014-04"
    assert data["run"]["start_month"] == START_MONTH


# ---------------------------------------------------------------- histories
@dataclass(frozen=True)
class Row:
    group: ContractGroup
    jobs: list[Job]
    outcome: float | None
    sustainment: list[float]
    total_gbp: float
    attached_at: float = 30.0
    index: tuple[float, ...] = (1.0,)


HISTORIES = [
    # --- one job
    pytest.param(
        Row(G1, [(200, 476)], 382, [410, 438, 466], 400 + 1200 + 3 * 130),
        id="g1-one-long-job-outcome-at-start+182-sustainment-every-28",
    ),
    pytest.param(
        Row(G1, [(200, 382)], 382, [], 1600),
        id="g1-one-job-exactly-182-days-outcome-on-last-day",
    ),
    pytest.param(
        Row(G1, [(200, 381)], None, [], 400),
        id="g1-one-job-181-days-no-outcome",
    ),
    pytest.param(
        Row(G1, [(200, 300)], None, [], 400),
        id="g1-one-short-job-no-outcome",
    ),
    pytest.param(
        Row(G1, [(200, 409.99)], 382, [], 1600),
        id="g1-sustainment-needs-a-full-28-days",
    ),
    pytest.param(
        Row(G1, [(200, 410)], 382, [410], 400 + 1200 + 130),
        id="g1-sustainment-on-the-last-day-of-the-job",
    ),
    pytest.param(
        Row(G1, [(0, 3652.5)], 182, [210 + 28 * k for k in range(17)], 400 + 1200 + 17 * 130),
        id="g1-ten-year-job-pays-exactly-max-sustainment",
    ),
    # --- short jobs adding up
    pytest.param(
        Row(G1, [(100, 200), (300, 400)], 382, [], 1600),
        id="g1-two-short-jobs-add-up-outcome-inside-second",
    ),
    pytest.param(
        Row(G1, [(100, 160), (200, 260), (300, 400)], 362, [390], 400 + 1200 + 130),
        id="g1-three-short-jobs-add-up-outcome-inside-third",
    ),
    pytest.param(
        Row(G1, [(0, 60), (100, 160), (200, 261)], None, [], 400),
        id="g1-three-short-jobs-181-days-no-outcome",
    ),
    # --- sustainment after the outcome, in later jobs
    pytest.param(
        Row(G1, [(0, 300), (320, 375)], 182, [210, 238, 266, 294, 348], 400 + 1200 + 5 * 130),
        id="g1-later-job-counts-28-day-blocks-from-its-own-start",
    ),
    pytest.param(
        Row(G1, [(0, 100), (200, 300), (400, 460)], 282, [428, 456], 400 + 1200 + 2 * 130),
        id="g1-outcome-in-second-job-sustainment-in-third",
    ),
    pytest.param(
        Row(
            G1,
            [(0, 607), (700, 800)],
            182,
            [210 + 28 * k for k in range(15)] + [728, 756],
            400 + 1200 + 17 * 130,
        ),
        id="g1-sustainment-cap-spans-jobs",
    ),
    # --- jobs that do not qualify, zero-length jobs
    pytest.param(
        Row(G1, [(0, 100), (200, 400, False), (500, 600)], 582, [], 1600),
        id="g1-non-qualifying-job-adds-no-days",
    ),
    pytest.param(
        Row(G1, [(0, 200), (300, 400, False)], 182, [], 1600),
        id="g1-non-qualifying-job-after-outcome-no-sustainment",
    ),
    pytest.param(
        Row(G1, [(100, 100)], None, [], 400),
        id="g1-zero-length-job",
    ),
    pytest.param(
        Row(G1, [(0, 200), (300, 300)], 182, [], 1600),
        id="g1-zero-length-job-after-outcome",
    ),
    # --- group 7: 91 qualifying days
    pytest.param(
        Row(G7, [(50, 200)], 141, [169, 197], 600 + 3500 + 2 * 370),
        id="g7-one-job-outcome-at-start+91",
    ),
    pytest.param(
        Row(G7, [(0, 50), (100, 160)], 141, [], 600 + 3500),
        id="g7-two-short-jobs-add-up-to-91",
    ),
    pytest.param(
        Row(G7, [(0, 90)], None, [], 600),
        id="g7-one-job-90-days-no-outcome",
    ),
    # --- attachment fee ended
    pytest.param(
        Row(G1, [(1100, 1282)], 1282, [], 1200, attached_at=1040),
        id="g1-attached-after-2014-04-no-attachment-fee",
    ),
    pytest.param(
        Row(G1, [(800, 982)], 982, [], 1600, attached_at=day_of(date(2013, 6, 1))),
        id="g1-attached-in-2013-attachment-fee",
    ),
    # --- price index by contract year of the payment date
    pytest.param(
        Row(G1, [(0, 200)], 182, [], 400 + 1200 * 1.0, index=(1.0, 0.9, 0.8)),
        id="index-outcome-in-year-0",
    ),
    pytest.param(
        Row(
            G1,
            [(200, 800)],
            382,
            [410 + 28 * k for k in range(14)],
            400 + 1200 * 0.9 + 12 * 130 * 0.9 + 2 * 130 * 0.8,
            index=(1.0, 0.9, 0.8),
        ),
        id="index-outcome-year-1-sustainment-split-years-1-and-2",
    ),
    pytest.param(
        Row(
            G1,
            [(1000, 1300)],
            1182,
            [1210, 1238, 1266, 1294],
            400 + 1200 * 0.8 + 4 * 130 * 0.8,
            index=(1.0, 0.9, 0.8),
        ),
        id="index-year-3-uses-last-value",
    ),
    pytest.param(
        Row(G1, [(2000, 2200)], 2182, [], 400 + 1200 * 0.8, index=(1.0, 0.9, 0.8)),
        id="index-year-5-uses-last-value",
    ),
    pytest.param(
        Row(G7, [(300, 420)], 391, [419], 600 + 3500 * 0.9 + 370 * 0.9, index=(1.0, 0.9, 0.8)),
        id="index-g7-year-1",
    ),
]


@pytest.mark.parametrize("row", HISTORIES)
def test_history_outcome_sustainment_and_total(row: Row) -> None:
    contract = wp_contract(list(row.index))
    _, outcome, sustainment = settle_history(row.group, row.jobs)
    if row.outcome is None:
        assert outcome is None
    else:
        assert outcome == pytest.approx(row.outcome, abs=1e-9)
    assert sustainment == pytest.approx(row.sustainment, abs=1e-9)
    total = total_paid(contract, row.group, row.attached_at, outcome, sustainment)
    assert total == pytest.approx(row.total_gbp, abs=1e-6)


@pytest.mark.parametrize(
    ("jobs", "work_days", "outcome_at", "n_sustainment"),
    [
        pytest.param([(200, 300)], 100, None, 0, id="short-job"),
        pytest.param([(0, 60), (100, 160), (200, 261)], 181, None, 0, id="three-short-jobs"),
        pytest.param([(0, 100), (200, 400, False)], 100, None, 0, id="non-qualifying-adds-none"),
        pytest.param([(100, 100)], 0, None, 0, id="zero-length"),
        pytest.param([(200, 476)], 276, 382, 3, id="long-job-days-keep-counting"),
        pytest.param([(0, 3652.5)], 3652.5, 182, 17, id="capped"),
    ],
)
def test_progress_accumulates(
    jobs: list[Job], work_days: float, outcome_at: float | None, n_sustainment: int
) -> None:
    progress, _, _ = settle_history(G1, jobs)
    assert progress.work_days == pytest.approx(work_days)
    assert progress.outcome_at == outcome_at
    assert progress.n_sustainment == n_sustainment


def test_non_qualifying_job_leaves_progress_untouched() -> None:
    progress = OutcomeProgress(work_days=150.0)
    result = settle_job(progress, G1, 0.0, 500.0, qualifies=False)
    assert result.outcome_at is None
    assert result.sustainment_at == []
    assert progress == OutcomeProgress(work_days=150.0)


def test_capped_claimant_gets_no_more_sustainment() -> None:
    progress, _, _ = settle_history(G1, [(0, 3652.5)])
    result = settle_job(progress, G1, 4000.0, 5000.0)
    assert result.outcome_at is None
    assert result.sustainment_at == []
    assert progress.n_sustainment == G1.max_sustainment_payments


@pytest.mark.parametrize(
    ("start", "end"),
    [pytest.param(100.0, 99.0, id="one-day-back"), pytest.param(0.0, -1e-9, id="tiny")],
)
def test_job_ending_before_it_starts_raises(start: float, end: float) -> None:
    progress = OutcomeProgress()
    with pytest.raises(ValueError, match="job_end"):
        settle_job(progress, G1, start, end)
    assert progress == OutcomeProgress()


def test_job_ending_before_it_starts_raises_even_if_not_qualifying() -> None:
    with pytest.raises(ValueError, match="job_end"):
        settle_job(OutcomeProgress(), G1, 10.0, 5.0, qualifies=False)


# ---------------------------------------------------------------- attachment fee
@pytest.mark.parametrize(
    ("group", "attached_at", "fee"),
    [
        pytest.param(G1, 0.0, 400, id="g1-day-0"),
        pytest.param(G1, day_of(date(2013, 1, 15)), 400, id="g1-2013-01-15"),
        pytest.param(G1, day_of(date(2013, 12, 31)), 400, id="g1-2013-12-31"),
        pytest.param(G1, day_of(date(2014, 3, 31)), 400, id="g1-2014-03-31"),
        pytest.param(G1, FEE_END_DAY - 1e-6, 400, id="g1-just-before-boundary"),
        pytest.param(G1, FEE_END_DAY, 0, id="g1-at-boundary"),
        pytest.param(G1, day_of(date(2014, 4, 1)), 0, id="g1-2014-04-01"),
        pytest.param(G1, day_of(date(2015, 6, 1)), 0, id="g1-2015"),
        pytest.param(G7, day_of(date(2013, 1, 15)), 600, id="g7-2013"),
        pytest.param(G7, FEE_END_DAY - 1e-6, 600, id="g7-just-before-boundary"),
        pytest.param(G7, FEE_END_DAY, 0, id="g7-at-boundary"),
    ],
)
def test_attachment_fee_ends_april_2014(
    group: ContractGroup, attached_at: float, fee: float
) -> None:
    assert attachment_fee_gbp(wp_contract(), group, attached_at, START_MONTH) == fee


def test_fee_end_day_is_34_months() -> None:
    assert pytest.approx(1034.875) == FEE_END_DAY
    assert day_of(date(2014, 3, 31)) < FEE_END_DAY <= day_of(date(2014, 4, 1))


@pytest.mark.parametrize(
    ("start_month", "attached_at", "fee"),
    [
        pytest.param("2013-04", 12 * DAYS_PER_MONTH - 1e-6, 400, id="start-2013-04-before"),
        pytest.param("2013-04", 12 * DAYS_PER_MONTH, 0, id="start-2013-04-at"),
        pytest.param("2014-04", 0.0, 0, id="start-in-end-month"),
        pytest.param("2014-06", 0.0, 0, id="start-after-end-month"),
    ],
)
def test_attachment_fee_boundary_moves_with_start_month(
    start_month: str, attached_at: float, fee: float
) -> None:
    assert attachment_fee_gbp(wp_contract(), G1, attached_at, start_month) == fee


def test_attachment_fee_never_ends_without_end_month() -> None:
    contract = Contract(groups={"g": G1})
    assert attachment_fee_gbp(contract, G1, 1e6, START_MONTH) == 400


# ---------------------------------------------------------------- price index
@pytest.mark.parametrize(
    ("t", "year"),
    [
        pytest.param(-5.0, 0, id="before-day-0"),
        pytest.param(0.0, 0, id="day-0"),
        pytest.param(365.0, 0, id="day-365"),
        pytest.param(365.25, 1, id="day-365.25"),
        pytest.param(730.49, 1, id="just-before-year-2"),
        pytest.param(730.5, 2, id="year-2"),
        pytest.param(3652.5, 10, id="ten-years"),
    ],
)
def test_contract_year(t: float, year: int) -> None:
    assert contract_year(t) == year


@pytest.mark.parametrize(
    ("index", "t", "value"),
    [
        pytest.param(FALLING, 0.0, 1.0, id="year-0"),
        pytest.param(FALLING, 365.24, 1.0, id="end-of-year-0"),
        pytest.param(FALLING, 365.25, 0.9, id="year-1"),
        pytest.param(FALLING, 730.5, 0.8, id="year-2"),
        pytest.param(FALLING, 5000.0, 0.8, id="last-persists"),
        pytest.param(FLAT, 5000.0, 1.0, id="flat"),
        pytest.param([0.5], 0.0, 0.5, id="single-value"),
    ],
)
def test_price_index(index: list[float], t: float, value: float) -> None:
    assert price_index(wp_contract(index), t) == value


# ---------------------------------------------------------------- properties
jobs_strategy = st.lists(
    st.tuples(
        st.floats(0.0, 400.0),  # gap before the job
        st.floats(0.0, 400.0),  # length
        st.booleans(),  # qualifies
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=200, deadline=None)
@given(spells=jobs_strategy, use_g7=st.booleans())
def test_outcome_when_cumulative_days_reach_qualifying(
    spells: list[tuple[float, float, bool]], use_g7: bool
) -> None:
    group = G7 if use_g7 else G1
    t = 0.0
    jobs: list[tuple[float, float, bool]] = []
    for gap, length, qualifies in spells:
        jobs.append((t + gap, t + gap + length, qualifies))
        t += gap + length
    progress, outcome, sustainment = settle_history(group, list(jobs))

    # reference: walk the days in work
    cum = 0.0
    expected_outcome = None
    for start, end, qualifies in jobs:
        if not qualifies:
            continue
        if expected_outcome is None and cum + (end - start) >= group.qualifying_days:
            expected_outcome = start + (group.qualifying_days - cum)
        cum += end - start
    assert progress.work_days == pytest.approx(cum)
    if expected_outcome is None:
        assert outcome is None
        assert sustainment == []
    else:
        assert outcome == pytest.approx(expected_outcome)
    assert len(sustainment) <= group.max_sustainment_payments
    assert sustainment == sorted(sustainment)
    # every sustainment date is inside a qualifying job and after the outcome
    for s in sustainment:
        assert outcome is not None and s >= outcome + group.sustainment_interval_days - 1e-9
        assert any(q and a < s <= b + 1e-9 for a, b, q in jobs)


# ------------------------------------------------------------------ cumulation rules
def _group(**kw: object) -> ContractGroup:
    return ContractGroup(outcome_fee_gbp=1.0, qualifying_days=91.0, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rule", "jobs", "expected"),
    [
        # cumulative without a window: 50 + 41 days of a later job
        pytest.param({}, [(0.0, 50.0), (400.0, 500.0)], 441.0, id="cumulative"),
        # continuous: the short first job does not count; the second must last 91 days alone
        pytest.param(
            {"cumulation": "continuous"}, [(0.0, 50.0), (400.0, 500.0)], 491.0, id="continuous"
        ),
        pytest.param(
            {"cumulation": "continuous"}, [(0.0, 90.0), (100.0, 150.0)], None, id="continuous-never"
        ),
        # a 182-day window: the first job (days 0-50) is still inside at day 141
        pytest.param(
            {"cumulation_window_days": 182.0},
            [(0.0, 50.0), (100.0, 200.0)],
            141.0,
            id="window-counts-earlier-job",
        ),
        # ... but not a job that ended long before: 400 + 91
        pytest.param(
            {"cumulation_window_days": 182.0},
            [(0.0, 50.0), (400.0, 500.0)],
            491.0,
            id="window-forgets-old-job",
        ),
        # the earlier job leaves the window as the new one runs: at t, work in (t-100, t] =
        # (t - 60) + (40 - (t - 100)) for 100 < t < 140, i.e. 80 flat; then rises at rate 1
        # from t = 140 (80 + (t - 140) = 91 at t = 151)
        pytest.param(
            {"cumulation_window_days": 100.0},
            [(0.0, 40.0), (60.0, 300.0)],
            151.0,
            id="window-slides-over-earlier-job",
        ),
    ],
)
def test_cumulation_rules_table(
    rule: dict[str, object], jobs: list[tuple[float, float]], expected: float | None
) -> None:
    group = _group(**rule)
    progress = OutcomeProgress()
    got = None
    for start, end in jobs:
        result = settle_job(progress, group, start, end)
        if result.outcome_at is not None:
            got = result.outcome_at
    if expected is None:
        assert got is None and progress.outcome_at is None
    else:
        assert got == pytest.approx(expected, abs=1e-12)
