"""Flat per-claimant records and the optional event log, kept in columns.

The journey writes one row of numbers per claimant into a preallocated
float64 matrix when it finishes; the population's own columns are joined on
at the end. :data:`LEDGER_FIELDS` documents every column of the ledger.
Times are simulation days (day 0 = the first day of ``run.start_month``);
durations are days within the claimant's horizon (referral to the end of
follow-up).
"""

from __future__ import annotations

from array import array

import numpy as np
import numpy.typing as npt
import polars as pl

from sim.events import EVENT_CODES

__all__ = [
    "EVENT_CODES",
    "JOURNEY_FIELDS",
    "LEDGER_FIELDS",
    "EventLog",
    "JourneyRecords",
    "monthly_frame",
]

JOURNEY_FIELDS: dict[str, str] = {
    "attached_at": "day the claimant attached to a provider (null if never)",
    "programme_end_at": "day the programme ends: attachment (or would-be attachment) "
    "+ programme_weeks",
    "horizon_at": "day follow-up ends: programme_end_at + follow_up_weeks",
    "first_job_at": "day the first job began (null if none)",
    "outcome_at": "day cumulative days in work reached the group's qualifying days (null if not); "
    "measured in every regime, paid only on the programme",
    "n_sustainment_payments": "sustainment triggers after the outcome (paid only on the programme)",
    "n_jobs": "job spells begun within the horizon",
    "days_in_work": "days in work within the horizon",
    "days_on_benefit": "days on benefit (in or out of sanction) within the horizon",
    "days_sanctioned": "days on benefit under a sanction within the horizon",
    "days_off_benefit_no_job": "days off benefit and not in work within the horizon",
    "caseload_days": "days in a provider's active caseload "
    "(on the programme, on benefit, out of work)",
    "offflow_at": "first day the claimant left benefit without a job (null if never)",
    "n_interviews": "interviews attended (provider and Jobcentre Plus)",
    "n_fta": "failures to attend an interview",
    "adviser_minutes": "provider adviser minutes in attended interviews",
    "jcp_minutes": "Jobcentre Plus adviser minutes in attended interviews",
    "max_contact_gap_days": "longest spell on the programme out of work without provider contact",
    "n_sanction_referrals": "failures to attend referred to a decision maker",
    "n_sanctions": "adverse decisions applied",
    "n_wrong_sanctions": "sanctions applied although ill health was the reason",
    "n_overturned": "sanctions later overturned",
    "attachment_fee_gbp": "attachment fee paid to the provider",
    "outcome_fee_gbp": "job outcome fee paid to the provider",
    "sustainment_fees_gbp": "sustainment fees paid to the provider",
    "service_fees_gbp": "service fees the contract ties to activities (attended interviews, "
    "interventions started) paid to the provider",
    "payments_gbp": "all payments to the provider for this claimant",
    "benefit_paid_gbp": "benefit paid within the horizon, net of sanctions, with back pay",
    "n_interventions": "interventions started (CMP, options, placements, daily signing)",
    "intervention_cost_gbp": "cost to the purchaser of the Jobcentre-delivered interventions "
    "started (a programme-delivered one is its provider's cost, in the provider ledger)",
    "hardship_paid_gbp": "hardship payments during sanctions (included in benefit_paid_gbp)",
    "n_events": "simulation events (process wake-ups) this claimant caused",
    "first_job_end_at": "day the first job ended (null if it lasted to the horizon or none began)",
    "first_reclaim_at": "day of the first repeat claim after leaving benefit (null if none)",
    "n_repeat_claims": "claims made again after leaving benefit, with or without a job",
    "offflow_reason": "why the claimant first left benefit without a job: 0 never, 1 stopped "
    "claiming (the off-flow hazard), 2 the claim closed after a missed signing",
    "wca_outcome": "the Work Capability Assessment's outcome: -1 none (not assessed during the "
    "horizon), 0 fit for work (moved to JSA), 2 work-related activity group, 3 support group",
}

POPULATION_FIELDS: dict[str, str] = {
    "claimant_id": "claimant id, stable across scenarios and replicates' populations",
    "group": "payment group name",
    "group_code": "payment group number in the contract",
    "benefit": "JSA or ESA",
    "age_band": "18-24, 25-49 or 50+",
    "condition": "health condition category, or 'none'",
    "weekly_rate_gbp": "weekly benefit rate",
    "distance": "latent distance from work (higher = further; hazard scales with exp(-distance))",
    "signal": "the provider's noisy signal of distance",
    "area": "contract package area index",
    "provider": "prime provider index (global) at equal market shares",
    "arm": "trial arm, or 'none'",
    "referred_at": "day of referral",
}

LEDGER_FIELDS: dict[str, str] = {**POPULATION_FIELDS, **JOURNEY_FIELDS}


