"""Payment-by-results contract rules as pure functions.

No randomness and no simulation state here: each rule takes a claimant's
history and the contract's data and returns payments with their dates, so that
the rules can be tested as tables of cases (see ``tests/test_contract.py``).

Dates are simulation days (day 0 = the first day of ``run.start_month``);
calendar months are ``DAYS_PER_MONTH`` long.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sim.config import Contract, ContractGroup, month_index

__all__ = [
    "DAYS_PER_MONTH",
    "JobPayments",
    "OutcomeProgress",
    "attachment_fee_gbp",
    "contract_year",
    "price_index",
    "settle_job",
]

DAYS_PER_MONTH = 365.25 / 12.0
"""Length of a calendar month in simulation days."""


def contract_year(t_days: float) -> int:
    """Return the contract year (0-based) of simulation day ``t_days``.

    Contract years run in twelve-month blocks from the run's start month.
    """
    return max(0, int(t_days // (12.0 * DAYS_PER_MONTH)))


def price_index(contract: Contract, t_days: float) -> float:
    """Return the price multiplier in force on day ``t_days``; the last year's persists."""
    years = contract.price_index_by_year
    if len(years) == 1:
        return years[0]
    return years[min(contract_year(t_days), len(years) - 1)]


def attachment_fee_gbp(
    contract: Contract, group: ContractGroup, attached_at: float, start_month: str
) -> float:
    """Return the attachment fee for an attachment on day ``attached_at``.

    Parameters
    ----------
    contract : Contract
        The contract; ``attachment_fee_end_month`` ends the fee for attachments in or
        after that calendar month.
    group : ContractGroup
        The claimant's payment group prices.
    attached_at : float
        Day of attachment.
    start_month : str
        ``"YYYY-MM"`` of simulation day 0.

    Returns
    -------
    float
        The fee in pounds, 0 once the fee has ended.
    """
    end = contract.attachment_fee_end_month
    if end is not None:
        end_day = (month_index(end) - month_index(start_month)) * DAYS_PER_MONTH
        if attached_at >= end_day:
            return 0.0
    return group.attachment_fee_gbp


@dataclass(slots=True)
class OutcomeProgress:
    """A claimant's progress towards, and beyond, the job outcome.

    Attributes
    ----------
    work_days : float
        Qualifying days in work accumulated so far, across jobs.
    outcome_at : float or None
        Day the job outcome was triggered, if it has been.
    n_sustainment : int
        Sustainment payments triggered so far.
    """

    work_days: float = 0.0
    outcome_at: float | None = None
    n_sustainment: int = 0
    spells: list[tuple[float, float]] = field(default_factory=list)
    """Earlier qualifying job spells (start, end), kept while the group has a cumulation
    window."""


@dataclass(slots=True)
class JobPayments:
    """What one job spell triggers: the outcome (if any) and sustainment dates."""

    outcome_at: float | None = None
    sustainment_at: list[float] = field(default_factory=list)


def _outcome_day(
    progress: OutcomeProgress, group: ContractGroup, job_start: float, job_end: float
) -> float | None:
    """Return the day the job that runs from ``job_start`` to ``job_end`` triggers the
    outcome under the group's cumulation rule, or None if it does not."""
    need = group.qualifying_days
    if group.cumulation == "continuous":
        return job_start + need if job_end - job_start >= need else None
    window = group.cumulation_window_days
    if window is None:
        need -= progress.work_days
        return job_start + need if job_end - job_start >= need else None
    return _windowed_outcome_day(progress.spells, need, window, job_start, job_end)


def _windowed_outcome_day(
    spells: list[tuple[float, float]], need: float, window: float, start: float, end: float
) -> float | None:
    """Return the first day ``t`` in ``[start, end]`` with ``need`` days in work within
    ``(t - window, t]``, counting this job from ``start`` and the earlier ``spells``.

    The work in the window, ``f(t)``, is piecewise linear and non-decreasing while this job
    runs (its own days add at rate 1, earlier days leave the window at rate 0 or 1), so the
    first crossing is found segment by segment between the days ``t - window`` passes an
    earlier spell's start or end.
    """

    def earlier_in_window(t: float) -> float:
        lo = t - window
        return sum(max(0.0, min(e, start) - max(s, lo)) for s, e in spells)

    knots = sorted(
        {start, end} | {k + window for s, e in spells for k in (s, e) if start < k + window < end}
    )
    for k in range(len(knots) - 1):
        a, b = knots[k], knots[k + 1]
        fa = (a - start) + earlier_in_window(a)
        if fa >= need:
            return a
        fb = (b - start) + earlier_in_window(b)
        if fb >= need:
            slope = (fb - fa) / (b - a)  # 1 or 0 on a segment: 0 only if nothing changes
            return a + (need - fa) / slope if slope > 0.0 else b
    return end if (end - start) + earlier_in_window(end) >= need else None


def settle_job(
    progress: OutcomeProgress,
    group: ContractGroup,
    job_start: float,
    job_end: float,
    *,
    qualifies: bool = True,
) -> JobPayments:
    """Settle the outcome and sustainment triggers of one job spell.

    The job outcome is triggered on the day days in work reach ``group.qualifying_days``
    under the group's ``cumulation`` rule: over any number of jobs (optionally only those
    within ``cumulation_window_days`` before the day), or in one job. After it, a sustainment
    payment is triggered for each full ``sustainment_interval_days`` of
    continuous work in the same job (counted from the outcome in the job that
    triggered it, and from the start of each later job), up to
    ``group.max_sustainment_payments`` in all.

    Parameters
    ----------
    progress : OutcomeProgress
        Updated in place.
    group : ContractGroup
        Qualifying days and sustainment schedule of the claimant's group.
    job_start, job_end : float
        Days the job began and ended (``job_end`` may be the end of follow-up).
    qualifies : bool
        False for a job that cannot count (e.g. started after the programme ended);
        it then triggers nothing and adds no qualifying days.

    Returns
    -------
    JobPayments

    Raises
    ------
    ValueError
        If ``job_end < job_start``.
    """
    if job_end < job_start:
        raise ValueError(f"job_end(={job_end}) must be >= job_start(={job_start}).")
    result = JobPayments()
    if not qualifies:
        return result
    length = job_end - job_start
    sustain_from = job_start
    if progress.outcome_at is None:
        at = _outcome_day(progress, group, job_start, job_end)
        if at is not None:
            progress.outcome_at = at
            result.outcome_at = at
            sustain_from = at
        else:
            sustain_from = float("inf")
        if group.cumulation_window_days is not None:
            progress.spells.append((job_start, job_end))
    progress.work_days += length
    interval = group.sustainment_interval_days
    t = sustain_from + interval
    while progress.n_sustainment < group.max_sustainment_payments and t <= job_end:
        result.sustainment_at.append(t)
        progress.n_sustainment += 1
        t += interval
    return result