def monthly_frame(counts: list[list[int]], start_month: str) -> pl.DataFrame:
    """Return event counts by calendar month as a tidy frame ``(month, month_start, event, n)``.

    ``counts[code][month]`` counts events of ``EVENT_CODES[code]`` in month ``month``
    from ``start_month``. Interviews are not counted here (they are settled in bulk).
    """
    year, mon = (int(x) for x in start_month.split("-"))
    n_months = len(counts[0]) if counts else 0
    labels = [
        f"{year + (mon - 1 + m) // 12:04d}-{(mon - 1 + m) % 12 + 1:02d}" for m in range(n_months)
    ]
    keep = [
        c for c, row in enumerate(counts) if EVENT_CODES[c] not in ("interview", "end") and any(row)
    ]
    return pl.DataFrame(
        {
            "month": [m for _ in keep for m in range(n_months)],
            "month_start": [labels[m] for _ in keep for m in range(n_months)],
            "event": [EVENT_CODES[c] for c in keep for _ in range(n_months)],
            "n": [n for c in keep for n in counts[c]],
        },
        schema={"month": pl.Int64, "month_start": pl.Utf8, "event": pl.Utf8, "n": pl.Int64},
    )


class JourneyRecords:
    """Preallocated float matrix with one row per claimant and one column per field."""

    __slots__ = ("data",)

    def __init__(self, n_claimants: int) -> None:
        self.data = np.full((n_claimants, len(JOURNEY_FIELDS)), np.nan)

    def put(
        self,
        i: int,
        *,
        attached_at: float,
        programme_end_at: float,
        horizon_at: float,
        first_job_at: float,
        outcome_at: float,
        n_sustainment_payments: float,
        n_jobs: float,
        days_in_work: float,
        days_on_benefit: float,
        days_sanctioned: float,
        days_off_benefit_no_job: float,
        caseload_days: float,
        offflow_at: float,
        n_interviews: float,
        n_fta: float,
        adviser_minutes: float,
        jcp_minutes: float,
        max_contact_gap_days: float,
        n_sanction_referrals: float,
        n_sanctions: float,
        n_wrong_sanctions: float,
        n_overturned: float,
        attachment_fee_gbp: float,
        outcome_fee_gbp: float,
        sustainment_fees_gbp: float,
        service_fees_gbp: float,
        payments_gbp: float,
        benefit_paid_gbp: float,
        n_interventions: float,
        intervention_cost_gbp: float,
        hardship_paid_gbp: float,
        n_events: float,
        first_job_end_at: float,
        first_reclaim_at: float,
        n_repeat_claims: float,
        offflow_reason: float,
        wca_outcome: float,
    ) -> None:
        """Record claimant ``i``'s journey, one keyword per field of :data:`JOURNEY_FIELDS`.

        The keywords are the fields, in the same order (``tests/test_records.py``), so a
        call names every value it records.
        """
        self.data[i] = (
            attached_at,
            programme_end_at,
            horizon_at,
            first_job_at,
            outcome_at,
            n_sustainment_payments,
            n_jobs,
            days_in_work,
            days_on_benefit,
            days_sanctioned,
            days_off_benefit_no_job,
            caseload_days,
            offflow_at,
            n_interviews,
            n_fta,
            adviser_minutes,
            jcp_minutes,
            max_contact_gap_days,
            n_sanction_referrals,
            n_sanctions,
            n_wrong_sanctions,
            n_overturned,
            attachment_fee_gbp,
            outcome_fee_gbp,
            sustainment_fees_gbp,
            service_fees_gbp,
            payments_gbp,
            benefit_paid_gbp,
            n_interventions,
            intervention_cost_gbp,
            hardship_paid_gbp,
            n_events,
            first_job_end_at,
            first_reclaim_at,
            n_repeat_claims,
            offflow_reason,
            wca_outcome,
        )

    def frame(self, rows: npt.NDArray[np.int64] | None = None) -> pl.DataFrame:
        """Return the journey columns as a frame (integer fields as Int64).

        ``rows`` selects claimants (default: all).
        """
        data = self.data if rows is None else self.data[rows]
        cols = {}
        for j, name in enumerate(JOURNEY_FIELDS):
            col = data[:, j]
            if name.startswith("n_"):
                cols[name] = pl.Series(name, col.astype(np.int64))
            else:
                cols[name] = pl.Series(name, col).fill_nan(None)
        return pl.DataFrame(cols)


class EventLog:
    """An append-only event log in three typed columns."""

    __slots__ = ("claimant", "code", "t", "value")

    def __init__(self) -> None:
        self.claimant: array[int] = array("q")
        self.t: array[float] = array("d")
        self.code: array[int] = array("b")
        self.value: array[float] = array("d")

    def add(self, claimant: int, t: float, code: int, value: float = 0.0) -> None:
        """Append one event."""
        self.claimant.append(claimant)
        self.t.append(t)
        self.code.append(code)
        self.value.append(value)

    def frame(self) -> pl.DataFrame:
        """Return the log sorted by claimant then time (stable), with event names."""
        codes = np.frombuffer(self.code, dtype=np.int8)
        df = pl.DataFrame(
            {
                "claimant_id": np.frombuffer(self.claimant, dtype=np.int64),
                "t": np.frombuffer(self.t, dtype=np.float64),
                "event": pl.Series(np.asarray(EVENT_CODES)[codes], dtype=pl.Enum(EVENT_CODES)),
                "value": np.frombuffer(self.value, dtype=np.float64),
            }
        )
        return df.with_row_index("seq").sort(["claimant_id", "t", "seq"]).drop("seq")
